//! Mapping of one Commanders Act event to one Pinterest conversion event: pure, no I/O, clock injected.

pub mod action_source;
pub mod click_id;
pub mod consent;
pub mod document;
pub mod fields;
pub mod names;
pub mod targets;

use crate::event::{self, Lookup, Path, Unreadable, Value};
use crate::fate::Fate;
use crate::normalize::{self, HashedField, Omitted};
use crate::pinterest::model::{
    ActionSource, Content, ConversionEvent, CustomData, Hashed, Members, Text, UserData,
};
use consent::ConsentGate;
use fields::{Field, FieldSources, Source};
use names::EventNames;
use std::borrow::Cow;
use std::sync::LazyLock;
use targets::Section;

/// Events more than this far in the future are rejected.
pub const MAX_FUTURE_SECS: i64 = 300;
/// Default oldest accepted event: 7 days.
pub const DEFAULT_MAX_EVENT_AGE_SECS: i64 = 7 * 24 * 3600;
/// Default cookie holding the click id.
pub const DEFAULT_CLICK_ID_COOKIE: &str = "_epik";

/// Everything mapping needs, built once at start-up.
#[derive(Debug, Clone)]
pub struct Mapper {
    pub names: EventNames,
    pub sources: FieldSources,
    pub click_id_cookie: String,
    pub max_event_age_secs: i64,
    /// The consent gate (`PINTEREST_CONSENT_CATEGORIES`); `None`: every event passes.
    pub consent: Option<ConsentGate>,
    /// Keep each hashed field's value before hashing in [`Mapping::explained`] (the CLI's `map --explain`: a
    /// local debugging aid that shows personal data, never set in the function).
    pub explain: bool,
}

impl Default for Mapper {
    fn default() -> Self {
        Self {
            names: EventNames::default(),
            sources: FieldSources::default(),
            click_id_cookie: DEFAULT_CLICK_ID_COOKIE.to_string(),
            max_event_age_secs: DEFAULT_MAX_EVENT_AGE_SECS,
            consent: None,
            explain: false,
        }
    }
}

/// What mapping made of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'a> {
    /// To send; borrows the texts it sends unchanged from the event.
    Mapped(Box<ConversionEvent<'a>>),
    /// Not sent, and why: [`Fate::Skipped`] (no event-name mapping; the reason names the event name),
    /// [`Fate::Filtered`] (the consent gate found none of its categories; the reason says what it found) or
    /// [`Fate::Rejected`] (permanently invalid; the reason names the field(s), never personal data).
    NotSent(Fate),
}

/// The outcome plus what the caller should log or report.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping<'a> {
    pub outcome: Outcome<'a>,
    /// The event's id when it has one (for reporting, even when rejected).
    pub event_id: Option<String>,
    /// Non-fatal problems (values ignored), naming the field and reason only.
    pub warnings: Vec<String>,
    /// With [`Mapper::explain`]: each hashed field sent, the source it came from and the value hashed.
    pub explained: Vec<Explained>,
}

/// What one hashed field was made of (personal data in clear: for local debugging only).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explained {
    pub field: &'static str,
    pub source: String,
    /// The normalised value that was hashed, or `None` when the source held a digest already.
    pub normalised: Option<String>,
}

/// Item sub-paths, relative to one element of the items array.
struct ItemPaths {
    id: [Path; 2],
    price: [Path; 2],
    quantity: Path,
    name: Path,
    brand: Path,
    category: Path,
}

static ITEM: LazyLock<Option<ItemPaths>> = LazyLock::new(|| {
    let p = |s: &str| Path::parse(s).ok();
    Some(ItemPaths {
        id: [p("id")?, p("product.id")?],
        price: [p("product.price")?, p("price")?],
        quantity: p("quantity")?,
        name: p("product.name")?,
        brand: p("product.brand")?,
        category: p("product.category_1")?,
    })
});

/// Where an app says whether the user allows ad tracking (mobile SDKs).
const AD_TRACKING_PATH: &str = "context.device.ad_tracking_enabled";

static AD_TRACKING: LazyLock<Option<Path>> = LazyLock::new(|| Path::parse(AD_TRACKING_PATH).ok());

/// The extra targets' values of one event, with their section.
#[derive(Default)]
struct Extras<'a>(Vec<(Section, &'static str, crate::pinterest::model::Typed<'a>)>);

