//! Golden tests: every example event of Commanders Act's documentation, mapped and checked field by field.

use pinterest_destination::mapping::{Mapper, Outcome};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha(s: &str) -> Value {
    json!([hex::encode(Sha256::digest(s.as_bytes()))])
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/commandersact/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Adds what a reference event lacks (an event id, an identity), in the test only.
fn complete(mut event: Value, event_id: &str, with_device_identity: bool) -> Value {
    let context = event
        .as_object_mut()
        .unwrap()
        .entry("context")
        .or_insert_with(|| json!({}));
    context["event_id"] = json!(event_id);
    if with_device_identity {
        context["device"] =
            json!({"ip": "198.51.100.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"});
    }
    event
}

/// Maps `event` at `now`, checks the result against the request schema, and returns it as JSON.
fn map(event: &Value, now: i64) -> Value {
    let text = event.to_string();
    let tree = pinterest_destination::event::parse(&text).unwrap();
    let mapper = Mapper::default();
    let mapping = mapper.map(&tree, now);
    assert!(
        mapping.warnings.is_empty(),
        "unexpected warnings: {:?}",
        mapping.warnings
    );
    let Outcome::Mapped(mapped) = mapping.outcome else {
        panic!("expected a mapped event, got {:?}", mapping.outcome)
    };
    let out = serde_json::to_value(&*mapped).unwrap();
    assert_eq!(
        mapped.to_json(),
        serde_json::to_string(&*mapped).unwrap(),
        "the request body's writer and serde_json differ"
    );
    let errors = crate::support::schema::request_errors(&json!({"data": [out]}));
    assert!(errors.is_empty(), "schema errors: {errors:?}");
    out
}

const NOW: i64 = 1_764_400_000;

fn two_items(second_brand: &str) -> Value {
    json!({
        "content_ids": ["SKU_12345", "SKU_12346"],
        "contents": [
            {"id": "SKU_12345", "item_price": "9.99", "quantity": 1, "item_name": "Trex tshirt", "item_brand": "Lacoste", "item_category": "clothes"},
            {"id": "SKU_12346", "item_price": "9.99", "quantity": 1, "item_name": "Heart tshirt", "item_brand": second_brand, "item_category": "clothes"}
        ],
        "num_items": 2
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    for (k, v) in b.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

#[test]
fn http_api_search() {
    let now = 1_639_044_446 + 3600;
    let out = map(&fixture("http-api-search.json"), now);
    assert_eq!(
        out,
        json!({
            "event_name": "search",
            "action_source": "web",
            "event_time": 1_639_044_446,
            "event_id": "202110130000000000",
            "event_source_url": "https://shop.com/search?q=...",
            "language": "fr",
            "user_data": {
                "em": sha("toto@domain.fr"),
                "external_id": sha("12345"),
                "client_ip_address": "102.3.4.56",
                "client_user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/46.0.2490.86 Safari/537.36"
            },
            "custom_data": {"search_string": "t-shirts"}
        })
    );
}

#[test]
fn mobile_sdk_add_to_cart() {
    let out = map(&fixture("mobile-sdk-add-to-cart.json"), 1_673_571_636 + 60);
    assert_eq!(
        out,
        json!({
            "event_name": "add_to_cart",
            "action_source": "app_android",
            "event_time": 1_673_571_636,
            "event_id": "8f6e05dd-6df0-476c-9c56-5d277fac7cea",
            "app_id": "com.tagcommander.tcdemo",
            "app_name": "TCDemo ServerSide And Consent",
            "app_version": "1.0",
            "device_brand": "Google",
            "device_model": "sdk_gphone64_arm64",
            "device_type": "android",
            "os_version": "13",
            "wifi": true,
            "language": "en",
            "user_data": {
                "em": sha("toto@domain.fr"),
                "client_user_agent": "Mozilla/5.0 (Linux; Android 13; sdk_gphone64_arm64 Build/TE1A.220922.012; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/103.0.5060.71 Mobile Safari/537.36"
            },
            "custom_data": {
                "currency": "EUR",
                "value": "22.53",
                "content_ids": ["SKU_12345"],
                "contents": [{"id": "SKU_12345", "item_price": "9.99", "quantity": 1, "item_name": "Trex tshirt"}],
                "num_items": 1
            }
        })
    );
}

#[test]
fn reference_add_shipping_info_is_custom() {
    let out = map(
        &complete(fixture("reference-add-shipping-info.json"), "g-ship", false),
        NOW,
    );
    assert_eq!(
        out,
        json!({
            "event_name": "custom",
            "action_source": "web",
            "event_time": NOW,
            "event_id": "g-ship",
            "user_data": {"em": sha("toto@domain.fr"), "external_id": sha("12345")},
            "custom_data": merge(json!({"currency": "EUR", "value": "22.53"}), two_items("Jenyfion"))
        })
    );
}

#[test]
fn reference_begin_checkout_is_custom_with_order_id() {
    let out = map(
        &complete(fixture("reference-begin-checkout.json"), "g-begin", false),
        NOW,
    );
    assert_eq!(out["event_name"], "custom");
    assert_eq!(
        out["custom_data"],
        merge(
            json!({"currency": "EUR", "value": "22.53", "order_id": "O_12345"}),
            two_items("Jenyfion")
        )
    );
    assert_eq!(
        out["user_data"],
        json!({"em": sha("toto@domain.fr"), "external_id": sha("12345")})
    );
}

#[test]
fn reference_page_view() {
    let out = map(
        &complete(fixture("reference-page-view.json"), "g-page", true),
        NOW,
    );
    assert_eq!(
        out,
        json!({
            "event_name": "page_visit",
            "action_source": "web",
            "event_time": NOW,
            "event_id": "g-page",
            "user_data": {"client_ip_address": "198.51.100.7", "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64)"}
        })
    );
}

#[test]
fn reference_purchase_is_offline_with_iso_timestamp() {
    let event_time = 1_744_955_619; // 2025-04-18T07:53:39.974+02:00
    let out = map(&fixture("reference-purchase.json"), event_time + 86_400);
    assert_eq!(
        out,
        json!({
            "event_name": "checkout",
            "action_source": "offline",
            "event_time": event_time,
            "event_id": "2025uaoauud",
            "user_data": {"em": sha("toto@domain.fr"), "external_id": sha("12345")},
            "custom_data": merge(json!({"currency": "EUR", "value": "0", "order_id": "O_12345"}), two_items("Jenyfuen"))
        })
    );
}

#[test]
fn reference_remove_from_cart_uses_the_item_price_fallback() {
    let out = map(
        &complete(fixture("reference-remove-from-cart.json"), "g-remove", true),
        NOW,
    );
    assert_eq!(out["event_name"], "custom");
    assert_eq!(
        out["custom_data"],
        json!({
            "currency": "EUR",
            "value": "8.0",
            "content_ids": ["SKU_12345"],
            "contents": [{"id": "SKU_12345", "item_price": "9.99", "quantity": 1, "item_name": "Trex tshirt", "item_brand": "Lacoste", "item_category": "clothes"}],
            "num_items": 1
        })
    );
}

#[test]
fn reference_sign_up() {
    let out = map(
        &complete(fixture("reference-sign-up.json"), "g-sign", true),
        NOW,
    );
    assert_eq!(out["event_name"], "signup");
    assert!(out.get("custom_data").is_none());
}

#[test]
fn reference_view_item_list() {
    let out = map(
        &complete(fixture("reference-view-item-list.json"), "g-list", false),
        NOW,
    );
    assert_eq!(out["event_name"], "view_category");
    assert_eq!(out["custom_data"], two_items("Jenyfion"));
}

#[test]
fn every_fixture_is_covered() {
    let dir = format!(
        "{}/tests/fixtures/commandersact",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "http-api-search.json",
            "mobile-sdk-add-to-cart.json",
            "reference-add-shipping-info.json",
            "reference-begin-checkout.json",
            "reference-page-view.json",
            "reference-purchase.json",
            "reference-remove-from-cart.json",
            "reference-sign-up.json",
            "reference-view-item-list.json"
        ]
    );
}
