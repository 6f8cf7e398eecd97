//! The event tree built with each object's and array's vector allocated once, at its final size.
//!
//! `serde_json_borrow`'s own `Deserialize` grows each vector as members arrive (about twenty reallocations,
//! each a copy, for a realistic event). Here the members of every open object and array wait on one scratch
//! stack for the whole parse, and each is moved into a vector of its exact size when its `}` or `]` is read.
//! The tree is the same `Value` either way (the tests compare them), and serde_json does the reading: grammar,
//! escapes, numbers and its nesting limit.
//!
//! `serde_json_borrow` builds an object only from keys borrowed from the text, so a key written with an escape
//! (`"na\u006De"`) cannot be built here: [`tree`] then gives `None`, and the caller parses the text again with
//! `serde_json_borrow`'s own `Deserialize` (such keys are rare; nothing is lost but the time of the first try).

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json_borrow::{ObjectAsVec, Value};
use std::borrow::Cow;
use std::fmt;

/// Members waiting for their object or array to end, for one parse.
struct Scratch<'a> {
    members: Vec<(&'a str, Value<'a>)>,
    elements: Vec<Value<'a>>,
    /// Set when a key had an escape: the parse stops there (see the module's documentation).
    escaped_key: bool,
}

/// The tree of the one JSON value in `read` (white space may follow it, nothing else), or `None` when an object
/// key has an escape.
pub(super) fn tree<'a>(
    read: impl serde_json::de::Read<'a>,
) -> Result<Option<Value<'a>>, serde_json::Error> {
    let mut scratch = Scratch {
        members: Vec::with_capacity(32),
        elements: Vec::with_capacity(16),
        escaped_key: false,
    };
    let mut reader = serde_json::Deserializer::new(read);
    match Node(&mut scratch).deserialize(&mut reader) {
        Ok(value) => reader.end().map(|()| Some(value)),
        Err(_) if scratch.escaped_key => Ok(None),
        Err(error) => Err(error),
    }
}

/// One value, built on the shared scratch stack.
struct Node<'s, 'a>(&'s mut Scratch<'a>);

impl<'a> DeserializeSeed<'a> for Node<'_, 'a> {
    type Value = Value<'a>;

    fn deserialize<D: de::Deserializer<'a>>(self, reader: D) -> Result<Value<'a>, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for Node<'_, 'a> {
    type Value = Value<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value<'a>, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value<'a>, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value<'a>, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value<'a>, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_borrowed_str<E>(self, value: &'a str) -> Result<Value<'a>, E> {
        Ok(Value::Str(Cow::Borrowed(value)))
    }

    /// A string with escapes, unescaped into serde_json's buffer.
    fn visit_str<E>(self, value: &str) -> Result<Value<'a>, E> {
        Ok(Value::Str(Cow::Owned(value.to_owned())))
    }

    fn visit_unit<E>(self) -> Result<Value<'a>, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<Value<'a>, A::Error> {
        let scratch = self.0;
        let start = scratch.elements.len();
        while let Some(element) = seq.next_element_seed(Node(&mut *scratch))? {
            scratch.elements.push(element);
        }
        Ok(Value::Array(scratch.elements.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<Value<'a>, A::Error> {
        let scratch = self.0;
        let start = scratch.members.len();
        while let Some(key) = map.next_key_seed(Key(&mut scratch.escaped_key))? {
            let value = map.next_value_seed(Node(&mut *scratch))?;
            scratch.members.push((key, value));
        }
        Ok(Value::Object(
            scratch.members.drain(start..).collect::<ObjectAsVec>(),
        ))
    }
}

/// An object key borrowed from the text; a key with an escape sets the flag and stops the parse.
struct Key<'s>(&'s mut bool);

impl<'a> DeserializeSeed<'a> for Key<'_> {
    type Value = &'a str;

    fn deserialize<D: de::Deserializer<'a>>(self, reader: D) -> Result<&'a str, D::Error> {
        reader.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for Key<'_> {
    type Value = &'a str;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, key: &'a str) -> Result<&'a str, E> {
        Ok(key)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<&'a str, E> {
        *self.0 = true;
        Err(E::custom("an object key with an escape"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree built here, or `None` for an escaped key; and serde_json_borrow's own.
    fn both(text: &str) -> (Option<Value<'_>>, Value<'_>) {
        let ours = tree(serde_json::de::StrRead::new(text)).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        (ours, theirs)
    }

    #[test]
    fn builds_the_same_tree_as_serde_json_borrow() {
        let texts = [
            r#"{"a": 1, "b": [true, false, null, -2, 3.5, 1e300, 18446744073709551615], "c": {"d": {}, "e": []}}"#,
            r#"{"dup": 1, "dup": 2, "s": "caf\u00e9 \"quoted\" \\ \n", "empty": ""}"#,
            r#"[[[1, 2], [3]], [], [{"x": [{"y": "z"}]}], -9223372036854775808]"#,
            r#"  "just a string"  "#,
            "0",
            "{}",
        ];
        for text in texts {
            let (ours, theirs) = both(text);
            assert_eq!(ours.as_ref(), Some(&theirs), "{text}");
        }
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/commandersact");
        let mut seen = 0;
        for entry in std::fs::read_dir(fixtures).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            let (ours, theirs) = both(&text);
            assert_eq!(ours, Some(theirs));
            seen += 1;
        }
        assert!(seen >= 9, "the documented events were read");
    }

    #[test]
    fn vectors_are_exactly_their_size() {
        let text =
            r#"{"a": [1, 2, 3, 4, 5], "b": {"c": 1, "d": 2, "e": 3, "f": 4, "g": 5}, "h": []}"#;
        let Some(Value::Object(root)) = tree(serde_json::de::StrRead::new(text)).unwrap() else {
            panic!("an object");
        };
        let Some(Value::Array(a)) = root.get("a") else {
            panic!("an array")
        };
        assert_eq!((a.len(), a.capacity()), (5, 5));
        let Some(Value::Array(h)) = root.get("h") else {
            panic!("an array")
        };
        assert_eq!(h.capacity(), 0);
    }

    #[test]
    fn an_escaped_key_gives_none_for_the_general_parse() {
        let text = r#"{"a": {"na\u006De": 1}}"#;
        let (ours, theirs) = both(text);
        assert_eq!(ours, None);
        assert_eq!(theirs.get("a").get("name"), &Value::Number(1u64.into()));
    }

    #[test]
    fn bad_text_is_the_same_error_as_serde_json_gives() {
        for text in [
            r#"{"a": 1"#,
            r#"{"a": 1} trailing"#,
            r#"{"a": "\ud800"}"#,
            r#"[1, 2,]"#,
            "",
            &"[".repeat(200),
        ] {
            let ours = tree(serde_json::de::StrRead::new(text)).unwrap_err();
            let theirs = serde_json::from_str::<Value>(text).unwrap_err();
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }
}
