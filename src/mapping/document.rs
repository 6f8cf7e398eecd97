//! The smart-mapping document: re-pointed and extra fields (a path, paths, or a constant), event-name rows and
//! the unmapped-name policy, checked once at start-up.

use super::Mapper;
use super::fields::{Field, Source};
use super::names::{PINTEREST_EVENT_NAMES, Unmapped, normalize_name, pinterest_event_name};
use super::targets::{self, CLOSED};
use crate::event::Path;
use serde_json::Value;
use serde_json_borrow::OwnedValue;

/// A document that cannot be applied: the offending key (a dotted path in the document) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct DocumentError {
    pub key: String,
    pub reason: String,
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> DocumentError {
    DocumentError {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Applies a smart-mapping document to `mapper`; errors name the offending key.
pub fn apply(mapper: &mut Mapper, text: &str) -> Result<(), DocumentError> {
    let document: Value =
        serde_json::from_str(text).map_err(|e| invalid("document", format!("not JSON ({e})")))?;
    let Value::Object(document) = document else {
        return Err(invalid("document", "expected a JSON object"));
    };
    // `Value` keeps the last of two equal keys: look for one in the text itself.
    if let Ok(FirstDuplicate(Some(key))) = serde_json::from_str(text) {
        return Err(invalid(key, "duplicate key (each key may appear once)"));
    }
    for (key, value) in &document {
        match key.as_str() {
            "fields" => {
                for (target, source) in object(key, value)? {
                    apply_field(mapper, &format!("fields.{target}"), target, source)?;
                }
            }
            "event_names" => {
                let mut seen = std::collections::HashSet::new();
                for (from, to) in object(key, value)? {
                    let at = format!("event_names.{from}");
                    let to = event_name(&at, to)?;
                    if from.trim().is_empty() {
                        return Err(invalid(&at, "empty Commanders Act event name"));
                    }
                    // Names match trimmed and lower-cased: `Optin` and `optin ` are one row.
                    if !seen.insert(normalize_name(from).into_owned()) {
                        return Err(invalid(
                            &at,
                            "duplicate event name (names match trimmed and in any case)",
                        ));
                    }
                    mapper.names.set(from, to);
                }
            }
            "unmapped_events" => {
                let policy =
                    match value.as_str().map(|v| v.trim().to_ascii_lowercase()) {
                        Some(v) if v == "skip" => Unmapped::Skip,
                        _ => Unmapped::As(event_name(key, value).map_err(|e| {
                            invalid(key, format!("expected \"skip\" or {}", e.reason))
                        })?),
                    };
                mapper.names.set_unmapped(policy);
            }
            other => {
                return Err(invalid(
                    other,
                    "unknown key (expected fields, event_names or unmapped_events)",
                ));
            }
        }
    }
    Ok(())
}

/// One entry of `fields`: a target of the field table or an extra target of Pinterest's schema.
fn apply_field(
    mapper: &mut Mapper,
    at: &str,
    target: &str,
    source: &Value,
) -> Result<(), DocumentError> {
    if CLOSED.contains(&target) {
        return Err(invalid(
            at,
            "closed: Pinterest assigns this field itself, it cannot be mapped",
        ));
    }
    let sources = sources(at, source)?;
    if let Some(field) = Field::from_name(target) {
        for source in &sources {
            if let Source::Const(value) = source {
                super::check_constant(field, value.get_value())
                    .map_err(|why| invalid(at, format!("constant: {why}")))?;
            }
        }
        mapper.sources.set(field, sources);
    } else if let Some(extra) = targets::extra_named(target) {
        for source in &sources {
            if let Source::Const(value) = source {
                match extra.kind.read(value.get_value()) {
                    Ok(Some(_)) => {}
                    Ok(None) => return Err(invalid(at, "constant: empty")),
                    Err(why) => return Err(invalid(at, format!("constant: {why}"))),
                }
            }
        }
        mapper.sources.set_extra(extra, sources);
    } else {
        return Err(invalid(
            at,
            "unknown Pinterest field: a target is a field of Pinterest's request schema, \
             such as user_data.em or custom_data.content_name (see docs/mapping.md)",
        ));
    }
    Ok(())
}

/// A source: a path, an array of sources (the first found wins), or `{"const": value}`.
fn sources(at: &str, source: &Value) -> Result<Vec<Source>, DocumentError> {
    match source {
        Value::Array(items) if items.is_empty() => Err(invalid(
            at,
            "an empty array of sources (give at least one path)",
        )),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Array(_) => Err(invalid(
                    format!("{at}.{i}"),
                    "an array inside an array of sources",
                )),
                one => one_source(&format!("{at}.{i}"), one),
            })
            .collect(),
        one => one_source(at, one).map(|source| vec![source]),
    }
}

