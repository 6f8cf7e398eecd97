//! Unit tests of the mapping: every rule and fallback of docs/mapping.md.

use super::*;
use crate::mapping::document;
// Test events are built as `serde_json` values, and mapped from their text as the triggers map them.
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// The dotted-path setter the integration tests use too.
#[path = "../../tests/support/json_path.rs"]
mod json_path;

/// `event` with `value` at the dotted `path`.
fn with(mut event: Value, path: &str, value: Value) -> Value {
    json_path::put(&mut event, path, value);
    event
}

const NOW: i64 = 1_764_000_000;

/// Maps `event` as a trigger does: from its JSON text, parsed into the borrowed tree. The text, the tree and
/// the mapper are leaked, so that the mapping can borrow from them for the rest of the test.
fn map_json(mapper: &Mapper, event: &Value, now: i64) -> Mapping<'static> {
    let mapper: &'static Mapper = Box::leak(Box::new(mapper.clone()));
    let text: &'static str = Box::leak(event.to_string().into_boxed_str());
    let tree: &'static event::Value<'static> = Box::leak(Box::new(event::parse(text).unwrap()));
    mapper.map(tree, now)
}

fn sha(s: &str) -> Value {
    json!([hex::encode(Sha256::digest(s.as_bytes()))])
}

/// A minimal valid web event, to which each test adds what it checks.
fn base() -> Value {
    json!({
        "event_name": "purchase",
        "context": {"event_id": "ev-1", "device": {"ip": "203.0.113.9", "user_agent": "UA/1.0"}}
    })
}

fn mapped_with(mapper: &Mapper, event: &Value) -> Value {
    match map_json(mapper, event, NOW).outcome {
        Outcome::Mapped(e) => serde_json::to_value(*e).unwrap(),
        other => panic!("expected mapped, got {other:?}"),
    }
}

fn mapped(event: &Value) -> Value {
    mapped_with(&Mapper::default(), event)
}

fn rejected(event: &Value) -> String {
    match map_json(&Mapper::default(), event, NOW).outcome {
        Outcome::NotSent(Fate::Rejected(why)) => why,
        other => panic!("expected rejected, got {other:?}"),
    }
}

#[test]
fn minimal_event_maps_with_defaults() {
    let out = mapped(&base());
    assert_eq!(
        out,
        json!({
            "event_name": "checkout",
            "action_source": "web",
            "event_time": NOW,
            "event_id": "ev-1",
            "user_data": {"client_ip_address": "203.0.113.9", "client_user_agent": "UA/1.0"}
        })
    );
}

