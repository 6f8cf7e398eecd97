//! Golden tests of the event-name tables: every row of the classic and the current table, written out here as
//! Commanders Act's pages give them, maps to its Pinterest name through the setting, and validates.

use pinterest_destination::config::mapper_from_env;
use pinterest_destination::fate::Fate;
use pinterest_destination::mapping::Outcome;
use serde_json::json;

const NOW: i64 = 1_764_400_000;

/// The classic table (the destination page's): Commanders Act names → Pinterest name.
const CLASSIC: &[(&[&str], &str)] = &[
    (&["page_view", "view_item"], "page_visit"),
    (&["purchase", "buy", "pay", "payment"], "checkout"),
    (&["add_to_cart", "addtocart"], "add_to_cart"),
    (&["search", "find_location"], "search"),
    (&["generate_lead", "submit_application", "contact"], "lead"),
    (&["sign_up", "signup", "completeregistration"], "signup"),
    (
        &["view_item_list", "viewcategory", "viewcontent"],
        "view_category",
    ),
    (&["watch_video", "watchvideo"], "watch_video"),
    (
        &[
            "add_payment_info",
            "add_shipping_info",
            "add_to_wishlist",
            "begin_checkout",
            "login",
            "refund",
            "remove_from_cart",
            "select_content",
            "select_item",
            "view_cart",
            "select_promotion",
            "view_promotion",
        ],
        "custom",
    ),
];

/// The current table (Commanders Act's Pinterest page of 2026-08-12).
const CURRENT: &[(&[&str], &str)] = &[
    (&["add_payment_info"], "add_payment_info"),
    (&["add_to_cart", "addtocart"], "add_to_cart"),
    (&["add_to_wishlist"], "add_to_wishlist"),
    (&["app_install"], "app_install"),
    (&["app_open"], "app_open"),
    (&["begin_checkout"], "initiate_checkout"),
    (&["contact"], "contact"),
    (&["customize_product"], "customize_product"),
    (&["find_location"], "find_location"),
    (&["generate_lead"], "lead"),
    (
        &["page_view", "pageview", "pagevisit", "view_item"],
        "page_visit",
    ),
    (&["purchase", "buy", "pay", "payment"], "checkout"),
    (&["schedule"], "schedule"),
    (&["search"], "search"),
    (&["sign_up", "signup", "completeregistration"], "signup"),
    (&["start_trial"], "start_trial"),
    (&["submit_application"], "submit_application"),
    (&["subscribe"], "subscribe"),
    (
        &["view_category", "viewcategory", "view_item_list"],
        "view_category",
    ),
    (&["view_content", "viewcontent"], "view_content"),
    (&["watch_video", "watchvideo"], "watch_video"),
    (
        &[
            "add_shipping_info",
            "login",
            "refund",
            "remove_from_cart",
            "select_content",
            "select_item",
            "view_cart",
            "select_promotion",
            "view_promotion",
        ],
        "custom",
    ),
];

/// Pinterest's 22 event names.
const PINTEREST: [&str; 22] = [
    "add_payment_info",
    "add_to_cart",
    "add_to_wishlist",
    "app_install",
    "app_open",
    "checkout",
    "contact",
    "custom",
    "customize_product",
    "find_location",
    "initiate_checkout",
    "lead",
    "page_visit",
    "schedule",
    "search",
    "signup",
    "start_trial",
    "submit_application",
    "subscribe",
    "view_category",
    "view_content",
    "watch_video",
];

/// What `name` becomes with these settings: the Pinterest name, or `None` when skipped.
fn mapped_name(settings: &[(&str, &str)], name: &str) -> Option<String> {
    let env = |key: &str| {
        settings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    };
    let mapper = mapper_from_env(&env).unwrap();
    let event = json!({
        "event_name": name,
        "context": {"event_id": "ev-1", "device": {"ip": "203.0.113.9", "user_agent": "UA/1.0"}}
    });
    let text = event.to_string();
    let tree = pinterest_destination::event::parse(&text).unwrap();
    match mapper.map(&tree, NOW).outcome {
        Outcome::Mapped(mapped) => {
            let out = serde_json::to_value(&*mapped).unwrap();
            let errors = crate::support::schema::request_errors(&json!({"data": [out]}));
            assert!(errors.is_empty(), "{name}: {errors:?}");
            Some(out["event_name"].as_str().unwrap().to_string())
        }
        Outcome::NotSent(Fate::Skipped(_)) => None,
        other => panic!("{name}: {other:?}"),
    }
}

fn check_table(settings: &[(&str, &str)], table: &[(&[&str], &str)]) -> usize {
    let mut rows = 0;
    for (froms, to) in table {
        assert!(PINTEREST.contains(to), "{to}");
        for from in *froms {
            assert_eq!(mapped_name(settings, from).as_deref(), Some(*to), "{from}");
            assert_eq!(
                mapped_name(settings, &format!(" {} ", from.to_uppercase())).as_deref(),
                Some(*to),
                "{from} in capitals"
            );
            rows += 1;
        }
    }
    rows
}

#[test]
fn every_row_of_the_classic_table_is_the_default() {
    assert_eq!(check_table(&[], CLASSIC), 33);
    assert_eq!(
        check_table(&[("PINTEREST_EVENT_TABLE", "classic")], CLASSIC),
        33
    );
    // The classic table has no row for the newer event types.
    for name in [
        "app_install",
        "subscribe",
        "start_trial",
        "view_content",
        "schedule",
    ] {
        assert_eq!(mapped_name(&[], name), None, "{name}");
    }
}

#[test]
fn every_row_of_the_current_table() {
    assert_eq!(
        check_table(&[("PINTEREST_EVENT_TABLE", "Current")], CURRENT),
        43
    );
    assert_eq!(
        mapped_name(&[("PINTEREST_EVENT_TABLE", "current")], "newsletter_optin"),
        None
    );
}

#[test]
fn every_pinterest_name_is_a_target_in_both_tables_and_for_unmapped_names() {
    for table in ["classic", "current"] {
        for name in PINTEREST {
            let document =
                json!({"event_names": {"optin": name}, "unmapped_events": name}).to_string();
            let settings = [
                ("PINTEREST_EVENT_TABLE", table),
                ("PINTEREST_MAPPING", document.as_str()),
            ];
            assert_eq!(mapped_name(&settings, "optin").as_deref(), Some(name));
            assert_eq!(
                mapped_name(&settings, "anything_else").as_deref(),
                Some(name)
            );
        }
    }
}

#[test]
fn an_unknown_table_is_a_start_up_error_naming_the_variable() {
    let env = |key: &str| (key == "PINTEREST_EVENT_TABLE").then(|| "v2".to_string());
    let err = mapper_from_env(&env).unwrap_err();
    assert_eq!(err.name, "PINTEREST_EVENT_TABLE");
    assert!(err.reason.contains("classic") && err.reason.contains("current"));
}