const SOURCE_FORMS: &str = "expected a source path string such as \"user.custom_email\", an array of paths, or {\"const\": value}";

fn one_source(at: &str, source: &Value) -> Result<Source, DocumentError> {
    match source {
        Value::String(path) => source_path(at, path.trim()).map(Source::Path),
        Value::Object(object) => match object.get("const") {
            Some(Value::Null) => Err(invalid(at, "constant: null (leave the field out instead)")),
            Some(value) if object.len() == 1 => OwnedValue::from_string(value.to_string())
                .map(Source::Const)
                .map_err(|e| invalid(at, format!("constant: {e}"))),
            _ => Err(invalid(at, SOURCE_FORMS)),
        },
        _ => Err(invalid(at, SOURCE_FORMS)),
    }
}

/// A source path of the document: dotted, from the event's root. Forms that [`Path::parse`] would accept but that
/// could never match (JSONPath, brackets, blanks around a key) are refused here, with a hint.
fn source_path(at: &str, text: &str) -> Result<Path, DocumentError> {
    let hint = if text.is_empty() {
        Some("empty")
    } else if text.contains(['[', ']']) {
        Some("no brackets: array indices are dotted segments (emails.0)")
    } else if text.starts_with('$') {
        Some("not JSONPath: a plain dotted path from the event's root (user.email)")
    } else if text.split('.').any(|key| key.trim() != key) {
        Some("a key starts or ends with white space")
    } else {
        None
    };
    if let Some(hint) = hint {
        return Err(invalid(
            at,
            format!("'{text}' is not a dotted path ({hint})"),
        ));
    }
    Path::parse(text).map_err(|e| invalid(at, e.to_string()))
}

/// A Pinterest event name (any case, trimmed) among the 22.
fn event_name(at: &str, value: &Value) -> Result<&'static str, DocumentError> {
    value
        .as_str()
        .and_then(|t| pinterest_event_name(&t.trim().to_ascii_lowercase()))
        .ok_or_else(|| {
            invalid(
                at,
                format!(
                    "expected one of Pinterest's 22 event names: {}",
                    PINTEREST_EVENT_NAMES.join(", ")
                ),
            )
        })
}

fn object<'a>(
    key: &str,
    value: &'a Value,
) -> Result<&'a serde_json::Map<String, Value>, DocumentError> {
    value
        .as_object()
        .ok_or_else(|| invalid(key, "expected a JSON object"))
}

/// The first key repeated within one object of a JSON document, as a dotted path (`fields.event_id`).
struct FirstDuplicate(Option<String>);

/// A value of the document: only an object may hold a duplicate.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Node {
    Object(FirstDuplicate),
    Other(serde::de::IgnoredAny),
}

impl<'de> serde::Deserialize<'de> for FirstDuplicate {
    fn deserialize<D: serde::Deserializer<'de>>(json: D) -> Result<Self, D::Error> {
        json.deserialize_map(FirstDuplicateVisitor)
    }
}

struct FirstDuplicateVisitor;

