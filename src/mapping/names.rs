//! The two event-name tables (classic and current) as data, with smart-mapping overrides and the unmapped-name
//! policy.

use std::borrow::Cow;
use std::collections::HashMap;

/// The 22 event names of Pinterest's Conversions API: every one is a valid target, no other is.
pub const PINTEREST_EVENT_NAMES: &[&str] = &[
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

/// The classic table (the destination page's, and the default): Commanders Act `event_name` (lower case) →
/// Pinterest `event_name`.
pub const CLASSIC_EVENT_NAMES: &[(&str, &str)] = &[
    ("page_view", "page_visit"),
    ("view_item", "page_visit"),
    ("purchase", "checkout"),
    ("buy", "checkout"),
    ("pay", "checkout"),
    ("payment", "checkout"),
    ("add_to_cart", "add_to_cart"),
    ("addtocart", "add_to_cart"),
    ("search", "search"),
    ("find_location", "search"),
    ("generate_lead", "lead"),
    ("submit_application", "lead"),
    ("contact", "lead"),
    ("sign_up", "signup"),
    ("signup", "signup"),
    ("completeregistration", "signup"),
    ("view_item_list", "view_category"),
    ("viewcategory", "view_category"),
    ("viewcontent", "view_category"),
    ("watch_video", "watch_video"),
    ("watchvideo", "watch_video"),
    ("add_payment_info", "custom"),
    ("add_shipping_info", "custom"),
    ("add_to_wishlist", "custom"),
    ("begin_checkout", "custom"),
    ("login", "custom"),
    ("refund", "custom"),
    ("remove_from_cart", "custom"),
    ("select_content", "custom"),
    ("select_item", "custom"),
    ("view_cart", "custom"),
    ("select_promotion", "custom"),
    ("view_promotion", "custom"),
];

/// The current table: Commanders Act's Pinterest page as revised on 2026-08-12, with Pinterest's newer names.
pub const CURRENT_EVENT_NAMES: &[(&str, &str)] = &[
    ("add_payment_info", "add_payment_info"),
    ("add_to_cart", "add_to_cart"),
    ("addtocart", "add_to_cart"),
    ("add_to_wishlist", "add_to_wishlist"),
    ("app_install", "app_install"),
    ("app_open", "app_open"),
    ("begin_checkout", "initiate_checkout"),
    ("contact", "contact"),
    ("customize_product", "customize_product"),
    ("find_location", "find_location"),
    ("generate_lead", "lead"),
    ("page_view", "page_visit"),
    ("pageview", "page_visit"),
    ("pagevisit", "page_visit"),
    ("view_item", "page_visit"),
    ("purchase", "checkout"),
    ("buy", "checkout"),
    ("pay", "checkout"),
    ("payment", "checkout"),
    ("schedule", "schedule"),
    ("search", "search"),
    ("sign_up", "signup"),
    ("signup", "signup"),
    ("completeregistration", "signup"),
    ("start_trial", "start_trial"),
    ("submit_application", "submit_application"),
    ("subscribe", "subscribe"),
    ("view_category", "view_category"),
    ("viewcategory", "view_category"),
    ("view_item_list", "view_category"),
    ("view_content", "view_content"),
    ("viewcontent", "view_content"),
    ("watch_video", "watch_video"),
    ("watchvideo", "watch_video"),
    ("add_shipping_info", "custom"),
    ("login", "custom"),
    ("refund", "custom"),
    ("remove_from_cart", "custom"),
    ("select_content", "custom"),
    ("select_item", "custom"),
    ("view_cart", "custom"),
    ("select_promotion", "custom"),
    ("view_promotion", "custom"),
];

/// Which built-in table the effective table starts from (`PINTEREST_EVENT_TABLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventTable {
    /// The destination page's table (the default).
    #[default]
    Classic,
    /// Commanders Act's current table.
    Current,
}

impl EventTable {
    /// Parses the setting's value (`classic` or `current`, any case).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "classic" => Some(Self::Classic),
            "current" => Some(Self::Current),
            _ => None,
        }
    }

    /// The table's rows.
    pub fn rows(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Classic => CLASSIC_EVENT_NAMES,
            Self::Current => CURRENT_EVENT_NAMES,
        }
    }
}

/// What happens to a name that is in no row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// Not sent; acknowledged and counted as skipped.
    #[default]
    Skip,
    /// Sent as this Pinterest event name (`custom`, or any of the 22).
    As(&'static str),
}

/// The effective table: a built-in table plus smart-mapping rows, and the unmapped policy.
#[derive(Debug, Clone)]
pub struct EventNames {
    table: HashMap<String, &'static str>,
    unmapped: Unmapped,
}

impl Default for EventNames {
    fn default() -> Self {
        Self::new(EventTable::default())
    }
}

