//! The consent gate: an event is sent only when the user's consent categories hold one of the configured ids.

use crate::event::{self, Path, Value};
use std::sync::LazyLock;

/// Where Commanders Act puts the user's consent categories.
pub const CONSENT_PATH: &str = "user.consent_categories";

static CONSENT: LazyLock<Option<Path>> = LazyLock::new(|| Path::parse(CONSENT_PATH).ok());

/// The configured consent category ids (`PINTEREST_CONSENT_CATEGORIES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentGate {
    ids: Vec<String>,
}

impl ConsentGate {
    /// Parses a comma-separated list of category ids (`3` or `3, 5`); `Ok(None)` for an empty list (no gate).
    /// Each id is a whole number, as Commanders Act numbers its consent categories.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        let ids = raw
            .split(',')
            .map(|id| {
                let id = id.trim();
                if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(canonical(id).to_string())
                } else {
                    Err("expected comma-separated consent category ids (whole numbers such as 3 or 3,5)".to_string())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Self { ids }))
    }

    /// The ids, as configured (without leading zeros).
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// `Ok` when the event's consent categories hold one of the gate's ids; otherwise why the event is filtered
    /// (never quoting a value of the event).
    pub fn check(&self, event: &Value<'_>) -> Result<(), String> {
        let wanted = self.ids.join(", ");
        let Some(found) = CONSENT.as_ref().and_then(|path| path.get(event)) else {
            return Err(format!(
                "{CONSENT_PATH}: missing; the consent gate needs one of {wanted}"
            ));
        };
        let Value::Array(categories) = found else {
            return Err(format!(
                "{CONSENT_PATH}: expected an array of consent category ids, found {}",
                event::kind(found)
            ));
        };
        let mut matched = false;
        for category in categories {
            let id = match category {
                Value::Number(_) | Value::Str(_) => event::text_ref(category).ok().flatten(),
                _ => None,
            };
            let Some(id) = id else {
                return Err(format!(
                    "{CONSENT_PATH}: expected consent category ids (numbers or strings), found {}",
                    event::kind(category)
                ));
            };
            matched |= self.ids.iter().any(|wanted| wanted == canonical(&id));
        }
        if matched {
            Ok(())
        } else {
            Err(format!(
                "{CONSENT_PATH}: none of the user's consent categories is one of {wanted}"
            ))
        }
    }
}

/// An id without leading zeros (`03` and `3` are one category); `0` stays `0`.
fn canonical(id: &str) -> &str {
    let trimmed = id.trim().trim_start_matches('0');
    if trimmed.is_empty() && !id.trim().is_empty() {
        "0"
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(raw: &str) -> ConsentGate {
        ConsentGate::parse(raw).unwrap().unwrap()
    }

    fn check(gate: &ConsentGate, event: &str) -> Result<(), String> {
        gate.check(&event::parse(event).unwrap())
    }

    #[test]
    fn the_setting_is_a_list_of_whole_numbers() {
        assert_eq!(ConsentGate::parse("").unwrap(), None);
        assert_eq!(ConsentGate::parse("  ").unwrap(), None);
        assert_eq!(gate("3").ids(), ["3"]);
        assert_eq!(gate(" 3 , 05 ").ids(), ["3", "5"]);
        for bad in ["3,", ",3", "3;5", "a", "3 5", "-1", "3.0"] {
            assert!(ConsentGate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_event_passes_with_one_matching_category_as_number_or_string() {
        let gate = gate("3,5");
        assert_eq!(
            check(&gate, r#"{"user":{"consent_categories":[1,5]}}"#),
            Ok(())
        );
        assert_eq!(
            check(&gate, r#"{"user":{"consent_categories":["3"]}}"#),
            Ok(())
        );
        assert_eq!(
            check(&gate, r#"{"user":{"consent_categories":[" 03 "]}}"#),
            Ok(())
        );
    }

    #[test]
    fn an_event_is_filtered_with_the_reason() {
        let gate = gate("3");
        let reason = |event: &str| check(&gate, event).unwrap_err();
        assert!(reason(r#"{"user":{}}"#).contains("missing"));
        assert!(reason(r#"{"user":{"consent_categories":null}}"#).contains("missing"));
        assert!(reason(r#"{"user":{"consent_categories":[1,2]}}"#).contains("none of"));
        assert!(reason(r#"{"user":{"consent_categories":[]}}"#).contains("none of"));
        assert!(reason(r#"{"user":{"consent_categories":"3"}}"#).contains("found a string"));
        assert!(
            reason(r#"{"user":{"consent_categories":{"3":true}}}"#).contains("found an object")
        );
        assert!(
            reason(r#"{"user":{"consent_categories":[3,{"id":3}]}}"#).contains("found an object")
        );
        assert!(reason(r#"{"user":{"consent_categories":[true]}}"#).contains("found a boolean"));
        assert!(
            !reason(r#"{"user":{"consent_categories":["secret@example.com"]}}"#).contains("secret")
        );
    }
}