impl<'de> serde::de::Visitor<'de> for FirstDuplicateVisitor {
    type Value = FirstDuplicate;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut seen, mut found) = (std::collections::HashSet::new(), None);
        while let Some(key) = map.next_key::<String>()? {
            let inner = match map.next_value()? {
                Node::Object(FirstDuplicate(Some(inner))) => Some(format!("{key}.{inner}")),
                _ => None,
            };
            if found.is_none() {
                found = if seen.contains(&key) {
                    Some(key.clone())
                } else {
                    inner
                };
            }
            seen.insert(key);
        }
        Ok(FirstDuplicate(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mapping_document_repoints_fields_and_names() {
        let mut mapper = Mapper::default();
        let doc = json!({
            "fields": {"user_data.em": "user.custom_email", "custom_data.value": "revenue"},
            "event_names": {"newsletter_optin": "lead"},
            "unmapped_events": "custom"
        });
        apply(&mut mapper, &doc.to_string()).unwrap();
        assert_eq!(
            mapper.sources.of(Field::Em)[0].to_string(),
            "user.custom_email"
        );
        assert_eq!(mapper.sources.of(Field::Value)[0].to_string(), "revenue");
        assert_eq!(mapper.names.resolve("newsletter_optin"), Some("lead"));
        assert_eq!(mapper.names.resolve("anything"), Some("custom"));
    }

    #[test]
    fn event_name_targets_and_unmapped_policy_ignore_case_and_blanks() {
        let mut mapper = Mapper::default();
        let doc = json!({
            "event_names": {"a": " lead ", "b": "LEAD", "c": " Page_Visit\t"},
            "unmapped_events": " Custom "
        });
        apply(&mut mapper, &doc.to_string()).unwrap();
        assert_eq!(mapper.names.resolve("a"), Some("lead"));
        assert_eq!(mapper.names.resolve("b"), Some("lead"));
        assert_eq!(mapper.names.resolve("c"), Some("page_visit"));
        assert_eq!(mapper.names.resolve("anything"), Some("custom"));
        apply(&mut mapper, r#"{"unmapped_events": "SKIP"}"#).unwrap();
        assert_eq!(mapper.names.resolve("anything"), None);
        let err = apply(&mut mapper, r#"{"unmapped_events": "Drop"}"#).unwrap_err();
        assert_eq!(err.key, "unmapped_events");
    }

    #[test]
    fn source_paths_that_could_never_match_are_refused_with_a_hint() {
        for (path, hint) in [
            ("emails[0]", "emails.0"),
            ("items[].id", "emails.0"),
            ("$.user.mail", "not JSONPath"),
            ("$user", "not JSONPath"),
            ("user. mail", "white space"),
            ("user .mail", "white space"),
            ("user.\tmail", "white space"),
            ("a..b", "empty segment"),
        ] {
            let doc = json!({"fields": {"user_data.em": path}}).to_string();
            let err = apply(&mut Mapper::default(), &doc).unwrap_err();
            assert_eq!(err.key, "fields.user_data.em", "{path}");
            assert!(err.reason.contains(hint), "{path}: {err}");
        }
        let mut mapper = Mapper::default();
        let doc =
            json!({"fields": {"event_id": " meta.ids.0 ", "user_data.fn": "user.first name"}});
        apply(&mut mapper, &doc.to_string()).unwrap();
        assert_eq!(
            mapper.sources.of(Field::EventId)[0].to_string(),
            "meta.ids.0"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_by_name() {
        let cases = [
            (
                r#"{"fields": {"event_id": "a"}, "fields": {"user_data.em": "b"}}"#,
                "fields",
            ),
            (
                r#"{"fields": {"user_data.em": "a", "event_id": "c", "user_data.em": "b"}}"#,
                "fields.user_data.em",
            ),
            (
                r#"{"event_names": {"x": "lead", "x": "signup"}}"#,
                "event_names.x",
            ),
            // The first occurrence would be refused, the last is valid: still a duplicate.
            (
                r#"{"unmapped_events": 3, "unmapped_events": "skip"}"#,
                "unmapped_events",
            ),
        ];
        for (doc, name) in cases {
            let err = apply(&mut Mapper::default(), doc).unwrap_err();
            assert_eq!(err.key, name, "{doc}");
            assert!(err.reason.contains("duplicate key"), "{err}");
        }
        // Event names match trimmed and in any case: these two are one row.
        let doc = r#"{"event_names": {"Optin": "lead", "optin ": "signup"}}"#;
        let err = apply(&mut Mapper::default(), doc).unwrap_err();
        assert_eq!(err.key, "event_names.optin ");
        assert!(err.reason.contains("duplicate event name"), "{err}");
        // One key in two different objects is no duplicate.
        let doc = r#"{"fields": {"event_id": "lead"}, "event_names": {"event_id": "lead"}}"#;
        assert!(apply(&mut Mapper::default(), doc).is_ok());
    }

    #[test]
    fn bad_mapping_documents_name_the_offending_key() {
        let cases = [
            ("not json", "document"),
            ("[1]", "document"),
            (r#"{"feilds": {}}"#, "feilds"),
            (
                r#"{"fields": {"user_data.email": "x"}}"#,
                "fields.user_data.email",
            ),
            (r#"{"fields": {"user_data.em": 3}}"#, "fields.user_data.em"),
            (
                r#"{"fields": {"user_data.em": "a..b"}}"#,
                "fields.user_data.em",
            ),
            (r#"{"fields": []}"#, "fields"),
            (r#"{"event_names": {"x": "purchase"}}"#, "event_names.x"),
            (r#"{"unmapped_events": "drop"}"#, "unmapped_events"),
        ];
        for (doc, name) in cases {
            let err = apply(&mut Mapper::default(), doc).unwrap_err();
            assert_eq!(err.key, name, "{doc}");
        }
    }

    #[test]
    fn a_source_is_a_path_an_array_of_paths_or_a_constant() {
        let mut mapper = Mapper::default();
        let doc = json!({"fields": {
            "user_data.em": ["user.mail", "user.email"],
            "custom_data.content_category": {"const": "apparel"},
            "device_info.form_factor": "context.device.form",
            "custom_data.value": ["revenue", {"const": 0}],
        }});
        apply(&mut mapper, &doc.to_string()).unwrap();
        let shown = |sources: &[Source]| sources.iter().map(Source::to_string).collect::<Vec<_>>();
        assert_eq!(
            shown(mapper.sources.of(Field::Em)),
            ["user.mail", "user.email"]
        );
        assert_eq!(shown(mapper.sources.of(Field::Value)), ["revenue", "const"]);
        let extras: Vec<_> = mapper
            .sources
            .extras()
            .iter()
            .map(|(extra, sources)| (extra.name, shown(sources)))
            .collect();
        assert_eq!(
            extras,
            [
                ("custom_data.content_category", vec!["const".to_string()]),
                (
                    "device_info.form_factor",
                    vec!["context.device.form".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn closed_unknown_and_badly_typed_targets_are_refused_by_name() {
        let cases = [
            (
                json!({"fields": {"partner_name": "x"}}),
                "fields.partner_name",
                "closed",
            ),
            (
                json!({"fields": {"custom_data.np": "x"}}),
                "fields.custom_data.np",
                "closed",
            ),
            (
                json!({"fields": {"custom_data.nope": "x"}}),
                "fields.custom_data.nope",
                "unknown Pinterest field",
            ),
            (
                json!({"fields": {"app_info": "x"}}),
                "fields.app_info",
                "unknown Pinterest field",
            ),
            (
                json!({"fields": {"user_data.em": []}}),
                "fields.user_data.em",
                "empty array",
            ),
            (
                json!({"fields": {"user_data.em": ""}}),
                "fields.user_data.em",
                "empty",
            ),
            (
                json!({"fields": {"user_data.em": ["a", ""]}}),
                "fields.user_data.em.1",
                "empty",
            ),
            (
                json!({"fields": {"user_data.em": ["a", ["b"]]}}),
                "fields.user_data.em.1",
                "inside an array",
            ),
            (
                json!({"fields": {"user_data.em": ["a", 3]}}),
                "fields.user_data.em.1",
                "expected a source path",
            ),
            (
                json!({"fields": {"user_data.em": {"path": "a"}}}),
                "fields.user_data.em",
                "expected a source path",
            ),
            (
                json!({"fields": {"user_data.em": {"const": "a", "x": 1}}}),
                "fields.user_data.em",
                "expected a source path",
            ),
            (
                json!({"fields": {"user_data.em": {"const": null}}}),
                "fields.user_data.em",
                "null",
            ),
            (
                json!({"fields": {"wifi": {"const": "perhaps"}}}),
                "fields.wifi",
                "constant",
            ),
            (
                json!({"fields": {"custom_data.value": {"const": "ten"}}}),
                "fields.custom_data.value",
                "constant",
            ),
            (
                json!({"fields": {"custom_data.num_items": {"const": "many"}}}),
                "fields.custom_data.num_items",
                "constant",
            ),
            (
                json!({"fields": {"event_time": {"const": "yesterday"}}}),
                "fields.event_time",
                "constant",
            ),
            (
                json!({"fields": {"action_source": {"const": "phone"}}}),
                "fields.action_source",
                "constant",
            ),
            (
                json!({"fields": {"user_data.ge": {"const": "unknown"}}}),
                "fields.user_data.ge",
                "constant",
            ),
            (
                json!({"fields": {"language": {"const": "french"}}}),
                "fields.language",
                "constant",
            ),
            (
                json!({"fields": {"device_info.form_factor": {"const": "fridge"}}}),
                "fields.device_info.form_factor",
                "constant",
            ),
            (
                json!({"fields": {"device_info.battery_level": {"const": 101}}}),
                "fields.device_info.battery_level",
                "constant",
            ),
            (
                json!({"fields": {"app_info.window_width": {"const": 1.5}}}),
                "fields.app_info.window_width",
                "constant",
            ),
            (
                json!({"fields": {"device_info.timezone_abbr": {"const": "TOOLONG"}}}),
                "fields.device_info.timezone_abbr",
                "constant",
            ),
            (
                json!({"fields": {"custom_data.predicted_ltv": {"const": true}}}),
                "fields.custom_data.predicted_ltv",
                "constant",
            ),
            (
                json!({"fields": {"custom_data.content_name": {"const": {"a": 1}}}}),
                "fields.custom_data.content_name",
                "constant",
            ),
            (
                json!({"event_names": {"x": "purchase"}}),
                "event_names.x",
                "22",
            ),
            (
                json!({"unmapped_events": "drop"}),
                "unmapped_events",
                "skip",
            ),
        ];
        for (doc, key, why) in cases {
            let err = apply(&mut Mapper::default(), &doc.to_string()).unwrap_err();
            assert_eq!(err.key, key, "{doc}");
            assert!(err.reason.contains(why), "{doc}: {err}");
        }
    }

    #[test]
    fn every_pinterest_name_is_a_valid_row_target_and_unmapped_choice() {
        for name in PINTEREST_EVENT_NAMES {
            let mut mapper = Mapper::default();
            let doc =
                json!({"event_names": {"optin": name.to_uppercase()}, "unmapped_events": name});
            apply(&mut mapper, &doc.to_string()).unwrap();
            assert_eq!(mapper.names.resolve("optin"), Some(*name));
            assert_eq!(mapper.names.resolve("never_heard_of"), Some(*name));
        }
    }
}