impl<'a> Extras<'a> {
    /// The members of one section, in the document's order.
    fn take(&mut self, section: Section) -> Members<'a> {
        let (taken, kept) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|(of, _, _)| *of == section);
        self.0 = kept;
        Members(
            taken
                .into_iter()
                .map(|(_, key, value)| (key, value))
                .collect(),
        )
    }
}

static COOKIE_PATHS: LazyLock<Vec<Path>> = LazyLock::new(|| {
    ["context.device.cookie", "context.cookie"]
        .iter()
        .filter_map(|p| Path::parse(p).ok())
        .collect()
});

/// Reads fields of one event, collecting warnings and rejection reasons as it goes.
struct Reader<'a> {
    mapper: &'a Mapper,
    event: &'a Value<'a>,
    lookup: Lookup<'a>,
    warnings: Vec<String>,
    errors: Vec<String>,
    explained: Vec<Explained>,
}

impl<'a> Reader<'a> {
    /// The first source of `field` that `read` accepts; unreadable values are warned about and skipped.
    fn first<T>(
        &mut self,
        field: Field,
        read: impl Fn(&'a Value<'a>) -> Result<Option<T>, Unreadable>,
    ) -> Option<T> {
        self.first_at(field, |value, _| read(value))
    }

    /// Like [`Reader::first`], with `read` also told the source it reads.
    fn first_at<T>(
        &mut self,
        field: Field,
        read: impl Fn(&'a Value<'a>, &'a Source) -> Result<Option<T>, Unreadable>,
    ) -> Option<T> {
        self.first_of(field.name(), self.mapper.sources.of(field), read)
    }

    /// The first of `sources` that `read` accepts, for the target `name`.
    fn first_of<T>(
        &mut self,
        name: &'static str,
        sources: &'a [Source],
        read: impl Fn(&'a Value<'a>, &'a Source) -> Result<Option<T>, Unreadable>,
    ) -> Option<T> {
        for source in sources {
            // A blank string counts as absent, whatever the field's type.
            if let Some(value) = source
                .lookup(&mut self.lookup)
                .filter(|value| !event::is_blank(value))
            {
                match read(value, source) {
                    Ok(Some(found)) => return Some(found),
                    Ok(None) => {}
                    Err(why) => self.warn(name, source, &why.to_string()),
                }
            }
        }
        None
    }

    /// The first readable text of `field`, without warnings: for reporting an event already read.
    fn text_quietly(&mut self, field: Field) -> Option<Text<'a>> {
        let mapper = self.mapper;
        mapper.sources.of(field).iter().find_map(|source| {
            event::text_ref(source.lookup(&mut self.lookup)?)
                .ok()
                .flatten()
        })
    }

    fn warn(&mut self, name: &str, source: &Source, why: &str) {
        self.warnings
            .push(format!("{name} ({source}): {why}; ignored"));
    }

    fn text(&mut self, field: Field) -> Option<Text<'a>> {
        self.first(field, event::text_ref)
    }

    fn boolean(&mut self, field: Field) -> Option<bool> {
        self.first(field, |v| event::boolean(v).map(Some))
    }

    /// A `user_data` field, normalised and hashed from its first source that gives a hash; invalid values are
    /// warned about and the next source is tried (`user.state_short` `Calif.`, then `user.state`). A source named
    /// `*_sha256` must hold a digest: anything else there is not hashed again but skipped the same way, except
    /// an e-mail address, which is hashed as clear text wherever it comes from.
    fn hashed(&mut self, field: Field, rule: HashedField, country: Option<&str>) -> Option<Hashed> {
        let (hashed, source, raw) = self.first_at(field, |value, source| {
            let Some(mut raw) = event::text_ref(value)? else {
                return Ok(None);
            };
            if rule == HashedField::Zp && matches!(value, Value::Number(_)) {
                raw = normalize::zip_from_number(raw, country);
            }
            if rule != HashedField::Em && source.names_a_digest() && !normalize::is_sha256_hex(&raw)
            {
                return Err(Unreadable::Invalid(
                    "not a SHA-256 digest (64 hex characters)",
                ));
            }
            match normalize::hash(rule, &raw, country) {
                Ok(hashed) => Ok(Some((hashed, source, raw))),
                Err(Omitted::Empty) => Ok(None),
                Err(Omitted::Invalid(why)) => Err(Unreadable::Invalid(why)),
            }
        })?;
        if self.mapper.explain {
            self.explained.push(Explained {
                field: field.name(),
                source: source.to_string(),
                normalised: (!normalize::is_sha256_hex(raw.trim()))
                    .then(|| normalize::normalize(rule, &raw, country).ok())
                    .flatten(),
            });
        }
        Some(hashed)
    }
}

