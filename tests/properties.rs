//! Property tests: mapping never panics, hashes are well-formed, and nothing outside Pinterest's schema is sent.

use crate::support::json_path::put;
use pinterest_destination::mapping::consent::ConsentGate;
use pinterest_destination::mapping::document;
use pinterest_destination::mapping::fields::FIELDS;
use pinterest_destination::mapping::targets::EXTRAS;
use pinterest_destination::mapping::{Mapper, Outcome};
use pinterest_destination::normalize::{HashedField, hash};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

const NOW: i64 = 1_764_400_000;

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        "[0-9]{1,20}".prop_map(Value::String),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid-looking event with arbitrary values at a random subset of the known source paths.
fn structured_event() -> impl Strategy<Value = Value> {
    let paths: Vec<&'static str> = FIELDS
        .iter()
        .flat_map(|row| row.sources.iter().copied())
        .chain([
            "type",
            "context.device.cookie",
            "context.cookie",
            "context.app.name",
            "context.device.os.name",
        ])
        .filter(|p| *p != "event_name")
        .collect();
    let n = paths.len();
    (
        prop::sample::select(vec![
            "purchase",
            "page_view",
            "search",
            "login",
            "unknown_event",
        ]),
        prop::collection::vec((0..n, any_json()), 0..12),
        prop::collection::vec(any_json(), 0..4),
    )
        .prop_map(move |(name, values, items)| {
            let mut event = json!({
                "event_name": name,
                "context": {"event_id": "e-1", "device": {"ip": "192.0.2.1", "user_agent": "UA"}},
                "items": items,
            });
            for (i, value) in values {
                put(&mut event, paths[i], value);
            }
            event
        })
}

fn is_hash(v: &Value) -> bool {
    v.as_array().is_some_and(|a| {
        a.len() == 1
            && a[0].as_str().is_some_and(|s| {
                s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
    })
}

/// True when no value anywhere is `null`, `""`, `[]` or `{}`.
fn no_empty_values(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty() && a.iter().all(no_empty_values),
        Value::Object(o) => !o.is_empty() && o.values().all(no_empty_values),
        _ => true,
    }
}

/// A mapper whose smart mapping fills every extra target from a path under `x.` (an array of two paths for
/// every other one), re-points a few fields of the table to arrays and constants, and gates on consent.
static OPEN_MAPPER: LazyLock<Mapper> = LazyLock::new(|| {
    let mut fields = Map::new();
    for (i, extra) in EXTRAS.iter().enumerate() {
        let path = format!("x.{}", extra.name.replace('.', "_"));
        let source = if i % 2 == 0 {
            json!(path)
        } else {
            json!([format!("{path}_first"), path])
        };
        fields.insert(extra.name.to_string(), source);
    }
    fields.insert(
        "user_data.em".into(),
        json!(["x.mail", "user.email_sha256", "user.email"]),
    );
    fields.insert(
        "custom_data.currency".into(),
        json!(["currency", {"const": "EUR"}]),
    );
    fields.insert(
        "custom_data.content_category".into(),
        json!({"const": "apparel"}),
    );
    let mut mapper = Mapper {
        consent: ConsentGate::parse("3,5").unwrap(),
        ..Mapper::default()
    };
    document::apply(&mut mapper, &json!({"fields": fields}).to_string()).unwrap();
    mapper
});

/// The source paths [`OPEN_MAPPER`] reads, for events that put arbitrary values there.
fn open_paths() -> Vec<String> {
    EXTRAS
        .iter()
        .flat_map(|extra| {
            let path = format!("x.{}", extra.name.replace('.', "_"));
            [format!("{path}_first"), path]
        })
        .chain(["x.mail".to_string(), "user.consent_categories".to_string()])
        .collect()
}

/// A structured event with arbitrary values at the open mapper's paths too, and a consent list that passes
/// (most of the time) or anything at all.
fn open_event() -> impl Strategy<Value = Value> {
    let paths = open_paths();
    let n = paths.len();
    (
        structured_event(),
        prop::collection::vec((0..n, any_json()), 0..16),
        prop_oneof![Just(json!([3])), Just(json!(["5", 1])), any_json()],
    )
        .prop_map(move |(mut event, values, consent)| {
            if event.is_object() {
                put(&mut event, "user.consent_categories", consent);
                for (i, value) in values {
                    put(&mut event, &paths[i], value);
                }
            }
            event
        })
}

/// Checks every invariant of one mapping with the default mapper.
fn check(event: &Value) -> Result<(), TestCaseError> {
    check_with(&Mapper::default(), event)
}

/// A structured event whose items are item-shaped objects (the keys the mapping reads, and others) with
/// arbitrary values, or arbitrary values.
fn items_event() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "id",
        "price",
        "quantity",
        "variant",
        "product",
        "product.id",
        "product.price",
        "product.name",
        "product.brand",
        "product.category_1",
        "product.category_2",
    ]);
    let item = prop_oneof![
        4 => prop::collection::vec((key, any_json()), 0..8).prop_map(|members| {
            let mut item = json!({});
            for (key, value) in members {
                put(&mut item, key, value);
            }
            item
        }),
        1 => any_json(),
    ];
    // A structured event is always an object: its items are replaced.
    (structured_event(), prop::collection::vec(item, 0..4)).prop_map(|(mut event, items)| {
        event["items"] = Value::Array(items);
        event
    })
}

/// Checks every invariant of one mapping.
fn check_with(mapper: &Mapper, event: &Value) -> Result<(), TestCaseError> {
    let text = event.to_string();
    let parsed = pinterest_destination::event::parse(&text)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mapping = mapper.map(&parsed, NOW);
    if let Outcome::Mapped(mapped) = &mapping.outcome {
        let out =
            serde_json::to_value(&**mapped).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let errors = crate::support::schema::request_errors(&json!({"data": [out]}));
        prop_assert!(errors.is_empty(), "schema errors {:?} for {}", errors, out);
        let user = &out["user_data"];
        for field in crate::support::leaks::HASHED_FIELDS.iter() {
            if let Some(v) = user.get(field) {
                prop_assert!(is_hash(v), "user_data.{} = {}", field, v);
            }
        }
        prop_assert!(no_empty_values(&out), "null or empty value in {}", out);
    }
    for warning in &mapping.warnings {
        prop_assert!(warning.len() < 400, "overlong warning {}", warning);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(event in any_json()) {
        check(&event)?;
    }

    #[test]
    fn open_smart_mapping_and_the_consent_gate_stay_within_the_schema(event in open_event()) {
        check_with(&OPEN_MAPPER, &event)?;
    }

    #[test]
    fn structured_events_stay_within_the_schema(event in structured_event()) {
        check(&event)?;
    }

    #[test]
    fn items_of_any_shape_stay_within_the_schema(event in items_event()) {
        check(&event)?;
        check_with(&OPEN_MAPPER, &event)?;
    }

    #[test]
    fn arbitrary_strings_hash_to_64_hex_or_are_omitted(raw in any::<String>(), country in prop::option::of("[a-z]{2}")) {
        for field in [HashedField::Em, HashedField::Ph, HashedField::Ge, HashedField::Db, HashedField::Fn, HashedField::Ln,
                      HashedField::Ct, HashedField::St, HashedField::Zp, HashedField::Country, HashedField::ExternalId, HashedField::HashedMaids] {
            if let Ok(h) = hash(field, &raw, country.as_deref()) {
                prop_assert!(is_hash(&json!([h.as_str()])), "{:?}", field);
            }
        }
    }
}