#[test]
fn event_names_follow_the_table_and_unmapped_are_skipped() {
    let out = mapped(&with(base(), "event_name", json!("  View_Item ")));
    assert_eq!(out["event_name"], "page_visit");
    let m = map_json(
        &Mapper::default(),
        &with(base(), "event_name", json!("newsletter_optin")),
        NOW,
    );
    assert_eq!(
        m.outcome,
        Outcome::NotSent(Fate::Skipped(
            "event_name 'newsletter_optin' has no Pinterest mapping".into()
        ))
    );
    assert_eq!(m.event_id.as_deref(), Some("ev-1"));
    let free_text = map_json(
        &Mapper::default(),
        &with(base(), "event_name", json!("mail jane@doe.example")),
        NOW,
    );
    let Outcome::NotSent(Fate::Skipped(reason)) = free_text.outcome else {
        panic!("{free_text:?}")
    };
    assert!(!reason.contains("jane"), "{reason}");
    let mut mapper = Mapper::default();
    document::apply(&mut mapper, r#"{"unmapped_events":"custom"}"#).unwrap();
    assert_eq!(
        mapped_with(
            &mapper,
            &with(base(), "event_name", json!("newsletter_optin"))
        )["event_name"],
        "custom"
    );
}

#[test]
fn missing_event_name_or_non_object_is_rejected() {
    let mut event = base();
    event.as_object_mut().unwrap().remove("event_name");
    assert!(rejected(&event).starts_with("event_name: missing"));
    assert_eq!(
        rejected(&json!([1])),
        "event: expected a JSON object, got an array"
    );
    assert_eq!(
        rejected(&json!("x")),
        "event: expected a JSON object, got a string"
    );
}

#[test]
fn event_id_prefers_partners_then_context_and_is_required() {
    let out = mapped(&with(base(), "partners.pinterest.event_id", json!("p-1")));
    assert_eq!(out["event_id"], "p-1");
    let out = mapped(&with(base(), "context.event_id", json!(12345)));
    assert_eq!(out["event_id"], "12345");
    let why = rejected(&with(base(), "context.event_id", json!("  ")));
    assert!(why.contains("event_id: missing"), "{why}");
    assert!(
        why.contains("partners.pinterest.event_id, context.event_id"),
        "{why}"
    );
    // Two ids past u64 would both read 1.2345678901234568e20 and be deduplicated into one: refused by name,
    // and warned about once.
    let text = base()
        .to_string()
        .replace(r#""ev-1""#, "123456789012345678901");
    let tree: &'static event::Value<'static> = Box::leak(Box::new(
        event::parse(Box::leak(text.into_boxed_str())).unwrap(),
    ));
    let mapper = Mapper::default();
    let mapping = mapper.map(tree, NOW);
    match &mapping.outcome {
        Outcome::NotSent(Fate::Rejected(why)) => assert_eq!(
            why,
            "event_id: a number too large to read exactly (send it as a string) (context.event_id); \
             Pinterest needs it to deduplicate"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(mapping.warnings.len(), 1, "{:?}", mapping.warnings);
    let m = map_json(
        &Mapper::default(),
        &with(base(), "context.event_id", json!(true)),
        NOW,
    );
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
}

#[test]
fn whole_numbers_written_as_floats_read_as_integers() {
    let event = with(
        with(
            with(base(), "user.phone", json!(33_612_345_678.0)),
            "user.zipcode",
            json!(75001.0),
        ),
        "user.id",
        json!(12345.0),
    );
    let event = with(with(event, "user.country", json!("FR")), "id", json!(7.0));
    let event = with(event, "items", json!([{"id": 1.0, "quantity": "2.0"}]));
    let m = map_json(&Mapper::default(), &event, NOW);
    assert_eq!(m.warnings, Vec::<String>::new());
    let out = mapped(&event);
    assert_eq!(out["user_data"]["ph"], sha("33612345678"));
    assert_eq!(out["user_data"]["zp"], sha("75001"));
    assert_eq!(out["user_data"]["external_id"], sha("12345"));
    assert_eq!(out["custom_data"]["order_id"], "7");
    assert_eq!(
        out["custom_data"]["contents"],
        json!([{"id": "1", "quantity": 2}])
    );
}

#[test]
fn action_source_explicit_derived_and_invalid() {
    let out = mapped(&with(
        base(),
        "partners.pinterest.action_source",
        json!("APP_IOS"),
    ));
    assert_eq!(out["action_source"], "app_ios");
    assert!(
        rejected(&with(
            base(),
            "partners.pinterest.action_source",
            json!("tv")
        ))
        .contains("action_source")
    );
    // An explicit value of another JSON type is as invalid as an unknown word; a blank one is absent.
    for wrong in [json!(true), json!({}), json!(["web"]), json!(3)] {
        let why = rejected(&with(
            base(),
            "partners.pinterest.action_source",
            wrong.clone(),
        ));
        assert_eq!(
            why,
            "action_source (partners.pinterest.action_source): not one of app_android, app_ios, web, offline",
            "{wrong}"
        );
    }
    let out = mapped(&with(
        base(),
        "partners.pinterest.action_source",
        json!("  "),
    ));
    assert_eq!(out["action_source"], "web");
    let out = mapped(&with(base(), "type", json!("offline")));
    assert_eq!(out["action_source"], "offline");
    let app = with(
        with(base(), "context.app.name", json!("Shop")),
        "context.device.os.name",
        json!("Android"),
    );
    let out = mapped(&app);
    assert_eq!(out["action_source"], "app_android");
    assert_eq!(out["app_name"], "Shop");
}

#[test]
fn event_time_forms_and_limits() {
    let t = |v: Value| mapped(&with(base(), "context.event_timestamp", v))["event_time"].clone();
    assert_eq!(t(json!((NOW - 60) * 1000 + 999)), json!(NOW - 60));
    assert_eq!(t(json!(format!("{}", (NOW - 60) * 1000))), json!(NOW - 60));
    assert_eq!(t(json!(NOW - 60)), json!(NOW - 60));
    assert_eq!(t(json!("2025-11-24T15:00:00+01:00")), json!(1_763_992_800));
    assert_eq!(t(json!(NOW + 300)), json!(NOW + 300));
    // Blank is absent: the time of processing.
    assert_eq!(t(json!("")), json!(NOW));
    assert_eq!(t(json!("  ")), json!(NOW));
    let future = rejected(&with(base(), "context.event_timestamp", json!(NOW + 301)));
    assert!(
        future.contains("event_time (context.event_timestamp): 301s in the future"),
        "{future}"
    );
    let old = rejected(&with(
        base(),
        "context.event_timestamp",
        json!(NOW - 604_801),
    ));
    assert!(old.contains("older than"), "{old}");
    assert_eq!(t(json!(NOW - 604_800)), json!(NOW - 604_800));
    let bad = rejected(&with(
        base(),
        "context.event_timestamp",
        json!("last tuesday"),
    ));
    assert!(
        bad.starts_with("event_time (context.event_timestamp)"),
        "{bad}"
    );
    let mapper = Mapper {
        max_event_age_secs: 60,
        ..Mapper::default()
    };
    assert!(matches!(
        map_json(
            &mapper,
            &with(base(), "context.event_timestamp", json!(NOW - 61)),
            NOW
        )
        .outcome,
        Outcome::NotSent(Fate::Rejected(_))
    ));
}

#[test]
fn event_source_url_from_page_then_root() {
    let out = mapped(&with(base(), "url", json!("https://shop.example/root")));
    assert_eq!(out["event_source_url"], "https://shop.example/root");
    let out = mapped(&with(
        with(base(), "url", json!("https://r")),
        "context.page.url",
        json!("https://p"),
    ));
    assert_eq!(out["event_source_url"], "https://p");
}

#[test]
fn booleans_accept_equivalent_strings_and_warn_otherwise() {
    let out = mapped(&with(
        with(base(), "partners.pinterest.opt_out", json!("Yes")),
        "context.device.network.wifi",
        json!(0),
    ));
    assert_eq!(out["opt_out"], true);
    assert_eq!(out["wifi"], false);
    let m = map_json(
        &Mapper::default(),
        &with(base(), "partners.pinterest.opt_out", json!("perhaps")),
        NOW,
    );
    assert!(matches!(m.outcome, Outcome::Mapped(ref e) if e.opt_out.is_none()));
    assert_eq!(m.warnings.len(), 1);
    assert!(
        m.warnings[0].starts_with("opt_out (partners.pinterest.opt_out):"),
        "{:?}",
        m.warnings
    );
}

#[test]
fn app_and_device_fields_are_copied() {
    let event = json!({
        "event_name": "add_to_cart",
        "context": {
            "event_id": "e",
            "app": {"namespace": "com.shop", "name": "Shop", "version": 2.1},
            "device": {
                "advertising_id": "AAAA-BBBB", "manufacturer": "Google", "model": "Pixel",
                "type": "android", "os": {"name": "android", "version": "13"},
                "network": {"carrier": "Orange", "wifi": "true"}, "language": "fr-FR"
            }
        }
    });
    let out = mapped(&event);
    assert_eq!(out["action_source"], "app_android");
    assert_eq!(out["app_id"], "com.shop");
    assert_eq!(out["app_version"], "2.1");
    assert_eq!(out["device_brand"], "Google");
    assert_eq!(out["device_carrier"], "Orange");
    assert_eq!(out["device_model"], "Pixel");
    assert_eq!(out["device_type"], "android");
    assert_eq!(out["os_version"], "13");
    assert_eq!(out["wifi"], true);
    assert_eq!(out["language"], "fr");
    assert_eq!(out["user_data"]["hashed_maids"], sha("aaaa-bbbb"));
    assert!(out.get("event_source_url").is_none());
}

#[test]
fn language_prefers_lang_and_is_cut_to_two_letters() {
    let out = mapped(&with(
        with(base(), "context.device.lang", json!("EN_us")),
        "context.device.language",
        json!("de"),
    ));
    assert_eq!(out["language"], "en");
    let m = map_json(
        &Mapper::default(),
        &with(base(), "context.device.lang", json!("french")),
        NOW,
    );
    assert!(m.warnings.iter().any(|w| w.starts_with("language")));
    // Two letters must be a language: `xx` gives way to the next source; Android's old `iw` is Hebrew.
    let out = mapped(&with(
        with(base(), "context.device.lang", json!("xx-YY")),
        "context.device.language",
        json!("es"),
    ));
    assert_eq!(out["language"], "es");
    let out = mapped(&with(base(), "context.device.lang", json!("iw_IL")));
    assert_eq!(out["language"], "he");
}

#[test]
fn user_data_is_hashed_with_fallbacks() {
    let event = json!({
        "event_name": "purchase",
        "context": {"event_id": "e"},
        "user": {
            "email": " John.Doe@Example.COM ", "phone": "+1 (650) 555-1234", "gender": "Male",
            "birthdate": "1996-02-01", "lastname": "Doe", "firstname": "John", "city": "Menlo Park",
            "state": "California", "zipcode": "94025-1234", "country": "USA", "id": "U-42"
        }
    });
    let out = mapped(&event);
    let u = &out["user_data"];
    assert_eq!(u["em"], sha("john.doe@example.com"));
    assert_eq!(u["ph"], sha("16505551234"));
    assert_eq!(u["ge"], sha("m"));
    assert_eq!(u["db"], sha("19960201"));
    assert_eq!(u["ln"], sha("doe"));
    assert_eq!(u["fn"], sha("john"));
    assert_eq!(u["ct"], sha("menlopark"));
    assert_eq!(u["st"], sha("ca"));
    assert_eq!(u["zp"], sha("94025"));
    assert_eq!(u["country"], sha("us"));
    assert_eq!(u["external_id"], sha("U-42"));
}

#[test]
fn a_us_zip_given_as_a_number_gets_its_leading_zeros_back() {
    let us = |zip: Value, country: &str| {
        let event = with(
            with(base(), "user.zipcode", zip),
            "user.country",
            json!(country),
        );
        mapped(&event)["user_data"]["zp"].clone()
    };
    assert_eq!(us(json!(2134), "US"), sha("02134"));
    assert_eq!(us(json!(501), "usa"), sha("00501"));
    assert_eq!(us(json!(21341234), "US"), sha("02134"));
    assert_eq!(us(json!(907), "PR"), sha("00907"));
    // Elsewhere 4 digits are a whole postcode (Australia, Belgium, ...); a string keeps what it says.
    assert_eq!(us(json!(2000), "AU"), sha("2000"));
    assert_eq!(us(json!("2134"), "US"), Value::Null);
}

#[test]
fn phone_gets_the_calling_code_of_the_users_country() {
    let event = with(
        with(base(), "user.phone", json!("0612345678")),
        "user.country",
        json!("FR"),
    );
    assert_eq!(mapped(&event)["user_data"]["ph"], sha("33612345678"));
}

#[test]
fn email_sha256_wins_and_prehashed_values_pass_through() {
    let digest = hex::encode(Sha256::digest(b"a@b.c"));
    let event = with(
        with(base(), "user.email_sha256", json!(digest.to_uppercase())),
        "user.email",
        json!("other@x.y"),
    );
    assert_eq!(mapped(&event)["user_data"]["em"], json!([digest]));
    let event = with(base(), "user.state_short", json!("NY"));
    assert_eq!(
        mapped(&with(event, "user.state", json!("California")))["user_data"]["st"],
        sha("ny")
    );
}

#[test]
fn a_clear_email_in_email_sha256_is_normalised_and_hashed() {
    // Anything there that is not 64 hex digits (a clear address, even an MD5) is a clear-text e-mail: it wins
    // over `user.email` like a digest would, and it is hashed once, never twice.
    for (not_a_digest, normalised) in [
        (" John.Doe@Example.COM ", "john.doe@example.com"),
        (
            "0cc175b9c0f1b6a831c399e269772661",
            "0cc175b9c0f1b6a831c399e269772661",
        ),
    ] {
        let event = with(
            with(base(), "user.email_sha256", json!(not_a_digest)),
            "user.email",
            json!("other@x.y"),
        );
        assert_eq!(mapped(&event)["user_data"]["em"], sha(normalised));
        assert!(
            map_json(&Mapper::default(), &event, NOW)
                .warnings
                .is_empty()
        );
    }
}

#[test]
fn other_digest_sources_without_a_digest_fall_back_to_the_next_source() {
    // A smart-mapped `*_sha256` source of another field must hold a digest: a clear value there is skipped.
    let mut mapper = Mapper::default();
    document::apply(
        &mut mapper,
        r#"{"fields": {"user_data.ph": ["user.phone_sha256", "user.phone"]}}"#,
    )
    .unwrap();
    let event = with(
        with(base(), "user.phone_sha256", json!("+33 6 12 34 56 78")),
        "user.phone",
        json!("+33 6 12 34 56 79"),
    );
    let m = map_json(&mapper, &event, NOW);
    assert_eq!(
        m.warnings,
        ["user_data.ph (user.phone_sha256): not a SHA-256 digest (64 hex characters); ignored"]
    );
    let Outcome::Mapped(mapped) = m.outcome else {
        panic!("not mapped")
    };
    let json = serde_json::to_value(&mapped).unwrap();
    assert_eq!(json["user_data"]["ph"], sha("33612345679"));
}

#[test]
fn an_invalid_value_gives_way_to_the_next_source() {
    let event = with(base(), "user.state_short", json!("Calif."));
    let event = with(event, "user.state", json!("California"));
    assert_eq!(mapped(&event)["user_data"]["st"], sha("ca"));
    let m = map_json(&Mapper::default(), &event, NOW);
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(m.warnings[0].starts_with("user_data.st (user.state_short): "));
}

#[test]
fn invalid_personal_data_is_omitted_with_a_warning_that_hides_the_value() {
    let event = with(base(), "user.birthdate", json!("1996-02-30"));
    let m = map_json(&Mapper::default(), &event, NOW);
    let Outcome::Mapped(e) = &m.outcome else {
        panic!("{m:?}")
    };
    assert!(e.user_data.db.is_none());
    assert_eq!(m.warnings.len(), 1);
    assert!(
        m.warnings[0].starts_with("user_data.db (user.birthdate)"),
        "{:?}",
        m.warnings
    );
    assert!(!m.warnings[0].contains("1996"));
}

#[test]
fn identity_rule_names_the_three_options() {
    let event = json!({"event_name": "purchase", "context": {"event_id": "e", "device": {"ip": "1.2.3.4"}}});
    let why = rejected(&event);
    assert!(why.contains("user_data.em"), "{why}");
    assert!(why.contains("user_data.hashed_maids"), "{why}");
    assert!(
        why.contains("user_data.client_ip_address") && why.contains("user_data.client_user_agent"),
        "{why}"
    );
    let with_email = with(event.clone(), "user.email", json!("a@b.c"));
    assert!(matches!(
        map_json(&Mapper::default(), &with_email, NOW).outcome,
        Outcome::Mapped(_)
    ));
    let with_maid = with(event, "context.device.advertising_id", json!("abc"));
    assert!(matches!(
        map_json(&Mapper::default(), &with_maid, NOW).outcome,
        Outcome::Mapped(_)
    ));
}

#[test]
fn several_problems_are_reported_together() {
    let event = json!({"event_name": "purchase", "context": {"event_timestamp": NOW + 9999}});
    let why = rejected(&event);
    assert!(
        why.contains("event_id") && why.contains("event_time") && why.contains("user_data"),
        "{why}"
    );
}

#[test]
fn click_id_from_partners_then_url_then_cookie() {
    let url = "https://shop.example/p?epik=from%2Durl";
    let cookie = "a=1; _epik=from-cookie";
    let e = with(
        with(
            with(base(), "context.page.url", json!(url)),
            "context.device.cookie",
            json!(cookie),
        ),
        "partners.pinterest.click_id",
        json!("explicit"),
    );
    assert_eq!(mapped(&e)["user_data"]["click_id"], "explicit");
    let e = with(
        with(base(), "context.page.url", json!(url)),
        "context.device.cookie",
        json!(cookie),
    );
    assert_eq!(mapped(&e)["user_data"]["click_id"], "from-url");
    let e = with(
        with(base(), "context.page.url", json!("https://shop.example/")),
        "context.cookie",
        json!(cookie),
    );
    assert_eq!(mapped(&e)["user_data"]["click_id"], "from-cookie");
    let mapper = Mapper {
        click_id_cookie: "_pin_click".into(),
        ..Mapper::default()
    };
    let e = with(
        base(),
        "context.device.cookie",
        json!("_epik=x; _pin_click=y"),
    );
    assert_eq!(mapped_with(&mapper, &e)["user_data"]["click_id"], "y");
    let e = with(base(), "context.device.cookie", json!("_other=x"));
    assert!(mapped(&e)["user_data"].get("click_id").is_none());
    // The page URL is `context.page.url`, else root `url`: one URL, the one sent as
    // event_source_url; a root `url` beside a page URL is not read (nor is a second cookie header).
    let e = with(
        with(base(), "context.page.url", json!("https://shop.example/p")),
        "url",
        json!(url),
    );
    let out = mapped(&e);
    assert_eq!(out["event_source_url"], "https://shop.example/p");
    assert!(out["user_data"].get("click_id").is_none(), "{out}");
    let e = with(
        with(base(), "context.page.url", json!(" ")),
        "url",
        json!(url),
    );
    assert_eq!(mapped(&e)["user_data"]["click_id"], "from-url");
    // Whatever event_source_url took (a number is read as text), the click id comes from that URL only.
    let e = with(
        with(base(), "context.page.url", json!(42)),
        "url",
        json!(url),
    );
    let out = mapped(&e);
    assert_eq!(out["event_source_url"], "42");
    assert!(out["user_data"].get("click_id").is_none(), "{out}");
    let e = with(
        with(base(), "context.device.cookie", json!("_other=x")),
        "context.cookie",
        json!(cookie),
    );
    assert!(mapped(&e)["user_data"].get("click_id").is_none());
}

#[test]
fn custom_data_from_root_and_items() {
    let event = with(
        base(),
        "items",
        json!([
            {"id": "SKU_1", "quantity": "2", "price": 9.99, "product": {"id": "1", "name": "Shirt", "brand": "B", "category_1": "clothes", "price": 10.5}},
            {"quantity": 1, "price": "19.90", "product": {"id": 2}},
            {"id": "SKU_3"}
        ]),
    );
    let event = with(
        with(
            with(with(event, "id", json!("O_1")), "currency", json!("eur")),
            "value",
            json!(19.9),
        ),
        "search_term",
        json!("t-shirts"),
    );
    let event = with(event, "partners.pinterest.opt_out_type", json!("LDP"));
    let out = mapped(&event);
    assert_eq!(
        out["custom_data"],
        json!({
            "currency": "EUR",
            "value": "19.9",
            "content_ids": ["SKU_1", "2", "SKU_3"],
            "contents": [
                {"id": "SKU_1", "item_price": "10.5", "quantity": 2, "item_name": "Shirt", "item_brand": "B", "item_category": "clothes"},
                {"id": "2", "item_price": "19.90", "quantity": 1},
                {"id": "SKU_3"}
            ],
            "num_items": 3,
            "order_id": "O_1",
            "search_string": "t-shirts",
            "opt_out_type": "LDP"
        })
    );
}

#[test]
fn empty_or_malformed_custom_values_are_omitted() {
    let event = with(
        with(with(base(), "items", json!([])), "currency", json!("euro")),
        "value",
        json!("12,5"),
    );
    let m = map_json(&Mapper::default(), &event, NOW);
    let out = mapped(&event);
    assert!(out.get("custom_data").is_none(), "{out}");
    assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
    let m = map_json(
        &Mapper::default(),
        &with(base(), "items", json!({"id": 1})),
        NOW,
    );
    assert!(
        m.warnings
            .iter()
            .any(|w| w.starts_with("custom_data.content_ids (items)"))
    );
    // Blank strings are absent, whatever the field's type: no value, no warning.
    let event = with(
        with(base(), "value", json!(" ")),
        "partners.pinterest.opt_out",
        json!(""),
    );
    let event = with(
        event,
        "items",
        json!([{"id": "a", "price": "", "quantity": " "}]),
    );
    let m = map_json(&Mapper::default(), &event, NOW);
    assert_eq!(m.warnings, Vec::<String>::new());
    let out = mapped(&event);
    assert_eq!(out["custom_data"]["contents"], json!([{"id": "a"}]));
    assert!(out.get("opt_out").is_none() && out["custom_data"].get("value").is_none());
}

#[test]
fn smart_mapping_repoints_fields_through_the_same_rules() {
    let mut mapper = Mapper::default();
    document::apply(
        &mut mapper,
        r#"{"fields": {"user_data.em": "user.custom_email", "custom_data.value": "revenue", "custom_data.contents": "basket.lines", "event_id": "meta.ids.0"},
            "event_names": {"newsletter_optin": "lead"}}"#,
    )
    .unwrap();
    let event = json!({
        "event_name": "Newsletter_Optin", "meta": {"ids": ["m-1"]}, "revenue": "16.00",
        "user": {"custom_email": " A@B.C ", "email": "ignored@x.y"},
        "basket": {"lines": [{"id": "L1", "quantity": 3}]}
    });
    let out = mapped_with(&mapper, &event);
    assert_eq!(out["event_name"], "lead");
    assert_eq!(out["event_id"], "m-1");
    assert_eq!(out["user_data"]["em"], sha("a@b.c"));
    assert_eq!(out["custom_data"]["value"], "16.00");
    assert_eq!(
        out["custom_data"]["contents"],
        json!([{"id": "L1", "quantity": 3}])
    );
    assert!(out["custom_data"].get("content_ids").is_none());
}

#[test]
fn wrong_types_warn_and_never_reject_optional_fields() {
    let event = with(
        with(
            with(base(), "currency", json!({"x": 1})),
            "value",
            json!([1]),
        ),
        "context.app",
        json!("not an object"),
    );
    let m = map_json(&Mapper::default(), &event, NOW);
    assert!(matches!(m.outcome, Outcome::Mapped(_)));
    assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
}

fn mapper_with(document: serde_json::Value) -> Mapper {
    let mut mapper = Mapper::default();
    document::apply(&mut mapper, &document.to_string()).unwrap();
    mapper
}

fn gated(ids: &str) -> Mapper {
    Mapper {
        consent: consent::ConsentGate::parse(ids).unwrap(),
        ..Mapper::default()
    }
}

#[test]
fn the_consent_gate_filters_before_validation_and_after_the_name_lookup() {
    let mapper = gated("3,5");
    let consented = with(base(), "user.consent_categories", json!([1, "5"]));
    assert_eq!(mapped_with(&mapper, &consented)["event_id"], "ev-1");
    // No consent: filtered, even though the event would also be rejected (no event id).
    let mut no_id = base();
    no_id["context"].as_object_mut().unwrap().remove("event_id");
    let m = map_json(
        &mapper,
        &with(no_id, "user.consent_categories", json!([1])),
        NOW,
    );
    assert!(
        matches!(&m.outcome, Outcome::NotSent(Fate::Filtered(why)) if why.contains("none of")),
        "{m:?}"
    );
    // An unmapped name is skipped first.
    let unmapped = with(base(), "event_name", json!("newsletter_optin"));
    assert!(matches!(
        map_json(&mapper, &unmapped, NOW).outcome,
        Outcome::NotSent(Fate::Skipped(_))
    ));
    // A malformed list filters the event with the reason; the event id is still reported.
    let m = map_json(
        &mapper,
        &with(base(), "user.consent_categories", json!("3")),
        NOW,
    );
    assert!(
        matches!(&m.outcome, Outcome::NotSent(Fate::Filtered(why)) if why.contains("expected an array"))
    );
    assert_eq!(m.event_id.as_deref(), Some("ev-1"));
    // Without the gate, consent is not looked at.
    assert_eq!(
        mapped(&with(base(), "user.consent_categories", json!("3")))["event_id"],
        "ev-1"
    );
}

fn app_event(os: &str) -> Value {
    let event = with(base(), "context.app.namespace", json!("com.shop"));
    with(event, "context.device.os.name", json!(os))
}

#[test]
fn limited_ad_tracking_on_an_app_opts_out() {
    for (enabled, opt_out) in [
        (json!(false), json!(true)),
        (json!("false"), json!(true)),
        (json!(0), json!(true)),
        (json!(true), json!(false)),
        (json!("YES"), json!(false)),
    ] {
        for os in ["Android", "iOS"] {
            let event = with(
                app_event(os),
                "context.device.ad_tracking_enabled",
                enabled.clone(),
            );
            assert_eq!(mapped(&event)["opt_out"], opt_out, "{os} {enabled}");
        }
    }
    // An explicit value wins; web events and absent values derive nothing; a bad value is a warning.
    let explicit = with(app_event("iOS"), "partners.pinterest.opt_out", json!(false));
    let explicit = with(explicit, "context.device.ad_tracking_enabled", json!(false));
    assert_eq!(mapped(&explicit)["opt_out"], false);
    let web = with(base(), "context.device.ad_tracking_enabled", json!(false));
    assert!(mapped(&web).get("opt_out").is_none());
    assert!(mapped(&app_event("Android")).get("opt_out").is_none());
    let bad = with(
        app_event("Android"),
        "context.device.ad_tracking_enabled",
        json!("maybe"),
    );
    let m = map_json(&Mapper::default(), &bad, NOW);
    assert_eq!(m.warnings.len(), 1);
    assert!(m.warnings[0].starts_with("opt_out (context.device.ad_tracking_enabled): "));
    assert!(mapped(&bad).get("opt_out").is_none());
}

#[test]
fn extra_targets_are_filled_from_paths_arrays_and_constants_in_their_types() {
    let mapper = mapper_with(json!({"fields": {
        "custom_data.content_name": "product_name",
        "custom_data.content_category": {"const": "apparel"},
        "custom_data.predicted_ltv": ["ltv", "clv"],
        "user_data.partner_id": "user.crm_id",
        "app_info.window_width": "screen.w",
        "device_info.form_factor": "device_kind",
        "device_info.languages": "langs",
        "custom_data.content_brand": "brand",
    }}));
    let event = with(base(), "product_name", json!(" Shoe "));
    let event = with(event, "clv", json!(19.90));
    let event = with(event, "user.crm_id", json!(12345));
    let event = with(event, "screen.w", json!("1280"));
    let event = with(event, "device_kind", json!("Tablet"));
    let event = with(event, "langs", json!(["fr", "en"]));
    let event = with(event, "brand", json!({"name": "x"}));
    let m = map_json(&mapper, &event, NOW);
    assert_eq!(
        m.warnings,
        ["custom_data.content_brand (brand): expected a string or a number; ignored"]
    );
    let out = mapped_with(&mapper, &event);
    assert_eq!(out["custom_data"]["content_name"], "Shoe");
    assert_eq!(out["custom_data"]["content_category"], "apparel");
    assert_eq!(out["custom_data"]["predicted_ltv"], "19.9");
    assert!(out["custom_data"].get("content_brand").is_none());
    assert_eq!(out["user_data"]["partner_id"], "12345");
    assert_eq!(out["app_info"], json!({"window_width": 1280}));
    assert_eq!(
        out["device_info"],
        json!({"form_factor": "tablet", "languages": ["fr", "en"]})
    );
    // Values out of the schema's range or set are ignored with a warning naming field and path only.
    let event = with(
        with(base(), "screen.w", json!(99999)),
        "device_kind",
        json!("fridge"),
    );
    let m = map_json(&mapper, &event, NOW);
    assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
    assert!(
        m.warnings
            .iter()
            .all(|w| !w.contains("fridge") && !w.contains("99999"))
    );
    assert!(mapped_with(&mapper, &event).get("app_info").is_none());
}

#[test]
fn a_repointed_field_takes_the_first_source_found_or_its_constant() {
    let mapper = mapper_with(json!({"fields": {
        "user_data.em": ["user.mail", "user.email"],
        "custom_data.currency": ["cur", {"const": "eur"}],
        "action_source": {"const": "offline"},
    }}));
    let event = with(base(), "user.email", json!("A@B.c"));
    let out = mapped_with(&mapper, &event);
    assert_eq!(out["user_data"]["em"], sha("a@b.c"));
    assert_eq!(out["custom_data"]["currency"], "EUR");
    assert_eq!(out["action_source"], "offline");
    let out = mapped_with(
        &mapper,
        &with(
            with(event, "user.mail", json!("m@x.y")),
            "cur",
            json!("usd"),
        ),
    );
    assert_eq!(out["user_data"]["em"], sha("m@x.y"));
    assert_eq!(out["custom_data"]["currency"], "USD");
}

#[test]
fn the_current_table_names_events_with_pinterests_newer_names() {
    let mapper = Mapper {
        names: names::EventNames::new(names::EventTable::Current),
        ..Mapper::default()
    };
    for (from, to) in [
        ("begin_checkout", "initiate_checkout"),
        ("app_install", "app_install"),
        ("viewcontent", "view_content"),
    ] {
        assert_eq!(
            mapped_with(&mapper, &with(base(), "event_name", json!(from)))["event_name"],
            to
        );
    }
    let m = map_json(
        &Mapper::default(),
        &with(base(), "event_name", json!("app_install")),
        NOW,
    );
    assert!(matches!(m.outcome, Outcome::NotSent(Fate::Skipped(_))));
}
