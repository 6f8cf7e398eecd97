//! Smart mapping's targets against Pinterest's request schema: the targets are exactly the schema's fields (the
//! two Pinterest assigns aside), typed as the schema types them, and a constant for every one maps into a
//! request that validates.

use pinterest_destination::mapping::document;
use pinterest_destination::mapping::fields::FIELDS;
use pinterest_destination::mapping::targets::{CLOSED, EXTRAS, Kind};
use pinterest_destination::mapping::{Mapper, Outcome};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const NOW: i64 = 1_764_400_000;

/// The schema's fields of one event, by dotted name: a field whose value is an object is walked into, except the
/// items of `custom_data.contents`, which the mapping builds from the event's `items` (one target, the array).
fn schema_fields() -> BTreeMap<String, Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conversion-events.request.schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut fields = BTreeMap::new();
    walk(&schema["properties"]["data"]["items"], "", &mut fields);
    fields
}

fn walk(node: &Value, prefix: &str, fields: &mut BTreeMap<String, Value>) {
    for (key, child) in node["properties"].as_object().unwrap() {
        let name = format!("{prefix}{key}");
        if child.get("properties").is_some() {
            walk(child, &format!("{name}."), fields);
        } else {
            fields.insert(name, child.clone());
        }
    }
}

/// The type the schema gives a field, as a [`Kind`] (decimals are strings in the schema; the destination
/// writes them as given, so `predicted_ltv` is one like `value`).
fn schema_kind(name: &str, field: &Value) -> Kind {
    let types: Vec<&str> = match &field["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        other => panic!("{name}: type {other}"),
    };
    if let Some(allowed) = field["enum"].as_array() {
        let allowed: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        let Kind::OneOf(ours) = EXTRAS.iter().find(|e| e.name == name).unwrap().kind else {
            panic!("{name} is an enum in the schema")
        };
        assert_eq!(ours, allowed.as_slice(), "{name}");
        return Kind::OneOf(ours);
    }
    if types.contains(&"integer") {
        return Kind::Integer {
            min: field["minimum"].as_i64().unwrap_or(i64::MIN),
            max: field["maximum"].as_i64().unwrap_or(i64::MAX),
        };
    }
    if types.contains(&"array") {
        assert_eq!(field["items"]["type"], "string", "{name}");
        return Kind::TextList(field["maxItems"].as_u64().unwrap() as usize);
    }
    assert!(types.contains(&"string"), "{name}: {types:?}");
    if name == "custom_data.predicted_ltv" {
        return Kind::Decimal;
    }
    Kind::Text(field["maxLength"].as_u64().map(|n| n as usize))
}

#[test]
fn the_targets_are_exactly_the_schema_fields_with_the_schemas_types() {
    let schema = schema_fields();
    let table: Vec<&str> = FIELDS.iter().map(|row| row.name).collect();
    let mut ours: Vec<&str> = table
        .iter()
        .copied()
        .chain(EXTRAS.iter().map(|e| e.name))
        .chain(CLOSED.iter().copied())
        .collect();
    ours.sort();
    let theirs: Vec<&str> = schema.keys().map(String::as_str).collect();
    assert_eq!(ours, theirs, "targets and schema fields differ");
    for extra in EXTRAS {
        assert!(
            !table.contains(&extra.name),
            "{} is in both lists",
            extra.name
        );
        assert_eq!(
            extra.kind,
            schema_kind(extra.name, &schema[extra.name]),
            "{}",
            extra.name
        );
    }
}

fn sha(s: &str) -> Value {
    json!([hex::encode(Sha256::digest(s.as_bytes()))])
}

