//! An event's JSON for the request body, written directly: the bytes serde_json writes for the same event, at a
//! quarter of the cost.
//!
//! serde_json scans every key and every value for characters to escape, byte by byte, and grows its buffer from
//! 128 bytes. Here the keys are written as the constants they are, a digest (hex digits only) is copied without a
//! scan, a text is checked for characters to escape in one pass the compiler vectorises and copied whole when it
//! has none (nearly always), and the buffer is sized once. The tests compare the bytes with serde_json's.

use super::model::{Content, ConversionEvent, CustomData, Hashed, Members, Text, Typed, UserData};
use std::fmt::Write as _;

/// Bytes reserved for one event: a realistic purchase (11 digests, 3 items) takes about 1,900.
const TYPICAL_EVENT_BYTES: usize = 2048;

impl ConversionEvent<'_> {
    /// The event as compact JSON, exactly as `serde_json::to_string` writes it.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(TYPICAL_EVENT_BYTES);
        let mut event = Object::open(&mut out);
        event.text("event_name", Some(self.event_name));
        event.text("action_source", Some(self.action_source.as_str()));
        event.integer("event_time", Some(self.event_time));
        event.text("event_id", Some(&self.event_id));
        event.text("event_source_url", self.event_source_url.as_deref());
        event.boolean("opt_out", self.opt_out);
        event.text("app_id", self.app_id.as_deref());
        event.text("app_name", self.app_name.as_deref());
        event.text("app_version", self.app_version.as_deref());
        event.text("device_brand", self.device_brand.as_deref());
        event.text("device_carrier", self.device_carrier.as_deref());
        event.text("device_model", self.device_model.as_deref());
        event.text("device_type", self.device_type.as_deref());
        event.text("os_version", self.os_version.as_deref());
        event.boolean("wifi", self.wifi);
        event.text("language", self.language.as_deref());
        event.key("user_data");
        user_data(event.out, &self.user_data);
        if !self.custom_data.is_empty() {
            event.key("custom_data");
            custom_data(event.out, &self.custom_data);
        }
        for (key, members) in [
            ("app_info", &self.app_info),
            ("device_info", &self.device_info),
        ] {
            if !members.is_empty() {
                event.key(key);
                let mut section = Object::open(event.out);
                section.members(members);
                section.close();
            }
        }
        event.close();
        out
    }
}

fn user_data(out: &mut String, user: &UserData<'_>) {
    let mut object = Object::open(out);
    object.hashed("em", user.em.as_ref());
    object.hashed("hashed_maids", user.hashed_maids.as_ref());
    object.text("client_ip_address", user.client_ip_address.as_deref());
    object.text("client_user_agent", user.client_user_agent.as_deref());
    object.hashed("ph", user.ph.as_ref());
    object.hashed("ge", user.ge.as_ref());
    object.hashed("db", user.db.as_ref());
    object.hashed("ln", user.ln.as_ref());
    object.hashed("fn", user.fn_.as_ref());
    object.hashed("ct", user.ct.as_ref());
    object.hashed("st", user.st.as_ref());
    object.hashed("zp", user.zp.as_ref());
    object.hashed("country", user.country.as_ref());
    object.hashed("external_id", user.external_id.as_ref());
    object.text("click_id", user.click_id.as_deref());
    object.members(&user.extra);
    object.close();
}

fn custom_data(out: &mut String, custom: &CustomData<'_>) {
    let mut object = Object::open(out);
    object.text("currency", custom.currency.as_deref());
    object.text("value", custom.value.as_deref());
    if !custom.content_ids.is_empty() {
        object.key("content_ids");
        texts(object.out, &custom.content_ids);
    }
    if !custom.contents.is_empty() {
        object.key("contents");
        object.out.push('[');
        for (index, entry) in custom.contents.iter().enumerate() {
            if index > 0 {
                object.out.push(',');
            }
            content(object.out, entry);
        }
        object.out.push(']');
    }
    object.integer("num_items", custom.num_items);
    object.text("order_id", custom.order_id.as_deref());
    object.text("search_string", custom.search_string.as_deref());
    object.text("opt_out_type", custom.opt_out_type.as_deref());
    object.members(&custom.extra);
    object.close();
}

fn content(out: &mut String, entry: &Content<'_>) {
    let mut object = Object::open(out);
    object.text("id", entry.id.as_deref());
    object.text("item_price", entry.item_price.as_deref());
    object.integer("quantity", entry.quantity);
    object.text("item_name", entry.item_name.as_deref());
    object.text("item_brand", entry.item_brand.as_deref());
    object.text("item_category", entry.item_category.as_deref());
    object.close();
}

/// `["a","b"]`.
fn texts(out: &mut String, items: &[Text<'_>]) {
    out.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        string(out, item);
    }
    out.push(']');
}