impl Mapper {
    /// Maps one event. `now` is Unix seconds, injected so that mapping is reproducible.
    pub fn map<'a>(&'a self, event: &'a Value<'a>, now: i64) -> Mapping<'a> {
        let mut reader = Reader {
            mapper: self,
            event,
            lookup: Lookup::new(event, self.sources.parents()),
            warnings: Vec::new(),
            errors: Vec::new(),
            explained: Vec::new(),
        };
        let outcome = if event.is_object() {
            self.map_object(&mut reader, now)
        } else {
            Err(Outcome::NotSent(Fate::Rejected(format!(
                "event: expected a JSON object, got {}",
                event::kind(event)
            ))))
        };
        let event_id = match &outcome {
            Ok(mapped) => Some(mapped.event_id.to_string()),
            Err(_) if event.is_object() => reader.text_quietly(Field::EventId).map(Cow::into_owned),
            Err(_) => None,
        };
        Mapping {
            outcome: outcome.map_or_else(|o| o, |e| Outcome::Mapped(Box::new(e))),
            event_id,
            warnings: reader.warnings,
            explained: reader.explained,
        }
    }

    fn map_object<'a>(
        &self,
        r: &mut Reader<'a>,
        now: i64,
    ) -> Result<ConversionEvent<'a>, Outcome<'a>> {
        let Some(name) = r.text(Field::EventName) else {
            return Err(Outcome::NotSent(Fate::Rejected(format!(
                "event_name: {}",
                self.why_absent(r.event, Field::EventName)
            ))));
        };
        let Some(event_name) = self.names.resolve(&name) else {
            return Err(Outcome::NotSent(Fate::Skipped(unmapped_reason(&name))));
        };
        if let Some(gate) = &self.consent {
            gate.check(r.event)
                .map_err(|reason| Outcome::NotSent(Fate::Filtered(reason)))?;
        }

        let event_id = r.text(Field::EventId);
        if event_id.is_none() {
            r.errors.push(format!(
                "event_id: {}; Pinterest needs it to deduplicate",
                self.why_absent(r.event, Field::EventId)
            ));
        }
        let event_time = self.event_time(r, now);
        let action_source = self.action_source(r);
        let opt_out = self.opt_out(r, action_source);
        let user_data = self.user_data(r);
        if user_data.em.is_none()
            && user_data.hashed_maids.is_none()
            && (user_data.client_ip_address.is_none() || user_data.client_user_agent.is_none())
        {
            r.errors.push(format!(
                "user_data: no identity; needs user_data.em (from {}), or user_data.hashed_maids (from {}), \
                 or both user_data.client_ip_address (from {}) and user_data.client_user_agent (from {})",
                list(self.sources.of(Field::Em)),
                list(self.sources.of(Field::HashedMaids)),
                list(self.sources.of(Field::ClientIpAddress)),
                list(self.sources.of(Field::ClientUserAgent)),
            ));
        }

        let (Some(event_id), Some(event_time), Some(action_source)) =
            (event_id, event_time, action_source)
        else {
            return Err(Outcome::NotSent(Fate::Rejected(r.errors.join("; "))));
        };
        if !r.errors.is_empty() {
            return Err(Outcome::NotSent(Fate::Rejected(r.errors.join("; "))));
        }

        let mut extras = self.extras(r);
        let mut user_data = user_data;
        user_data.extra = extras.take(Section::UserData);
        let mut custom_data = self.custom_data(r);
        custom_data.extra = extras.take(Section::CustomData);
        Ok(ConversionEvent {
            event_name,
            action_source,
            event_time,
            event_id,
            event_source_url: r.text(Field::EventSourceUrl),
            opt_out,
            app_id: r.text(Field::AppId),
            app_name: r.text(Field::AppName),
            app_version: r.text(Field::AppVersion),
            device_brand: r.text(Field::DeviceBrand),
            device_carrier: r.text(Field::DeviceCarrier),
            device_model: r.text(Field::DeviceModel),
            device_type: r.text(Field::DeviceType),
            os_version: r.text(Field::OsVersion),
            wifi: r.boolean(Field::Wifi),
            language: r.first(Field::Language, |v| {
                event::text_ref(v)?.map(|t| language(&t)).transpose()
            }),
            user_data,
            custom_data,
            app_info: extras.take(Section::AppInfo),
            device_info: extras.take(Section::DeviceInfo),
        })
    }

    /// `opt_out` as given, else, for app events, the opposite of `context.device.ad_tracking_enabled` (a user who
    /// limited ad tracking has opted out of ads personalisation).
    fn opt_out(&self, r: &mut Reader<'_>, action_source: Option<ActionSource>) -> Option<bool> {
        r.boolean(Field::OptOut).or_else(|| {
            if !matches!(
                action_source,
                Some(ActionSource::AppAndroid | ActionSource::AppIos)
            ) {
                return None;
            }
            let value = AD_TRACKING
                .as_ref()?
                .get(r.event)
                .filter(|value| !event::is_blank(value))?;
            match event::boolean(value) {
                Ok(enabled) => Some(!enabled),
                Err(why) => {
                    r.warnings
                        .push(format!("opt_out ({AD_TRACKING_PATH}): {why}; ignored"));
                    None
                }
            }
        })
    }

    /// The values of the extra targets smart mapping fills, brought to their types, by section.
    fn extras<'a>(&self, r: &mut Reader<'a>) -> Extras<'a> {
        let mut extras = Extras::default();
        let mapper = r.mapper;
        for (extra, sources) in mapper.sources.extras() {
            let kind = extra.kind;
            if let Some(value) = r.first_of(extra.name, sources, |value, _| kind.read(value)) {
                extras.0.push((extra.section, extra.key(), value));
            }
        }
        extras
    }

    /// Why a required text field has no value: present with a type no text comes from (an object, an array,
    /// a boolean), or missing.
    fn why_absent(&self, event: &Value<'_>, field: Field) -> String {
        let sources = self.sources.of(field);
        let unreadable = sources
            .iter()
            .find_map(|path| match event::text_ref(path.get(event)?) {
                Err(Unreadable::WrongType(_)) => Some(format!("not a string or a number ({path})")),
                Err(why) => Some(format!("{why} ({path})")),
                Ok(_) => None,
            });
        unreadable.unwrap_or_else(|| format!("missing (looked at {})", list(sources)))
    }

    /// `event_time` in seconds; absent or blank → `now`; too far in the future or too old → an error.
    fn event_time(&self, r: &mut Reader<'_>, now: i64) -> Option<i64> {
        let mut unreadable = None;
        let mapper = r.mapper;
        for path in mapper.sources.of(Field::EventTime) {
            if let Some(value) = path
                .lookup(&mut r.lookup)
                .filter(|value| !event::is_blank(value))
            {
                match event::timestamp(value) {
                    Ok(t) => return self.check_time(r, path, t, now),
                    Err(why) => unreadable = Some(format!("event_time ({path}): {why}")),
                }
            }
        }
        match unreadable {
            Some(error) => {
                r.errors.push(error);
                None
            }
            None => Some(now),
        }
    }

    fn check_time(&self, r: &mut Reader<'_>, path: &Source, t: i64, now: i64) -> Option<i64> {
        if t > now.saturating_add(MAX_FUTURE_SECS) {
            r.errors.push(format!(
                "event_time ({path}): {}s in the future (more than {MAX_FUTURE_SECS}s ahead of now)",
                t.saturating_sub(now)
            ));
            None
        } else if t < now.saturating_sub(self.max_event_age_secs) {
            r.errors.push(format!(
                "event_time ({path}): older than the oldest accepted age of {}s",
                self.max_event_age_secs
            ));
            None
        } else {
            Some(t)
        }
    }

    /// Explicit `action_source` (an invalid one, of any JSON type, rejects the event; a blank one counts as
    /// absent), else derived.
    fn action_source(&self, r: &mut Reader<'_>) -> Option<ActionSource> {
        let mapper = r.mapper;
        for path in mapper.sources.of(Field::ActionSource) {
            let Some(value) = path.lookup(&mut r.lookup) else {
                continue;
            };
            let parsed = match event::text_ref(value) {
                Ok(None) => continue,
                Ok(Some(raw)) => ActionSource::parse(&raw),
                Err(_) => None,
            };
            if parsed.is_none() {
                r.errors.push(format!(
                    "action_source ({path}): not one of app_android, app_ios, web, offline"
                ));
            }
            return parsed;
        }
        let (derived, unknown_app_os) = action_source::derive(r.event);
        if unknown_app_os {
            r.warnings
                .push("action_source: app context without a recognisable Android or iOS system; sent as web".into());
        }
        Some(derived)
    }

    fn user_data<'a>(&self, r: &mut Reader<'a>) -> UserData<'a> {
        let country = r
            .first(Field::Country, event::text_ref)
            .and_then(|raw| normalize::normalize(HashedField::Country, &raw, None).ok());
        let country = country.as_deref();
        let mut hashed = |field: Field| {
            let rule = field.hashed()?;
            r.hashed(field, rule, country)
        };
        UserData {
            em: hashed(Field::Em),
            hashed_maids: hashed(Field::HashedMaids),
            ph: hashed(Field::Ph),
            ge: hashed(Field::Ge),
            db: hashed(Field::Db),
            ln: hashed(Field::Ln),
            fn_: hashed(Field::Fn),
            ct: hashed(Field::Ct),
            st: hashed(Field::St),
            zp: hashed(Field::Zp),
            country: hashed(Field::Country),
            external_id: hashed(Field::ExternalId),
            client_ip_address: r.text(Field::ClientIpAddress),
            client_user_agent: r.text(Field::ClientUserAgent),
            click_id: self.click_id(r),
            extra: Members::default(),
        }
    }

    /// Explicit click id → `epik` parameter of the page URL → the configured cookie.
    fn click_id<'a>(&self, r: &mut Reader<'a>) -> Option<Text<'a>> {
        r.text(Field::ClickId)
            .or_else(|| {
                r.text_quietly(Field::EventSourceUrl)
                    .and_then(|url| click_id::from_url(&url))
                    .map(Cow::Owned)
            })
            .or_else(|| {
                first_string(r.event, &COOKIE_PATHS)
                    .and_then(|header| click_id::from_cookies(header, &self.click_id_cookie))
                    .map(Cow::Owned)
            })
    }

    fn custom_data<'a>(&self, r: &mut Reader<'a>) -> CustomData<'a> {
        let items = |r: &mut Reader<'a>, field: Field| -> &'a [Value<'a>] {
            r.first(field, |v| match v {
                Value::Array(items) => Ok(Some(items.as_slice())),
                _ => Err(Unreadable::WrongType("an array of items")),
            })
            .unwrap_or_default()
        };
        let content_ids = items(r, Field::ContentIds)
            .iter()
            .filter_map(item_id)
            .collect();
        let contents = items(r, Field::Contents)
            .iter()
            .map(|item| content(r, item))
            .filter(|c| !c.is_empty())
            .collect();
        let num_items = r.first(Field::NumItems, |v| match v {
            Value::Array(items) => Ok((!items.is_empty()).then_some(items.len() as i64)),
            other => event::integer(other).map(Some),
        });
        CustomData {
            currency: r.first(Field::Currency, |v| {
                event::text_ref(v)?.map(|t| currency(&t)).transpose()
            }),
            value: r.first(Field::Value, |v| event::decimal(v).map(|d| Some(d.into()))),
            content_ids,
            contents,
            num_items,
            order_id: r.text(Field::OrderId),
            search_string: r.text(Field::SearchString),
            opt_out_type: r.text(Field::OptOutType),
            extra: Members::default(),
        }
    }
}