/// A constant for each field of the table, and what the mapped event then holds there.
fn table_constants() -> Vec<(&'static str, Value, Value)> {
    let items =
        json!([{"id": "SKU-1", "quantity": 2, "price": "9.5"}, {"product": {"id": "SKU-2"}}]);
    vec![
        ("event_name", json!("purchase"), json!("checkout")),
        ("event_id", json!("const-1"), json!("const-1")),
        ("action_source", json!("OFFLINE"), json!("offline")),
        ("event_time", json!(NOW - 60), json!(NOW - 60)),
        (
            "event_source_url",
            json!("https://shop.example/p"),
            json!("https://shop.example/p"),
        ),
        ("opt_out", json!("yes"), json!(true)),
        ("app_id", json!("com.shop"), json!("com.shop")),
        ("app_name", json!("Shop"), json!("Shop")),
        ("app_version", json!(2.5), json!("2.5")),
        ("device_brand", json!("Acme"), json!("Acme")),
        ("device_carrier", json!("Carrier"), json!("Carrier")),
        ("device_model", json!("X1"), json!("X1")),
        ("device_type", json!("tablet"), json!("tablet")),
        ("os_version", json!("17.1"), json!("17.1")),
        ("wifi", json!(true), json!(true)),
        ("language", json!("fr-FR"), json!("fr")),
        ("user_data.em", json!(" A@B.c "), sha("a@b.c")),
        (
            "user_data.ph",
            json!("+33 6 12 34 56 78"),
            sha("33612345678"),
        ),
        ("user_data.ge", json!("female"), sha("f")),
        ("user_data.db", json!("1990-01-02"), sha("19900102")),
        ("user_data.ln", json!("Doe"), sha("doe")),
        ("user_data.fn", json!("Jane"), sha("jane")),
        ("user_data.ct", json!("Menlo Park"), sha("menlopark")),
        ("user_data.st", json!("CA"), sha("ca")),
        ("user_data.zp", json!("SW1A 1AA"), sha("sw1a1aa")),
        ("user_data.country", json!("FRA"), sha("fr")),
        ("user_data.external_id", json!("u-1"), sha("u-1")),
        ("user_data.hashed_maids", json!("ABC-1"), sha("abc-1")),
        (
            "user_data.client_ip_address",
            json!("198.51.100.4"),
            json!("198.51.100.4"),
        ),
        ("user_data.client_user_agent", json!("UA/2"), json!("UA/2")),
        ("user_data.click_id", json!("dj0yJnU9"), json!("dj0yJnU9")),
        ("custom_data.order_id", json!("o-1"), json!("o-1")),
        ("custom_data.currency", json!("eur"), json!("EUR")),
        ("custom_data.value", json!(19.9), json!("19.9")),
        (
            "custom_data.content_ids",
            items.clone(),
            json!(["SKU-1", "SKU-2"]),
        ),
        (
            "custom_data.contents",
            items.clone(),
            json!([{"id": "SKU-1", "quantity": 2, "item_price": "9.5"}, {"id": "SKU-2"}]),
        ),
        ("custom_data.num_items", json!(3), json!(3)),
        ("custom_data.search_string", json!("shoes"), json!("shoes")),
        ("custom_data.opt_out_type", json!("LDP"), json!("LDP")),
    ]
}

/// A constant for an extra target, from its type, and what is then sent.
fn extra_constant(kind: Kind) -> (Value, Value) {
    match kind {
        Kind::Text(_) => (json!(" CET "), json!("CET")),
        Kind::Decimal => (json!(12.50), json!("12.5")),
        Kind::Integer { min, max } => {
            let n = 42.clamp(min, max);
            (json!(n.to_string()), json!(n))
        }
        Kind::OneOf(allowed) => (json!(allowed[0].to_uppercase()), json!(allowed[0])),
        Kind::TextList(_) => (json!("fr"), json!(["fr"])),
    }
}

fn at<'v>(event: &'v Value, dotted: &str) -> &'v Value {
    dotted.split('.').fold(event, |v, key| &v[key])
}

#[test]
fn a_constant_for_every_target_maps_into_a_request_that_validates() {
    let mut cases = table_constants();
    assert_eq!(
        cases.len(),
        FIELDS.len(),
        "one constant per field of the table"
    );
    for extra in EXTRAS {
        let (constant, sent) = extra_constant(extra.kind);
        cases.push((extra.name, constant, sent));
    }
    let base = json!({
        "event_name": "page_view",
        "context": {"event_id": "ev-1", "device": {"ip": "203.0.113.9", "user_agent": "UA/1.0"}}
    });
    let text = base.to_string();
    let tree = pinterest_destination::event::parse(&text).unwrap();
    for (target, constant, sent) in cases {
        let mut mapper = Mapper::default();
        let doc = json!({"fields": {target: {"const": constant}}}).to_string();
        document::apply(&mut mapper, &doc).unwrap_or_else(|e| panic!("{target}: {e}"));
        let mapping = mapper.map(&tree, NOW);
        assert!(
            mapping.warnings.is_empty(),
            "{target}: {:?}",
            mapping.warnings
        );
        let Outcome::Mapped(mapped) = mapping.outcome else {
            panic!("{target}: {:?}", mapping.outcome)
        };
        let out = serde_json::to_value(&*mapped).unwrap();
        let errors = crate::support::schema::request_errors(&json!({"data": [out]}));
        assert!(errors.is_empty(), "{target}: {errors:?}");
        assert_eq!(at(&out, target), &sent, "{target}");
    }
}

#[test]
fn every_schema_field_but_the_two_closed_ones_is_accepted_as_a_target() {
    for name in schema_fields().keys() {
        let doc = json!({"fields": {name: "some.path"}}).to_string();
        let result = document::apply(&mut Mapper::default(), &doc);
        if CLOSED.contains(&name.as_str()) {
            let err = result.unwrap_err();
            assert_eq!(err.key, format!("fields.{name}"));
            assert!(err.reason.contains("closed"), "{err}");
        } else {
            assert!(result.is_ok(), "{name}: {result:?}");
        }
    }
}
