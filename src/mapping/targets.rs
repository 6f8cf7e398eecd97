//! The fields of Pinterest's request schema beyond the field table that smart mapping may fill, with the type
//! each value is brought to (the integration test `schema_targets` checks this list against the schema).

use crate::event::{self, Unreadable, Value};
use crate::pinterest::model::{Text, Typed};

/// The JSON type a target's value is brought to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string of at most this many characters (`None`: no limit).
    Text(Option<usize>),
    /// A decimal number, sent as a string holding the decimal as given.
    Decimal,
    /// A whole number from `min` to `max`.
    Integer { min: i64, max: i64 },
    /// One of these strings (matched trimmed and in any case, sent as written here).
    OneOf(&'static [&'static str]),
    /// An array of at most this many strings; one string is a list of one.
    TextList(usize),
}

/// Which object of the event a target belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    CustomData,
    UserData,
    AppInfo,
    DeviceInfo,
}

/// A target of smart mapping that the field table does not fill by default.
#[derive(Debug, PartialEq, Eq)]
pub struct Extra {
    /// The name as written in the smart-mapping document, e.g. `device_info.form_factor`.
    pub name: &'static str,
    pub section: Section,
    pub kind: Kind,
}

impl Extra {
    /// The key inside its section (`form_factor`).
    pub fn key(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(_, key)| key)
    }
}

const fn extra(name: &'static str, section: Section, kind: Kind) -> Extra {
    Extra {
        name,
        section,
        kind,
    }
}

const TEXT: Kind = Kind::Text(None);
const fn text(max: usize) -> Kind {
    Kind::Text(Some(max))
}
const fn int(min: i64, max: i64) -> Kind {
    Kind::Integer { min, max }
}
use Section::{AppInfo, CustomData, DeviceInfo, UserData};

/// Every extra target, as Pinterest's request schema types it.
pub const EXTRAS: &[Extra] = &[
    extra("custom_data.content_name", CustomData, TEXT),
    extra("custom_data.content_category", CustomData, TEXT),
    extra("custom_data.content_brand", CustomData, TEXT),
    extra("custom_data.predicted_ltv", CustomData, Kind::Decimal),
    extra("custom_data.external_measurement_id", CustomData, TEXT),
    extra(
        "custom_data.external_measurement_vendor_id",
        CustomData,
        int(i64::MIN, i64::MAX),
    ),
    extra("user_data.partner_id", UserData, TEXT),
    extra("app_info.app_id", AppInfo, text(200)),
    extra("app_info.app_name", AppInfo, text(200)),
    extra("app_info.app_package_name", AppInfo, text(200)),
    extra("app_info.app_store", AppInfo, text(100)),
    extra("app_info.app_version", AppInfo, text(100)),
    extra("app_info.install_time", AppInfo, int(0, i64::MAX)),
    extra("app_info.user_agent", AppInfo, text(16384)),
    extra("app_info.window_height", AppInfo, int(0, 30720)),
    extra("app_info.window_width", AppInfo, int(0, 30720)),
    extra("device_info.battery_level", DeviceInfo, int(0, 100)),
    extra("device_info.brand", DeviceInfo, text(100)),
    extra("device_info.carrier", DeviceInfo, text(100)),
    extra("device_info.cpu_cores", DeviceInfo, int(0, 1152)),
    extra(
        "device_info.external_storage_free_space",
        DeviceInfo,
        int(0, 1_048_576),
    ),
    extra(
        "device_info.external_storage_size",
        DeviceInfo,
        int(0, 1_048_576),
    ),
    extra(
        "device_info.form_factor",
        DeviceInfo,
        Kind::OneOf(&[
            "desktop",
            "laptop",
            "cellphone",
            "tablet",
            "smartwatch",
            "tv",
            "vr",
            "console",
            "other",
        ]),
    ),
    extra("device_info.kernel_version", DeviceInfo, text(100)),
    extra("device_info.languages", DeviceInfo, Kind::TextList(100)),
    extra("device_info.locale", DeviceInfo, text(35)),
    extra("device_info.model", DeviceInfo, text(100)),
    extra(
        "device_info.network_type",
        DeviceInfo,
        Kind::OneOf(&[
            "wifi",
            "cellular_2g",
            "cellular_3g",
            "cellular_4g",
            "cellular_5g",
            "cellular_6g",
            "ethernet",
            "unknown",
        ]),
    ),
    extra(
        "device_info.os_family",
        DeviceInfo,
        Kind::OneOf(&[
            "ios", "android", "macos", "windows", "linux", "bsd", "other",
        ]),
    ),
    extra("device_info.os_name", DeviceInfo, text(100)),
    extra("device_info.os_release_name", DeviceInfo, text(100)),
    extra("device_info.os_version", DeviceInfo, text(100)),
    extra("device_info.screen_density", DeviceInfo, int(0, 100_000)),
    extra("device_info.screen_height", DeviceInfo, int(0, 30720)),
    extra("device_info.screen_width", DeviceInfo, int(0, 30720)),
    extra(
        "device_info.storage_free_space",
        DeviceInfo,
        int(0, 1_048_576),
    ),
    extra("device_info.storage_size", DeviceInfo, int(0, 1_048_576)),
    extra("device_info.timezone", DeviceInfo, text(40)),
    extra("device_info.timezone_abbr", DeviceInfo, text(5)),
    extra("device_info.type", DeviceInfo, text(100)),
];

/// Fields of the schema that Pinterest assigns itself: never a target.
pub const CLOSED: &[&str] = &["partner_name", "custom_data.np"];

/// The extra target of this name.
pub fn extra_named(name: &str) -> Option<&'static Extra> {
    EXTRAS.iter().find(|extra| extra.name == name)
}

impl Kind {
    /// Brings `value` to this type; `Ok(None)` when it holds nothing (a blank string, an empty list).
    pub fn read<'a>(self, value: &'a Value<'a>) -> Result<Option<Typed<'a>>, Unreadable> {
        Ok(Some(match self {
            Self::Text(max) => {
                let Some(text) = event::text_ref(value)? else {
                    return Ok(None);
                };
                if max.is_some_and(|max| text.chars().nth(max).is_some()) {
                    return Err(Unreadable::Invalid("longer than Pinterest accepts"));
                }
                Typed::Text(text)
            }
            Self::Decimal => Typed::Text(Text::Owned(event::decimal(value)?)),
            Self::Integer { min, max } => {
                let n = event::integer(value)?;
                if n < min || n > max {
                    return Err(Unreadable::Invalid("out of the range Pinterest accepts"));
                }
                Typed::Integer(n)
            }
            Self::OneOf(allowed) => {
                let Some(text) = event::text_ref(value)? else {
                    return Ok(None);
                };
                let found = allowed
                    .iter()
                    .find(|name| name.eq_ignore_ascii_case(text.trim()))
                    .ok_or(Unreadable::Invalid(
                        "not one of the values Pinterest accepts",
                    ))?;
                Typed::Text(Text::Borrowed(found))
            }
            Self::TextList(max) => {
                let items = match value {
                    Value::Array(items) => items
                        .iter()
                        .filter(|item| !event::is_blank(item))
                        .map(|item| event::text_ref(item)?.ok_or(Unreadable::WrongType("strings")))
                        .collect::<Result<Vec<_>, _>>()?,
                    one => event::text_ref(one)?.into_iter().collect(),
                };
                if items.len() > max {
                    return Err(Unreadable::Invalid("more items than Pinterest accepts"));
                }
                if items.is_empty() {
                    return Ok(None);
                }
                Typed::List(items)
            }
        }))
    }
}