/// Whether a smart-mapping constant can fill `field`: read as an event's value would be, it must give a value.
pub(crate) fn check_constant(field: Field, value: &Value<'_>) -> Result<(), String> {
    let text = || {
        event::text_ref(value)
            .map_err(|why| why.to_string())?
            .ok_or_else(|| "empty".to_string())
    };
    match field {
        Field::ActionSource => ActionSource::parse(&text()?)
            .map(drop)
            .ok_or_else(|| "not one of app_android, app_ios, web, offline".to_string()),
        Field::EventTime => event::timestamp(value)
            .map(drop)
            .map_err(|why| why.to_string()),
        Field::OptOut | Field::Wifi => event::boolean(value)
            .map(drop)
            .map_err(|why| why.to_string()),
        Field::Language => language(&text()?).map(drop).map_err(|why| why.to_string()),
        Field::Currency => currency(&text()?).map(drop).map_err(|why| why.to_string()),
        Field::Value => event::decimal(value)
            .map(drop)
            .map_err(|why| why.to_string()),
        Field::ContentIds | Field::Contents => match value {
            Value::Array(items) if !items.is_empty() => Ok(()),
            _ => Err("expected a non-empty array of items".to_string()),
        },
        Field::NumItems => match value {
            Value::Array(items) if !items.is_empty() => Ok(()),
            other => event::integer(other)
                .map(drop)
                .map_err(|why| why.to_string()),
        },
        field => {
            match field.hashed() {
                Some(rule) => normalize::hash(rule, &text()?, None)
                    .map(drop)
                    .map_err(|why| match why {
                        Omitted::Empty => "empty once normalised".to_string(),
                        Omitted::Invalid(why) => why.to_string(),
                    }),
                None => text().map(drop),
            }
        }
    }
}