/// An object being written: its members are added one by one, an absent value leaves its member out.
struct Object<'o> {
    out: &'o mut String,
    empty: bool,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    /// `"key":`, after a comma unless it is the first member. Keys are the schema's names: nothing to escape.
    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    fn text(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.key(key);
            string(self.out, value);
        }
    }

    /// A digest, as the one-element array Pinterest asks for; its hex digits need no escaping.
    fn hashed(&mut self, key: &str, value: Option<&Hashed>) {
        if let Some(value) = value {
            self.key(key);
            self.out.push_str("[\"");
            self.out.push_str(value.as_str());
            self.out.push_str("\"]");
        }
    }

    fn integer(&mut self, key: &str, value: Option<i64>) {
        if let Some(value) = value {
            self.key(key);
            // Writing into a `String` cannot fail.
            let _ = write!(self.out, "{value}");
        }
    }

    fn boolean(&mut self, key: &str, value: Option<bool>) {
        if let Some(value) = value {
            self.key(key);
            self.out.push_str(if value { "true" } else { "false" });
        }
    }

    /// The members that smart mapping fills, in their order.
    fn members(&mut self, members: &Members<'_>) {
        for (key, value) in &members.0 {
            self.key(key);
            match value {
                Typed::Text(text) => string(self.out, text),
                Typed::Integer(n) => {
                    let _ = write!(self.out, "{n}");
                }
                Typed::List(items) => texts(self.out, items),
            }
        }
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// Whether `byte` must be escaped in a JSON string: a quote, a backslash or a control character.
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// `text` as a JSON string, escaped as serde_json escapes it: `\"`, `\\`, the short escapes of `\b \f \n \r \t`
/// and `\u00XX` (lower-case hex) for the other control characters; nothing else.
fn string(out: &mut String, text: &str) {
    out.push('"');
    // Without an early exit, so that the check runs over whole vectors of bytes.
    let clean = !text.bytes().fold(false, |found, b| found | needs_escape(b));
    if clean {
        out.push_str(text);
    } else {
        let mut from = 0;
        for (at, byte) in text.bytes().enumerate() {
            if !needs_escape(byte) {
                continue;
            }
            // An escaped byte is ASCII: `from` and `at` are character boundaries.
            out.push_str(text.get(from..at).unwrap_or_default());
            match byte {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                control => {
                    let _ = write!(out, "\\u{control:04x}");
                }
            }
            from = at + 1;
        }
        out.push_str(text.get(from..).unwrap_or_default());
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pinterest::model::ActionSource;
    use proptest::prelude::*;
    use std::borrow::Cow;

    fn digest(byte: u8) -> Hashed {
        Hashed::from_digest([byte; 32])
    }

    /// An event with every field set, each text `text`.
    fn full(text: &str) -> ConversionEvent<'_> {
        let t = || Some(Cow::Borrowed(text));
        ConversionEvent {
            event_name: "checkout",
            action_source: ActionSource::AppIos,
            event_time: -1_700_000_000,
            event_id: Cow::Borrowed(text),
            event_source_url: t(),
            opt_out: Some(false),
            app_id: t(),
            app_name: t(),
            app_version: t(),
            device_brand: t(),
            device_carrier: t(),
            device_model: t(),
            device_type: t(),
            os_version: t(),
            wifi: Some(true),
            language: t(),
            user_data: UserData {
                em: Some(digest(1)),
                hashed_maids: Some(digest(2)),
                client_ip_address: t(),
                client_user_agent: t(),
                ph: Some(digest(3)),
                ge: Some(digest(4)),
                db: Some(digest(5)),
                ln: Some(digest(6)),
                fn_: Some(digest(7)),
                ct: Some(digest(8)),
                st: Some(digest(9)),
                zp: Some(digest(10)),
                country: Some(digest(11)),
                external_id: Some(digest(12)),
                click_id: t(),
                extra: Members(vec![("partner_id", Typed::Text(Cow::Borrowed(text)))]),
            },
            custom_data: CustomData {
                currency: t(),
                value: t(),
                content_ids: vec![Cow::Borrowed(text), Cow::Borrowed("b")],
                contents: vec![
                    Content {
                        id: t(),
                        item_price: t(),
                        quantity: Some(i64::MAX),
                        item_name: t(),
                        item_brand: t(),
                        item_category: t(),
                    },
                    Content {
                        quantity: Some(i64::MIN),
                        ..Content::default()
                    },
                ],
                num_items: Some(0),
                order_id: t(),
                search_string: t(),
                opt_out_type: t(),
                extra: Members(vec![
                    ("content_name", Typed::Text(Cow::Borrowed(text))),
                    ("predicted_ltv", Typed::Integer(-3)),
                    ("content_brand", Typed::List(vec![Cow::Borrowed(text)])),
                ]),
            },
            app_info: Members(vec![("app_id", Typed::Text(Cow::Borrowed(text)))]),
            device_info: Members(vec![("os", Typed::List(Vec::new()))]),
        }
    }

    /// The least event: no optional field, an empty `user_data`, no `custom_data`.
    fn least() -> ConversionEvent<'static> {
        ConversionEvent {
            event_name: "page_visit",
            action_source: ActionSource::Web,
            event_time: 0,
            event_id: Cow::Borrowed("e"),
            event_source_url: None,
            opt_out: None,
            app_id: None,
            app_name: None,
            app_version: None,
            device_brand: None,
            device_carrier: None,
            device_model: None,
            device_type: None,
            os_version: None,
            wifi: None,
            language: None,
            user_data: UserData::default(),
            custom_data: CustomData::default(),
            app_info: Members::default(),
            device_info: Members::default(),
        }
    }

    #[test]
    fn the_bytes_are_serde_json_s() {
        let least = least();
        assert_eq!(least.to_json(), serde_json::to_string(&least).unwrap());
        for text in [
            "plain",
            "",
            "quote \" backslash \\ slash / tab \t",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\n\r\u{1f}\u{7f}",
            "é 😀 \u{2028}\u{2029} \u{feff}",
            "\\u0041 stays as it is",
        ] {
            let event = full(text);
            assert_eq!(
                event.to_json(),
                serde_json::to_string(&event).unwrap(),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(text in any::<String>()) {
            let event = full(&text);
            prop_assert_eq!(event.to_json(), serde_json::to_string(&event).unwrap());
        }
    }
}
