//! Typed request body of `POST /v5/ad_accounts/{id}/events`: only fields of Pinterest's schema, absent values omitted.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::borrow::Cow;

/// Text of the event, borrowed from the event's JSON where it is sent as it came (ids, URLs, names), owned
/// where mapping changed it.
pub type Text<'a> = Cow<'a, str>;

/// Where the conversion happened (`action_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionSource {
    AppAndroid,
    AppIos,
    Web,
    Offline,
}

impl ActionSource {
    /// Parses a value case-insensitively; `None` for anything that is not one of the four.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "app_android" => Some(Self::AppAndroid),
            "app_ios" => Some(Self::AppIos),
            "web" => Some(Self::Web),
            "offline" => Some(Self::Offline),
            _ => None,
        }
    }

    /// The value as Pinterest spells it (and serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppAndroid => "app_android",
            Self::AppIos => "app_ios",
            Self::Web => "web",
            Self::Offline => "offline",
        }
    }
}

/// A SHA-256 digest in lower-case hex, sent as a one-element array as Pinterest asks. Kept inline: one per
/// hashed field (up to twelve per event) would otherwise be as many allocations.
#[derive(Clone, PartialEq, Eq)]
pub struct Hashed([u8; 64]);

impl Hashed {
    /// The lower-case hex of a SHA-256 digest. Written into the 64 bytes kept inline: `hex::encode` goes through
    /// a `char` iterator and cost as much as the hash itself.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 64];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        Self(hex)
    }

    /// `hex` must be 64 lower-case hex digits; anything else is `None`.
    pub fn from_hex(hex: [u8; 64]) -> Option<Self> {
        hex.iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            .then_some(Self(hex))
    }

    pub fn as_str(&self) -> &str {
        // Checked at construction: only ASCII hex digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for Hashed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hashed({})", self.as_str())
    }
}

impl Serialize for Hashed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [self.as_str()].serialize(serializer)
    }
}

/// One conversion event, ready to be serialised into the request's `data` array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionEvent<'a> {
    pub event_name: &'static str,
    pub action_source: ActionSource,
    pub event_time: i64,
    pub event_id: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source_url: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_brand: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_carrier: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_model: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wifi: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<Text<'a>>,
    pub user_data: UserData<'a>,
    #[serde(skip_serializing_if = "CustomData::is_empty")]
    pub custom_data: CustomData<'a>,
    /// `app_info`'s members, from smart mapping only.
    #[serde(skip_serializing_if = "Members::is_empty")]
    pub app_info: Members<'a>,
    /// `device_info`'s members, from smart mapping only.
    #[serde(skip_serializing_if = "Members::is_empty")]
    pub device_info: Members<'a>,
}

/// `user_data`: hashed identifiers plus the few values Pinterest wants in clear.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub em: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashed_maids: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip_address: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_user_agent: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ph: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ge: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ln: Option<Hashed>,
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub fn_: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ct: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub st: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zp: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click_id: Option<Text<'a>>,
    /// Members that only smart mapping fills (`partner_id`).
    #[serde(flatten)]
    pub extra: Members<'a>,
}

/// `custom_data`: order, value and product details.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CustomData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub content_ids: Vec<Text<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_items: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_string: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out_type: Option<Text<'a>>,
    /// Members that only smart mapping fills (`content_name`, `predicted_ltv`, ...).
    #[serde(flatten)]
    pub extra: Members<'a>,
}

impl CustomData<'_> {
    /// True when no field is set, so the whole object is left out.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One entry of `custom_data.contents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Content<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_price: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_name: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_brand: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_category: Option<Text<'a>>,
}

impl Content<'_> {
    /// True when no field is set (such an entry is not sent).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A value of a member that only smart mapping fills, brought to the schema's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed<'a> {
    Text(Text<'a>),
    Integer(i64),
    List(Vec<Text<'a>>),
}

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Integer(n) => serializer.serialize_i64(*n),
            Self::List(items) => items.serialize(serializer),
        }
    }
}

/// The extra values of one section, serialised as JSON members in target order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members<'a>(pub Vec<(&'static str, Typed<'a>)>);

impl Members<'_> {
    /// True when there is no member.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