/// The id of an item (`id`, else `product.id`); a scalar element is its own id.
fn item_id<'a>(item: &'a Value<'a>) -> Option<Text<'a>> {
    match item {
        Value::Object(_) => ITEM
            .as_ref()?
            .id
            .iter()
            .find_map(|p| p.get(item).and_then(|v| event::text_ref(v).ok().flatten())),
        scalar => event::text_ref(scalar).ok().flatten(),
    }
}

/// One `contents[]` entry from one item; unreadable values are warned about and left out.
fn content<'a>(r: &mut Reader<'_>, item: &'a Value<'a>) -> Content<'a> {
    let Some(paths) = ITEM.as_ref() else {
        return Content::default();
    };
    if !item.is_object() {
        return Content {
            id: item_id(item),
            ..Content::default()
        };
    }
    let warn = |r: &mut Reader<'_>, what: &str, why: Unreadable| {
        r.warnings
            .push(format!("custom_data.contents ({what}): {why}; ignored"));
    };
    let text = |p: &Path| p.get(item).and_then(|v| event::text_ref(v).ok().flatten());
    let item_price = paths.price.iter().find_map(|p| {
        let value = p.get(item).filter(|value| !event::is_blank(value))?;
        event::decimal(value)
            .map(Cow::Owned)
            .map_err(|why| warn(r, "item price", why))
            .ok()
    });
    let quantity = paths
        .quantity
        .get(item)
        .filter(|value| !event::is_blank(value))
        .and_then(|value| {
            event::integer(value)
                .map_err(|why| warn(r, "item quantity", why))
                .ok()
        });
    Content {
        id: item_id(item),
        item_price,
        quantity,
        item_name: text(&paths.name),
        item_brand: text(&paths.brand),
        item_category: text(&paths.category),
    }
}

