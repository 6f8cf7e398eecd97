//! The field table (docs/mapping.md) as data: each Pinterest field and where it is read from, in order.

use super::targets::Extra;
use crate::event::{Lookup, Path, Value, number_parents};
use crate::normalize::HashedField;
use serde_json_borrow::OwnedValue;
use std::fmt;

/// Every Pinterest field this destination fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    EventName,
    EventId,
    ActionSource,
    EventTime,
    EventSourceUrl,
    OptOut,
    AppId,
    AppName,
    AppVersion,
    DeviceBrand,
    DeviceCarrier,
    DeviceModel,
    DeviceType,
    OsVersion,
    Wifi,
    Language,
    Em,
    Ph,
    Ge,
    Db,
    Ln,
    Fn,
    Ct,
    St,
    Zp,
    Country,
    ExternalId,
    HashedMaids,
    ClientIpAddress,
    ClientUserAgent,
    ClickId,
    OrderId,
    Currency,
    Value,
    ContentIds,
    Contents,
    NumItems,
    SearchString,
    OptOutType,
}

/// One row of the field table.
#[derive(Debug)]
pub struct FieldRow {
    pub field: Field,
    /// The Pinterest field, as written in the smart-mapping document.
    pub name: &'static str,
    /// Source paths in the Commanders Act event; the first one present wins.
    pub sources: &'static [&'static str],
}

const fn row(field: Field, name: &'static str, sources: &'static [&'static str]) -> FieldRow {
    FieldRow {
        field,
        name,
        sources,
    }
}

/// The default table, in `Field` order. Click-id fallbacks (page URL, cookie) and the
/// `action_source` derivation are applied after these sources, in `mapping`.
pub const FIELDS: &[FieldRow] = &[
    row(Field::EventName, "event_name", &["event_name"]),
    row(
        Field::EventId,
        "event_id",
        &["partners.pinterest.event_id", "context.event_id"],
    ),
    row(
        Field::ActionSource,
        "action_source",
        &["partners.pinterest.action_source"],
    ),
    row(Field::EventTime, "event_time", &["context.event_timestamp"]),
    row(
        Field::EventSourceUrl,
        "event_source_url",
        &["context.page.url", "url"],
    ),
    row(Field::OptOut, "opt_out", &["partners.pinterest.opt_out"]),
    row(Field::AppId, "app_id", &["context.app.namespace"]),
    row(Field::AppName, "app_name", &["context.app.name"]),
    row(Field::AppVersion, "app_version", &["context.app.version"]),
    row(
        Field::DeviceBrand,
        "device_brand",
        &["context.device.manufacturer"],
    ),
    row(
        Field::DeviceCarrier,
        "device_carrier",
        &["context.device.network.carrier"],
    ),
    row(
        Field::DeviceModel,
        "device_model",
        &["context.device.model"],
    ),
    row(Field::DeviceType, "device_type", &["context.device.type"]),
    row(
        Field::OsVersion,
        "os_version",
        &["context.device.os.version"],
    ),
    row(Field::Wifi, "wifi", &["context.device.network.wifi"]),
    row(
        Field::Language,
        "language",
        &["context.device.lang", "context.device.language"],
    ),
    row(
        Field::Em,
        "user_data.em",
        &["user.email_sha256", "user.email"],
    ),
    row(Field::Ph, "user_data.ph", &["user.phone"]),
    row(Field::Ge, "user_data.ge", &["user.gender"]),
    row(Field::Db, "user_data.db", &["user.birthdate"]),
    row(Field::Ln, "user_data.ln", &["user.lastname"]),
    row(Field::Fn, "user_data.fn", &["user.firstname"]),
    row(Field::Ct, "user_data.ct", &["user.city"]),
    row(
        Field::St,
        "user_data.st",
        &["user.state_short", "user.state"],
    ),
    row(Field::Zp, "user_data.zp", &["user.zipcode"]),
    row(Field::Country, "user_data.country", &["user.country"]),
    row(Field::ExternalId, "user_data.external_id", &["user.id"]),
    row(
        Field::HashedMaids,
        "user_data.hashed_maids",
        &["context.device.advertising_id"],
    ),
    row(
        Field::ClientIpAddress,
        "user_data.client_ip_address",
        &["context.device.ip"],
    ),
    row(
        Field::ClientUserAgent,
        "user_data.client_user_agent",
        &["context.device.user_agent"],
    ),
    row(
        Field::ClickId,
        "user_data.click_id",
        &["partners.pinterest.click_id"],
    ),
    row(Field::OrderId, "custom_data.order_id", &["id"]),
    row(Field::Currency, "custom_data.currency", &["currency"]),
    row(Field::Value, "custom_data.value", &["value"]),
    row(Field::ContentIds, "custom_data.content_ids", &["items"]),
    row(Field::Contents, "custom_data.contents", &["items"]),
    row(Field::NumItems, "custom_data.num_items", &["items"]),
    row(
        Field::SearchString,
        "custom_data.search_string",
        &["search_term"],
    ),
    row(
        Field::OptOutType,
        "custom_data.opt_out_type",
        &["partners.pinterest.opt_out_type"],
    ),
];

impl Field {
    /// The field's row in [`FIELDS`].
    pub fn row(self) -> &'static FieldRow {
        &FIELDS[self as usize]
    }

    /// The Pinterest name, e.g. `user_data.em`.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// Looks a field up by its Pinterest name.
    pub fn from_name(name: &str) -> Option<Self> {
        FIELDS
            .iter()
            .find(|row| row.name == name)
            .map(|row| row.field)
    }

    /// The hashing rule, for the personal-data fields of `user_data`.
    pub fn hashed(self) -> Option<HashedField> {
        Some(match self {
            Self::Em => HashedField::Em,
            Self::Ph => HashedField::Ph,
            Self::Ge => HashedField::Ge,
            Self::Db => HashedField::Db,
            Self::Ln => HashedField::Ln,
            Self::Fn => HashedField::Fn,
            Self::Ct => HashedField::Ct,
            Self::St => HashedField::St,
            Self::Zp => HashedField::Zp,
            Self::Country => HashedField::Country,
            Self::ExternalId => HashedField::ExternalId,
            Self::HashedMaids => HashedField::HashedMaids,
            _ => return None,
        })
    }
}

