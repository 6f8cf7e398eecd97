//! The event-name table (SPEC §3) as data, with smart-mapping overrides and the unmapped-name policy.

use std::borrow::Cow;
use std::collections::HashMap;

/// Pinterest event names this destination may send.
pub const PINTEREST_EVENT_NAMES: &[&str] = &[
    "add_to_cart",
    "checkout",
    "custom",
    "lead",
    "page_visit",
    "search",
    "signup",
    "view_category",
    "watch_video",
];

/// Default table: Commanders Act `event_name` (lower case) → Pinterest `event_name`.
pub const DEFAULT_EVENT_NAMES: &[(&str, &str)] = &[
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

/// What happens to a name that is in no row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// Not sent; acknowledged and counted as skipped.
    #[default]
    Skip,
    /// Sent as Pinterest's `custom` event.
    Custom,
}

/// The effective table: defaults plus smart-mapping rows, and the unmapped policy.
#[derive(Debug, Clone)]
pub struct EventNames {
    table: HashMap<String, &'static str>,
    unmapped: Unmapped,
}

impl Default for EventNames {
    fn default() -> Self {
        Self {
            table: DEFAULT_EVENT_NAMES
                .iter()
                .map(|&(from, to)| (from.to_string(), to))
                .collect(),
            unmapped: Unmapped::Skip,
        }
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
        match self.table.get(key.as_ref()) {
            Some(to) => Some(to),
            None if self.unmapped == Unmapped::Custom => Some("custom"),
            None => None,
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
    fn every_default_row_resolves_case_and_space_insensitively() {
        let names = EventNames::default();
        for &(from, to) in DEFAULT_EVENT_NAMES {
            assert_eq!(names.resolve(from), Some(to));
            assert_eq!(
                names.resolve(&format!("  {} ", from.to_uppercase())),
                Some(to)
            );
            assert!(
                pinterest_event_name(to).is_some(),
                "{to} is not a Pinterest name"
            );
        }
        assert_eq!(DEFAULT_EVENT_NAMES.len(), 33);
    }

    #[test]
    fn unmapped_names_are_skipped_or_sent_as_custom() {
        let mut names = EventNames::default();
        assert_eq!(names.resolve("newsletter_optin"), None);
        names.set_unmapped(Unmapped::Custom);
        assert_eq!(names.resolve("newsletter_optin"), Some("custom"));
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