/// Why an event is skipped. The name is quoted only when it looks like an event name (it is logged, and a
/// free-text value could hold personal data).
fn unmapped_reason(name: &str) -> String {
    let identifier = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b' '));
    if identifier {
        format!("event_name '{name}' has no Pinterest mapping")
    } else {
        "event_name has no Pinterest mapping (the name is not shown: it is not an identifier of at most 64 characters)"
            .to_string()
    }
}

/// ISO-639-1: the two letters before any region (`fr-FR` → `fr`).
fn language<'a>(raw: &str) -> Result<Text<'a>, Unreadable> {
    let primary = raw
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    // Java's and Android's `Locale` still give the withdrawn codes of Hebrew, Indonesian and Yiddish.
    let primary = match primary.as_str() {
        "iw" => "he",
        "in" => "id",
        "ji" => "yi",
        code => code,
    };
    ISO_639_1
        .binary_search(&primary)
        .ok()
        .and_then(|found| ISO_639_1.get(found))
        .map(|&code| Text::Borrowed(code))
        .ok_or(Unreadable::Invalid(
            "not an ISO-639-1 language code such as fr or fr-FR",
        ))
}

/// The 183 ISO-639-1 language codes, sorted.
const ISO_639_1: [&str; 183] = [
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bi",
    "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de",
    "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy",
    "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia",
    "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk",
    "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo",
    "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd",
    "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl",
    "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk", "sl",
    "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti", "tk",
    "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo", "wa",
    "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// ISO-4217: three letters, upper case.
fn currency<'a>(raw: &str) -> Result<Text<'a>, Unreadable> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(raw.to_ascii_uppercase().into())
    } else {
        Err(Unreadable::Invalid(
            "not an ISO-4217 currency code such as EUR",
        ))
    }
}

/// The first non-blank string at `paths`: the event's one cookie header.
fn first_string<'a>(event: &'a Value<'a>, paths: &[Path]) -> Option<&'a str> {
    paths
        .iter()
        .filter_map(|path| path.get(event)?.as_str())
        .find(|text| !text.trim().is_empty())
}

fn list(paths: &[Source]) -> String {
    paths
        .iter()
        .map(Source::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