/// The `user_data` fields that are normalised and hashed, by their name in `user_data` (`em`, `ph`, ...).
pub fn hashed_user_data_fields() -> impl Iterator<Item = &'static str> {
    FIELDS
        .iter()
        .filter(|row| row.field.hashed().is_some())
        .filter_map(|row| row.name.strip_prefix("user_data."))
}

/// Where a value comes from: a path in the event, or a constant of the smart-mapping document.
#[derive(Debug, Clone)]
pub enum Source {
    Path(Path),
    Const(OwnedValue),
}

impl Source {
    /// The value in the event being read (the constant itself for a constant); `null` counts as absent.
    pub fn lookup<'a>(&'a self, lookup: &mut Lookup<'a>) -> Option<&'a Value<'a>> {
        match self {
            Self::Path(path) => lookup.get(path),
            Self::Const(value) => Some(value.get_value()).filter(|value| !value.is_null()),
        }
    }

    /// Like [`Source::lookup`], without a lookup's memory.
    pub fn get<'a>(&'a self, event: &'a Value<'a>) -> Option<&'a Value<'a>> {
        match self {
            Self::Path(path) => path.get(event),
            Self::Const(value) => Some(value.get_value()).filter(|value| !value.is_null()),
        }
    }

    /// True for a path whose last key ends in `_sha256`: its values must be SHA-256 digests.
    pub fn names_a_digest(&self) -> bool {
        matches!(self, Self::Path(path) if path.names_a_digest())
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => path.fmt(f),
            Self::Const(_) => f.write_str("const"),
        }
    }
}

/// The effective sources of every field: the defaults, with smart-mapping overrides, and the sources of the
/// extra targets that smart mapping fills.
#[derive(Debug, Clone)]
pub struct FieldSources {
    sources: Vec<Vec<Source>>,
    extras: Vec<(&'static Extra, Vec<Source>)>,
    /// How many distinct parent prefixes the paths have (numbered by [`number_parents`]).
    parents: usize,
}

impl Default for FieldSources {
    fn default() -> Self {
        let mut sources = Self {
            sources: FIELDS
                .iter()
                .map(|row| {
                    row.sources
                        .iter()
                        .filter_map(|source| Path::parse(source).ok().map(Source::Path))
                        .collect()
                })
                .collect(),
            extras: Vec::new(),
            parents: 0,
        };
        sources.number_parents();
        sources
    }
}

impl FieldSources {
    /// Re-points a field to `sources`, in order (smart mapping).
    pub fn set(&mut self, field: Field, sources: Vec<Source>) {
        if let Some(slot) = self.sources.get_mut(field as usize) {
            *slot = sources;
        }
        self.number_parents();
    }

    /// Fills an extra target from `sources`, in order (smart mapping); a target set twice keeps the last.
    pub fn set_extra(&mut self, extra: &'static Extra, sources: Vec<Source>) {
        self.extras.retain(|(known, _)| *known != extra);
        self.extras.push((extra, sources));
        self.number_parents();
    }

    fn number_parents(&mut self) {
        let paths = self
            .sources
            .iter_mut()
            .chain(self.extras.iter_mut().map(|(_, sources)| sources))
            .flatten()
            .filter_map(|source| match source {
                Source::Path(path) => Some(path),
                Source::Const(_) => None,
            });
        self.parents = number_parents(paths);
    }

    /// How many distinct parent prefixes the source paths have: the size of a [`crate::event::Lookup`]'s memory.
    pub fn parents(&self) -> usize {
        self.parents
    }

    /// The sources of a field, in order.
    pub fn of(&self, field: Field) -> &[Source] {
        self.sources.get(field as usize).map_or(&[], Vec::as_slice)
    }

    /// The extra targets smart mapping fills, with their sources, in the document's order.
    pub fn extras(&self) -> &[(&'static Extra, Vec<Source>)] {
        &self.extras
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_enum_order_and_every_default_path_parses() {
        for (i, row) in FIELDS.iter().enumerate() {
            assert_eq!(row.field as usize, i, "{} out of order", row.name);
            assert_eq!(Field::from_name(row.name), Some(row.field));
            for source in row.sources {
                assert!(Path::parse(source).is_ok(), "{source}");
            }
        }
        let sources = FieldSources::default();
        assert_eq!(sources.of(Field::Em).len(), 2);
        assert_eq!(sources.of(Field::Em)[0].to_string(), "user.email_sha256");
    }

    #[test]
    fn twelve_fields_are_hashed() {
        assert_eq!(
            FIELDS.iter().filter(|r| r.field.hashed().is_some()).count(),
            12
        );
        assert!(Field::ClientIpAddress.hashed().is_none());
        assert!(Field::ClickId.hashed().is_none());
    }

    #[test]
    fn overrides_replace_the_sources() {
        let mut sources = FieldSources::default();
        sources.set(
            Field::Em,
            vec![Source::Path(Path::parse("user.custom_email").unwrap())],
        );
        assert_eq!(sources.of(Field::Em).len(), 1);
        assert_eq!(sources.of(Field::Em)[0].to_string(), "user.custom_email");
        assert_eq!(Field::from_name("user_data.nope"), None);
    }
}
