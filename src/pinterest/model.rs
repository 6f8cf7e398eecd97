//! Typed request body of `POST /v5/ad_accounts/{id}/events`: only fields of Pinterest's schema, absent values omitted.

use serde::{Serialize, Serializer};

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

    /// True for the two app sources.
    pub fn is_app(self) -> bool {
        matches!(self, Self::AppAndroid | Self::AppIos)
    }
}

/// A SHA-256 digest in lower-case hex, sent as a one-element array as Pinterest asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed(pub String);

impl Serialize for Hashed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        [&self.0].serialize(serializer)
    }
}

/// One conversion event, ready to be serialised into the request's `data` array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionEvent {
    pub event_name: String,
    pub action_source: ActionSource,
    pub event_time: i64,
    pub event_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_carrier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wifi: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub user_data: UserData,
    #[serde(skip_serializing_if = "CustomData::is_empty")]
    pub custom_data: CustomData,
}

/// `user_data`: hashed identifiers plus the few values Pinterest wants in clear.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub em: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashed_maids: Option<Hashed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_user_agent: Option<String>,
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
    pub click_id: Option<String>,
}

/// `custom_data`: order, value and product details.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CustomData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub content_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contents: Vec<Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_items: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out_type: Option<String>,
}

impl CustomData {
    /// True when no field is set, so the whole object is left out.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One entry of `custom_data.contents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Content {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_category: Option<String>,
}

impl Content {
    /// True when no field is set (such an entry is not sent).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