/// Returns the static Pinterest name equal to `name`, if it is one.
pub fn pinterest_event_name(name: &str) -> Option<&'static str> {
    PINTEREST_EVENT_NAMES
        .iter()
        .copied()
        .find(|known| *known == name)
}

impl EventNames {
    /// The built-in `table`, names in no row skipped.
    pub fn new(table: EventTable) -> Self {
        Self {
            table: table
                .rows()
                .iter()
                .map(|&(from, to)| (from.to_string(), to))
                .collect(),
            unmapped: Unmapped::Skip,
        }
    }

    /// Adds or replaces a row; `to` must already be a known Pinterest name.
    pub fn set(&mut self, from: &str, to: &'static str) {
        self.table.insert(normalize_name(from).into_owned(), to);
    }

    /// Sets the policy for names in no row.
    pub fn set_unmapped(&mut self, unmapped: Unmapped) {
        self.unmapped = unmapped;
    }

    /// The Pinterest name for a Commanders Act name, or `None` when it is to be skipped.
    pub fn resolve(&self, name: &str) -> Option<&'static str> {
        let key = normalize_name(name);
        match (self.table.get(key.as_ref()), self.unmapped) {
            (Some(to), _) => Some(to),
            (None, Unmapped::As(to)) => Some(to),
            (None, Unmapped::Skip) => None,
        }
    }
}

/// Matching is on the trimmed, lower-cased name (borrowed when it is lower-case ASCII already, as most are).
pub(crate) fn normalize_name(name: &str) -> Cow<'_, str> {
    let trimmed = name.trim();
    if trimmed
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(trimmed.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_both_tables_resolves_case_and_space_insensitively() {
        for (table, rows) in [(EventTable::Classic, 33), (EventTable::Current, 43)] {
            let names = EventNames::new(table);
            for &(from, to) in table.rows() {
                assert_eq!(names.resolve(from), Some(to), "{table:?} {from}");
                assert_eq!(
                    names.resolve(&format!("  {} ", from.to_uppercase())),
                    Some(to)
                );
                assert!(
                    pinterest_event_name(to).is_some(),
                    "{to} is not a Pinterest name"
                );
            }
            assert_eq!(table.rows().len(), rows, "{table:?}");
            let mut froms: Vec<_> = table.rows().iter().map(|(from, _)| from).collect();
            froms.sort();
            froms.dedup();
            assert_eq!(froms.len(), rows, "{table:?} has a name twice");
        }
        assert_eq!(
            EventNames::default().resolve("begin_checkout"),
            Some("custom")
        );
    }

    #[test]
    fn the_current_table_uses_pinterests_newer_names() {
        let names = EventNames::new(EventTable::Current);
        assert_eq!(names.resolve("begin_checkout"), Some("initiate_checkout"));
        assert_eq!(names.resolve("viewcontent"), Some("view_content"));
        assert_eq!(names.resolve("contact"), Some("contact"));
        assert_eq!(
            names.resolve("submit_application"),
            Some("submit_application")
        );
        assert_eq!(names.resolve("find_location"), Some("find_location"));
        assert_eq!(names.resolve("add_to_wishlist"), Some("add_to_wishlist"));
        assert_eq!(names.resolve("add_payment_info"), Some("add_payment_info"));
        assert_eq!(names.resolve("page_view"), Some("page_visit"));
    }

    #[test]
    fn there_are_22_distinct_pinterest_names() {
        let mut names = PINTEREST_EVENT_NAMES.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 22);
        assert_eq!(
            pinterest_event_name("initiate_checkout"),
            Some("initiate_checkout")
        );
        assert_eq!(pinterest_event_name("Checkout"), None);
    }

    #[test]
    fn the_table_setting_parses_two_names() {
        assert_eq!(EventTable::parse(" Current "), Some(EventTable::Current));
        assert_eq!(EventTable::parse("classic"), Some(EventTable::Classic));
        assert_eq!(EventTable::parse("v2"), None);
        assert_eq!(EventTable::parse(""), None);
    }

    #[test]
    fn unmapped_names_are_skipped_or_sent_under_any_pinterest_name() {
        let mut names = EventNames::default();
        assert_eq!(names.resolve("newsletter_optin"), None);
        names.set_unmapped(Unmapped::As("custom"));
        assert_eq!(names.resolve("newsletter_optin"), Some("custom"));
        names.set_unmapped(Unmapped::As("lead"));
        assert_eq!(names.resolve("newsletter_optin"), Some("lead"));
        assert_eq!(names.resolve("purchase"), Some("checkout"));
    }

    #[test]
    fn overrides_add_and_change_rows() {
        let mut names = EventNames::default();
        names.set("Newsletter_Optin", "lead");
        names.set("purchase", "custom");
        assert_eq!(names.resolve("newsletter_optin"), Some("lead"));
        assert_eq!(names.resolve("PURCHASE"), Some("custom"));
        assert_eq!(names.resolve("buy"), Some("checkout"));
    }
}
