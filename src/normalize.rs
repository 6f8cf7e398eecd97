//! Normalisation and SHA-256 hashing of personal data, one rule per field.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;

use crate::pinterest::model::Hashed;

mod phone;

/// The `user_data` fields that are normalised and hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashedField {
    Em,
    Ph,
    Ge,
    Db,
    Fn,
    Ln,
    Ct,
    St,
    Zp,
    Country,
    ExternalId,
    HashedMaids,
}

/// Why a value produced no hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Omitted {
    /// Nothing left after normalisation (blank input): omitted silently.
    Empty,
    /// Malformed input (e.g. an unparseable date); the reason never contains the value.
    Invalid(&'static str),
}

/// A rule: takes the trimmed, non-blank value and the user's country; returns the normalised
/// value or a static reason (never containing the value).
type Rule = fn(&str, Option<&str>) -> Result<String, &'static str>;

/// Normalises `raw` for `field`; `country` is the user's ISO-3166 alpha-2 code in lower case, when known.
///
/// Blank input gives [`Omitted::Empty`], malformed input [`Omitted::Invalid`]. This is the
/// value that [`hash`] hashes; it does not recognise already-hashed values (see [`hash`]).
///
/// Text is put in Unicode NFC first, so that a name typed with decomposed accents (`e` + U+0301)
/// hashes as the same name typed with composed ones (`é`). `external_id` is the exception: an
/// identifier is hashed byte for byte as the advertiser has it.
pub fn normalize(field: HashedField, raw: &str, country: Option<&str>) -> Result<String, Omitted> {
    let value = crate::event::trim(raw);
    if value.is_empty() {
        return Err(Omitted::Empty);
    }
    let value: Cow<'_, str> = if value.is_ascii() || field == HashedField::ExternalId {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.nfc().collect())
    };
    let rule: Rule = match field {
        HashedField::Em | HashedField::Fn | HashedField::Ln | HashedField::HashedMaids => lower,
        HashedField::ExternalId => as_is,
        HashedField::Ph => phone::phone,
        HashedField::Ge => gender,
        HashedField::Db => birth_date,
        HashedField::Ct => city,
        HashedField::St => state,
        HashedField::Zp => zip,
        HashedField::Country => country_code,
    };
    match rule(&value, country) {
        Ok(normalised) if normalised.is_empty() => {
            Err(Omitted::Invalid("nothing left after normalisation"))
        }
        Ok(normalised) => Ok(normalised),
        Err(reason) => Err(Omitted::Invalid(reason)),
    }
}

/// Pre-hashed values pass through lower-cased; others are normalised then hashed.
///
/// A value that, trimmed, is exactly 64 hex characters is taken as an already computed
/// SHA-256 (for every field) and is never hashed twice.
pub fn hash(field: HashedField, raw: &str, country: Option<&str>) -> Result<Hashed, Omitted> {
    if let Ok(mut hex) = <[u8; 64]>::try_from(crate::event::trim(raw).as_bytes()) {
        hex.make_ascii_lowercase();
        if let Some(hashed) = Hashed::from_hex(hex) {
            return Ok(hashed);
        }
    }
    Ok(sha256(&normalize(field, raw, country)?))
}

/// SHA-256 of the UTF-8 bytes of `s`.
///
/// `sha2` uses the CPU's SHA instructions when it has them (x86 SHA-NI, ARMv8 SHA2), detected at run time.
fn sha256(s: &str) -> Hashed {
    Hashed::from_digest(Sha256::digest(s.as_bytes()).into())
}

/// True when `s` is exactly 64 hex digits (either case), i.e. looks like a SHA-256 digest.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---------------------------------------------------------------------------------------------
// The rules, one small pure function each. Each receives a trimmed, non-blank value.
// ---------------------------------------------------------------------------------------------

/// `em`, `fn`, `ln`, `hashed_maids`: trimmed, Unicode lower-case.
fn lower(value: &str, _country: Option<&str>) -> Result<String, &'static str> {
    Ok(value.to_lowercase())
}

/// `external_id`: trimmed, case kept.
fn as_is(value: &str, _country: Option<&str>) -> Result<String, &'static str> {
    Ok(value.to_owned())
}

/// `ge`: `m`, `f` or `n`, from common English and French words (case-insensitive).
fn gender(value: &str, _country: Option<&str>) -> Result<String, &'static str> {
    let code = match value.to_lowercase().as_str() {
        "m" | "male" | "man" | "h" | "homme" | "masculin" => "m",
        "f" | "female" | "woman" | "femme" | "féminin" | "feminin" => "f",
        "n" | "non-binary" | "nonbinary" | "non binary" | "non-binaire" | "x" | "other"
        | "autre" => "n",
        _ => return Err("not a known gender"),
    };
    Ok(code.to_owned())
}

/// `db`: `YYYYMMDD`, from `YYYYMMDD`, `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYY.MM.DD` (month and day
/// may have one digit), optionally followed by `T` or a space and an ISO time with offset, of
/// which the date is taken as written (no time-zone conversion). Day-first or month-first
/// formats are ambiguous and rejected. The date must exist; years outside 1800..=2100 are
/// rejected.
fn birth_date(value: &str, _country: Option<&str>) -> Result<String, &'static str> {
    const FORMAT: &str = "not a recognised date format";
    let (date, time) = match value.find(['T', 't', ' ']) {
        Some(at) => (&value[..at], Some(&value[at + 1..])),
        None => (value, None),
    };
    if let Some(time) = time {
        let plausible = time.starts_with(|c: char| c.is_ascii_digit())
            && time.len() <= 40
            && time
                .bytes()
                .all(|b| b.is_ascii_digit() || b":.,+-Zz".contains(&b));
        if !plausible {
            return Err(FORMAT);
        }
    }
    let (year, month, day) = split_date(date.as_bytes()).ok_or(FORMAT)?;
    if !(1800..=2100).contains(&year) {
        return Err("year out of range");
    }
    // The year is in range: the cast is exact.
    let date = u8::try_from(month)
        .ok()
        .and_then(|month| time::Month::try_from(month).ok())
        .zip(u8::try_from(day).ok())
        .and_then(|(month, day)| time::Date::from_calendar_date(year as i32, month, day).ok())
        .ok_or("not a valid calendar date")?;
    Ok(format!(
        "{year:04}{:02}{:02}",
        u8::from(date.month()),
        date.day()
    ))
}

/// Year, month, day of `YYYYMMDD` or `YYYY<sep>M[M]<sep>D[D]` (`sep` one of `-`, `/`, `.`).
fn split_date(date: &[u8]) -> Option<(u32, u32, u32)> {
    if date.len() == 8 && date.iter().all(u8::is_ascii_digit) {
        return Some((
            number(&date[..4])?,
            number(&date[4..6])?,
            number(&date[6..])?,
        ));
    }
    let (year, rest) = (date.get(..4)?, date.get(4..)?);
    let (&sep, rest) = rest.split_first()?;
    if !matches!(sep, b'-' | b'/' | b'.') {
        return None;
    }
    let mut parts = rest.split(|&b| b == sep);
    let (month, day) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || !(1..=2).contains(&month.len()) || !(1..=2).contains(&day.len()) {
        return None;
    }
    Some((number(year)?, number(month)?, number(day)?))
}

/// The value of a short run of ASCII digits.
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `ct`: lower-case, only Unicode letters and digits kept (`Saint-Étienne` → `saintétienne`, written with a
/// composed or a decomposed `É`: [`normalize`] composes it first).
fn city(value: &str, _country: Option<&str>) -> Result<String, &'static str> {
    let city: String = if value.is_ascii() {
        ascii_lower_kept(value, u8::is_ascii_alphanumeric)
    } else {
        value
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    if city.is_empty() {
        return Err("no letters or digits in city");
    }
    Ok(city)
}

/// `st`: a two-letter code, lower-case. US and Canadian state, province and territory names
/// (English, and French for Canada; case, accents, spaces and punctuation ignored) map to
/// their codes; any other input must be a pair of ASCII letters.
fn state(value: &str, _country: Option<&str>) -> Result<String, &'static str> {
    if let Some(code) = name_key(value).and_then(|key| lookup(STATE_NAMES, &key)) {
        return Ok(code.to_owned());
    }
    if is_letter_pair(value) {
        return Ok(value.to_ascii_lowercase());
    }
    Err("not a state code or known state name")
}

/// Countries whose postal codes are US ZIP codes (the US and its inhabited territories).
const US_ZIP_COUNTRIES: &[&str] = &["as", "gu", "mp", "pr", "us", "vi"];

fn is_us_zip_country(country: &str) -> bool {
    let country = crate::event::trim(country);
    US_ZIP_COUNTRIES
        .iter()
        .any(|code| code.eq_ignore_ascii_case(country))
}
/// Longest postal code accepted, once spaces and dashes are removed.
const ZIP_MAX_LEN: usize = 12;

/// `zp`: lower-case, spaces and dashes removed, only ASCII letters and digits. US ZIP codes
/// (country `us` or a US territory, or with an unknown country a ZIP+4: see
/// [`looks_like_zip_plus_four`]) are cut to their first five digits; a US ZIP must have 5 or 9 digits.
fn zip(value: &str, country: Option<&str>) -> Result<String, &'static str> {
    let compact: String = if value.is_ascii() {
        ascii_lower_kept(value, |&b| !is_zip_separator(char::from(b)))
    } else {
        value
            .to_lowercase()
            .chars()
            .filter(|&c| !is_zip_separator(c))
            .collect()
    };
    if compact.is_empty()
        || compact.len() > ZIP_MAX_LEN
        || !compact.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err("not a postal code");
    }
    let us = match country {
        Some(country) => is_us_zip_country(country),
        None => looks_like_zip_plus_four(value),
    };
    if !us {
        return Ok(compact);
    }
    match compact.get(..5) {
        Some(five)
            if matches!(compact.len(), 5 | 9) && compact.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(five.to_owned())
        }
        _ => Err("not a US ZIP code"),
    }
}

/// A US ZIP code given as a JSON number has lost its leading zeros (`02134` arrives as `2134`): with a US
/// country, 3 or 4 digits are padded to 5, and 7 or 8 to 9 (ZIP+4). Anything else is returned as it is.
pub fn zip_from_number<'a>(digits: Cow<'a, str>, country: Option<&str>) -> Cow<'a, str> {
    let us = country.is_some_and(is_us_zip_country);
    let width = match digits.len() {
        3 | 4 => 5,
        7 | 8 => 9,
        _ => return digits,
    };
    if us && digits.bytes().all(|b| b.is_ascii_digit()) {
        Cow::Owned(format!("{digits:0>width$}"))
    } else {
        digits
    }
}

/// White space and dashes (hyphen, the Unicode dashes, minus sign): dropped from postal codes.
fn is_zip_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// `NNNNNNNNN`, or `NNNNN` and `NNNN` apart (`94025-1234`, `94025 1234`, `94025 – 1234`).
fn looks_like_zip_plus_four(value: &str) -> bool {
    let mut parts = value
        .split(is_zip_separator)
        .filter(|part| !part.is_empty());
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(zip), None, None) => digits(zip, 9),
        (Some(zip), Some(plus_four), None) => digits(zip, 5) && digits(plus_four, 4),
        _ => false,
    }
}

/// `country`: ISO-3166-1 alpha-2, lower-case. Accepts an alpha-2 letter pair (`UK`, reserved
/// for the United Kingdom, becomes `gb`), an alpha-3 code (`USA` → `us`), a few common English
/// and French country names, and dotted abbreviations (`U.S.A.`).
fn country_code(value: &str, _country: Option<&str>) -> Result<String, &'static str> {
    const UNKNOWN: &str = "not a country code or known country name";
    // A plain code, the common case, without the name lookup: no name in the table is as short.
    if is_letter_pair(value) {
        return alpha2(value.to_ascii_lowercase()).ok_or(UNKNOWN);
    }
    let key = name_key(value).ok_or(UNKNOWN)?;
    if let Some(code) = lookup(COUNTRY_NAMES, &key) {
        return Ok(code.to_owned());
    }
    // Codes written with dots or spaces (`U.S.A.`); not accented letters.
    if !value
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == '.' || c == ' ')
    {
        return Err(UNKNOWN);
    }
    match key.len() {
        2 => alpha2(key).ok_or(UNKNOWN),
        3 => lookup(ALPHA3_TO_ALPHA2, &key)
            .map(str::to_owned)
            .ok_or(UNKNOWN),
        _ => Err(UNKNOWN),
    }
}

/// A pair of lower-case letters as an alpha-2 code: `uk` (reserved for the United Kingdom) is `gb`, and a pair
/// that is not an assigned code is `None`.
fn alpha2(pair: String) -> Option<String> {
    if pair == "uk" {
        return Some("gb".to_owned());
    }
    letter_pair_index(&pair)
        .filter(|&index| ALPHA2[index])
        .map(|_| pair)
}

/// Which pairs of lower-case letters (by [`letter_pair_index`]) are ISO-3166 alpha-2 codes (those of
/// [`ALPHA3_TO_ALPHA2`]) or `xk`: Kosovo's user-assigned code, in wide use (EU, banks, app stores) though not in
/// ISO-3166.
static ALPHA2: LazyLock<[bool; 26 * 26]> = LazyLock::new(|| {
    let mut assigned = [false; 26 * 26];
    let codes = ALPHA3_TO_ALPHA2.iter().map(|&(_, alpha2)| alpha2);
    for index in codes.chain(["xk"]).filter_map(letter_pair_index) {
        assigned[index] = true;
    }
    assigned
});

/// The place of a pair of lower-case ASCII letters among the 676 there are; `None` for any other text.
fn letter_pair_index(pair: &str) -> Option<usize> {
    match *pair.as_bytes() {
        [first @ b'a'..=b'z', second @ b'a'..=b'z'] => {
            Some(usize::from(first - b'a') * 26 + usize::from(second - b'a'))
        }
        _ => None,
    }
}

/// True for exactly two ASCII letters.
fn is_letter_pair(value: &str) -> bool {
    value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Longest name looked up in the name tables; longer input is no known name.
const NAME_MAX_LEN: usize = 64;

/// Lookup key of a place name: lower-case, common Latin accents folded, only ASCII letters
/// kept (`Québec` → `quebec`, `Royaume-Uni` → `royaumeuni`). `None` for overlong input.
fn name_key(value: &str) -> Option<String> {
    if value.len() > NAME_MAX_LEN {
        return None;
    }
    if value.is_ascii() {
        return Some(ascii_lower_kept(value, u8::is_ascii_alphabetic));
    }
    let key = value
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .filter(char::is_ascii_alphabetic)
        .collect();
    Some(key)
}

/// The ASCII `value` lower-cased, with only the bytes that `keep` accepts, in one allocation of the right size:
/// what `to_lowercase` then a filter give for ASCII text, without the intermediate string.
fn ascii_lower_kept(value: &str, keep: impl Fn(&u8) -> bool) -> String {
    let mut kept = String::with_capacity(value.len());
    kept.extend(
        value
            .bytes()
            .filter(keep)
            .map(|b| char::from(b.to_ascii_lowercase())),
    );
    kept
}

/// Binary search in a table sorted by key.
fn lookup(table: &'static [(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .and_then(|i| table.get(i))
        .map(|&(_, v)| v)
}

// ---------------------------------------------------------------------------------------------
// Tables, each sorted by key (checked by the tests) and searched by binary search.
// ---------------------------------------------------------------------------------------------

/// US and Canadian state, province and territory names (as [`name_key`] keys) → codes.
#[rustfmt::skip]
const STATE_NAMES: &[(&str, &str)] = &[
    ("alabama", "al"),
    ("alaska", "ak"),
    ("alberta", "ab"),
    ("americansamoa", "as"),
    ("arizona", "az"),
    ("arkansas", "ar"),
    ("britishcolumbia", "bc"),
    ("california", "ca"),
    ("colombiebritannique", "bc"),
    ("colorado", "co"),
    ("connecticut", "ct"),
    ("delaware", "de"),
    ("districtofcolumbia", "dc"),
    ("florida", "fl"),
    ("georgia", "ga"),
    ("guam", "gu"),
    ("hawaii", "hi"),
    ("idaho", "id"),
    ("ileduprinceedouard", "pe"),
    ("illinois", "il"),
    ("indiana", "in"),
    ("iowa", "ia"),
    ("kansas", "ks"),
    ("kentucky", "ky"),
    ("louisiana", "la"),
    ("maine", "me"),
    ("manitoba", "mb"),
    ("maryland", "md"),
    ("massachusetts", "ma"),
    ("michigan", "mi"),
    ("minnesota", "mn"),
    ("mississippi", "ms"),
    ("missouri", "mo"),
    ("montana", "mt"),
    ("nebraska", "ne"),
    ("nevada", "nv"),
    ("newbrunswick", "nb"),
    ("newfoundland", "nl"),
    ("newfoundlandandlabrador", "nl"),
    ("newfoundlandlabrador", "nl"),
    ("newhampshire", "nh"),
    ("newjersey", "nj"),
    ("newmexico", "nm"),
    ("newyork", "ny"),
    ("northcarolina", "nc"),
    ("northdakota", "nd"),
    ("northernmarianaislands", "mp"),
    ("northwestterritories", "nt"),
    ("nouveaubrunswick", "nb"),
    ("nouvelleecosse", "ns"),
    ("novascotia", "ns"),
    ("nunavut", "nu"),
    ("ohio", "oh"),
    ("oklahoma", "ok"),
    ("ontario", "on"),
    ("oregon", "or"),
    ("pennsylvania", "pa"),
    ("princeedwardisland", "pe"),
    ("puertorico", "pr"),
    ("quebec", "qc"),
    ("rhodeisland", "ri"),
    ("saskatchewan", "sk"),
    ("southcarolina", "sc"),
    ("southdakota", "sd"),
    ("tennessee", "tn"),
    ("terreneuveetlabrador", "nl"),
    ("territoiresdunordouest", "nt"),
    ("texas", "tx"),
    ("unitedstatesminoroutlyingislands", "um"),
    ("unitedstatesvirginislands", "vi"),
    ("usvirginislands", "vi"),
    ("utah", "ut"),
    ("vermont", "vt"),
    ("virginia", "va"),
    ("virginislands", "vi"),
    ("washington", "wa"),
    ("washingtondc", "dc"),
    ("westvirginia", "wv"),
    ("wisconsin", "wi"),
    ("wyoming", "wy"),
    ("yukon", "yt"),
    ("yukonterritory", "yt"),
];

/// A few common country names, English and French (as [`name_key`] keys) → ISO alpha-2.
#[rustfmt::skip]
const COUNTRY_NAMES: &[(&str, &str)] = &[
    ("allemagne", "de"),
    ("australia", "au"),
    ("australie", "au"),
    ("austria", "at"),
    ("autriche", "at"),
    ("belgique", "be"),
    ("belgium", "be"),
    ("brasil", "br"),
    ("brazil", "br"),
    ("bresil", "br"),
    ("canada", "ca"),
    ("china", "cn"),
    ("chine", "cn"),
    ("danemark", "dk"),
    ("denmark", "dk"),
    ("deutschland", "de"),
    ("espagne", "es"),
    ("espana", "es"),
    ("etatsunis", "us"),
    ("etatsunisdamerique", "us"),
    ("finland", "fi"),
    ("finlande", "fi"),
    ("france", "fr"),
    ("germany", "de"),
    ("greatbritain", "gb"),
    ("grece", "gr"),
    ("greece", "gr"),
    ("inde", "in"),
    ("india", "in"),
    ("ireland", "ie"),
    ("irlande", "ie"),
    ("italia", "it"),
    ("italie", "it"),
    ("italy", "it"),
    ("japan", "jp"),
    ("japon", "jp"),
    ("luxembourg", "lu"),
    ("mexico", "mx"),
    ("mexique", "mx"),
    ("monaco", "mc"),
    ("nederland", "nl"),
    ("netherlands", "nl"),
    ("newzealand", "nz"),
    ("norvege", "no"),
    ("norway", "no"),
    ("nouvellezelande", "nz"),
    ("osterreich", "at"),
    ("paysbas", "nl"),
    ("poland", "pl"),
    ("pologne", "pl"),
    ("portugal", "pt"),
    ("royaumeuni", "gb"),
    ("schweiz", "ch"),
    ("spain", "es"),
    ("suede", "se"),
    ("suisse", "ch"),
    ("sweden", "se"),
    ("switzerland", "ch"),
    ("thenetherlands", "nl"),
    ("unitedkingdom", "gb"),
    ("unitedstates", "us"),
    ("unitedstatesofamerica", "us"),
];

/// ISO 3166-1 alpha-3 → alpha-2, all 249 officially assigned codes, lower-case.
#[rustfmt::skip]
const ALPHA3_TO_ALPHA2: &[(&str, &str)] = &[
    ("abw", "aw"), // Aruba
    ("afg", "af"), // Afghanistan
    ("ago", "ao"), // Angola
    ("aia", "ai"), // Anguilla
    ("ala", "ax"), // Åland Islands
    ("alb", "al"), // Albania
    ("and", "ad"), // Andorra
    ("are", "ae"), // United Arab Emirates
    ("arg", "ar"), // Argentina
    ("arm", "am"), // Armenia
    ("asm", "as"), // American Samoa
    ("ata", "aq"), // Antarctica
    ("atf", "tf"), // French Southern Territories
    ("atg", "ag"), // Antigua and Barbuda
    ("aus", "au"), // Australia
    ("aut", "at"), // Austria
    ("aze", "az"), // Azerbaijan
    ("bdi", "bi"), // Burundi
    ("bel", "be"), // Belgium
    ("ben", "bj"), // Benin
    ("bes", "bq"), // Bonaire, Sint Eustatius and Saba
    ("bfa", "bf"), // Burkina Faso
    ("bgd", "bd"), // Bangladesh
    ("bgr", "bg"), // Bulgaria
    ("bhr", "bh"), // Bahrain
    ("bhs", "bs"), // Bahamas
    ("bih", "ba"), // Bosnia and Herzegovina
    ("blm", "bl"), // Saint Barthélemy
    ("blr", "by"), // Belarus
    ("blz", "bz"), // Belize
    ("bmu", "bm"), // Bermuda
    ("bol", "bo"), // Bolivia, Plurinational State of
    ("bra", "br"), // Brazil
    ("brb", "bb"), // Barbados
    ("brn", "bn"), // Brunei Darussalam
    ("btn", "bt"), // Bhutan
    ("bvt", "bv"), // Bouvet Island
    ("bwa", "bw"), // Botswana
    ("caf", "cf"), // Central African Republic
    ("can", "ca"), // Canada
    ("cck", "cc"), // Cocos (Keeling) Islands
    ("che", "ch"), // Switzerland
    ("chl", "cl"), // Chile
    ("chn", "cn"), // China
    ("civ", "ci"), // Côte d'Ivoire
    ("cmr", "cm"), // Cameroon
    ("cod", "cd"), // Congo, The Democratic Republic of the
    ("cog", "cg"), // Congo
    ("cok", "ck"), // Cook Islands
    ("col", "co"), // Colombia
    ("com", "km"), // Comoros
    ("cpv", "cv"), // Cabo Verde
    ("cri", "cr"), // Costa Rica
    ("cub", "cu"), // Cuba
    ("cuw", "cw"), // Curaçao
    ("cxr", "cx"), // Christmas Island
    ("cym", "ky"), // Cayman Islands
    ("cyp", "cy"), // Cyprus
    ("cze", "cz"), // Czechia
    ("deu", "de"), // Germany
    ("dji", "dj"), // Djibouti
    ("dma", "dm"), // Dominica
    ("dnk", "dk"), // Denmark
    ("dom", "do"), // Dominican Republic
    ("dza", "dz"), // Algeria
    ("ecu", "ec"), // Ecuador
    ("egy", "eg"), // Egypt
    ("eri", "er"), // Eritrea
    ("esh", "eh"), // Western Sahara
    ("esp", "es"), // Spain
    ("est", "ee"), // Estonia
    ("eth", "et"), // Ethiopia
    ("fin", "fi"), // Finland
    ("fji", "fj"), // Fiji
    ("flk", "fk"), // Falkland Islands (Malvinas)
    ("fra", "fr"), // France
    ("fro", "fo"), // Faroe Islands
    ("fsm", "fm"), // Micronesia, Federated States of
    ("gab", "ga"), // Gabon
    ("gbr", "gb"), // United Kingdom
    ("geo", "ge"), // Georgia
    ("ggy", "gg"), // Guernsey
    ("gha", "gh"), // Ghana
    ("gib", "gi"), // Gibraltar
    ("gin", "gn"), // Guinea
    ("glp", "gp"), // Guadeloupe
    ("gmb", "gm"), // Gambia
    ("gnb", "gw"), // Guinea-Bissau
    ("gnq", "gq"), // Equatorial Guinea
    ("grc", "gr"), // Greece
    ("grd", "gd"), // Grenada
    ("grl", "gl"), // Greenland
    ("gtm", "gt"), // Guatemala
    ("guf", "gf"), // French Guiana
    ("gum", "gu"), // Guam
    ("guy", "gy"), // Guyana
    ("hkg", "hk"), // Hong Kong
    ("hmd", "hm"), // Heard Island and McDonald Islands
    ("hnd", "hn"), // Honduras
    ("hrv", "hr"), // Croatia
    ("hti", "ht"), // Haiti
    ("hun", "hu"), // Hungary
    ("idn", "id"), // Indonesia
    ("imn", "im"), // Isle of Man
    ("ind", "in"), // India
    ("iot", "io"), // British Indian Ocean Territory
    ("irl", "ie"), // Ireland
    ("irn", "ir"), // Iran, Islamic Republic of
    ("irq", "iq"), // Iraq
    ("isl", "is"), // Iceland
    ("isr", "il"), // Israel
    ("ita", "it"), // Italy
    ("jam", "jm"), // Jamaica
    ("jey", "je"), // Jersey
    ("jor", "jo"), // Jordan
    ("jpn", "jp"), // Japan
    ("kaz", "kz"), // Kazakhstan
    ("ken", "ke"), // Kenya
    ("kgz", "kg"), // Kyrgyzstan
    ("khm", "kh"), // Cambodia
    ("kir", "ki"), // Kiribati
    ("kna", "kn"), // Saint Kitts and Nevis
    ("kor", "kr"), // Korea, Republic of
    ("kwt", "kw"), // Kuwait
    ("lao", "la"), // Lao People's Democratic Republic
    ("lbn", "lb"), // Lebanon
    ("lbr", "lr"), // Liberia
    ("lby", "ly"), // Libya
    ("lca", "lc"), // Saint Lucia
    ("lie", "li"), // Liechtenstein
    ("lka", "lk"), // Sri Lanka
    ("lso", "ls"), // Lesotho
    ("ltu", "lt"), // Lithuania
    ("lux", "lu"), // Luxembourg
    ("lva", "lv"), // Latvia
    ("mac", "mo"), // Macao
    ("maf", "mf"), // Saint Martin (French part)
    ("mar", "ma"), // Morocco
    ("mco", "mc"), // Monaco
    ("mda", "md"), // Moldova, Republic of
    ("mdg", "mg"), // Madagascar
    ("mdv", "mv"), // Maldives
    ("mex", "mx"), // Mexico
    ("mhl", "mh"), // Marshall Islands
    ("mkd", "mk"), // North Macedonia
    ("mli", "ml"), // Mali
    ("mlt", "mt"), // Malta
    ("mmr", "mm"), // Myanmar
    ("mne", "me"), // Montenegro
    ("mng", "mn"), // Mongolia
    ("mnp", "mp"), // Northern Mariana Islands
    ("moz", "mz"), // Mozambique
    ("mrt", "mr"), // Mauritania
    ("msr", "ms"), // Montserrat
    ("mtq", "mq"), // Martinique
    ("mus", "mu"), // Mauritius
    ("mwi", "mw"), // Malawi
    ("mys", "my"), // Malaysia
    ("myt", "yt"), // Mayotte
    ("nam", "na"), // Namibia
    ("ncl", "nc"), // New Caledonia
    ("ner", "ne"), // Niger
    ("nfk", "nf"), // Norfolk Island
    ("nga", "ng"), // Nigeria
    ("nic", "ni"), // Nicaragua
    ("niu", "nu"), // Niue
    ("nld", "nl"), // Netherlands
    ("nor", "no"), // Norway
    ("npl", "np"), // Nepal
    ("nru", "nr"), // Nauru
    ("nzl", "nz"), // New Zealand
    ("omn", "om"), // Oman
    ("pak", "pk"), // Pakistan
    ("pan", "pa"), // Panama
    ("pcn", "pn"), // Pitcairn
    ("per", "pe"), // Peru
    ("phl", "ph"), // Philippines
    ("plw", "pw"), // Palau
    ("png", "pg"), // Papua New Guinea
    ("pol", "pl"), // Poland
    ("pri", "pr"), // Puerto Rico
    ("prk", "kp"), // Korea, Democratic People's Republic of
    ("prt", "pt"), // Portugal
    ("pry", "py"), // Paraguay
    ("pse", "ps"), // Palestine, State of
    ("pyf", "pf"), // French Polynesia
    ("qat", "qa"), // Qatar
    ("reu", "re"), // Réunion
    ("rou", "ro"), // Romania
    ("rus", "ru"), // Russian Federation
    ("rwa", "rw"), // Rwanda
    ("sau", "sa"), // Saudi Arabia
    ("sdn", "sd"), // Sudan
    ("sen", "sn"), // Senegal
    ("sgp", "sg"), // Singapore
    ("sgs", "gs"), // South Georgia and the South Sandwich Islands
    ("shn", "sh"), // Saint Helena, Ascension and Tristan da Cunha
    ("sjm", "sj"), // Svalbard and Jan Mayen
    ("slb", "sb"), // Solomon Islands
    ("sle", "sl"), // Sierra Leone
    ("slv", "sv"), // El Salvador
    ("smr", "sm"), // San Marino
    ("som", "so"), // Somalia
    ("spm", "pm"), // Saint Pierre and Miquelon
    ("srb", "rs"), // Serbia
    ("ssd", "ss"), // South Sudan
    ("stp", "st"), // Sao Tome and Principe
    ("sur", "sr"), // Suriname
    ("svk", "sk"), // Slovakia
    ("svn", "si"), // Slovenia
    ("swe", "se"), // Sweden
    ("swz", "sz"), // Eswatini
    ("sxm", "sx"), // Sint Maarten (Dutch part)
    ("syc", "sc"), // Seychelles
    ("syr", "sy"), // Syrian Arab Republic
    ("tca", "tc"), // Turks and Caicos Islands
    ("tcd", "td"), // Chad
    ("tgo", "tg"), // Togo
    ("tha", "th"), // Thailand
    ("tjk", "tj"), // Tajikistan
    ("tkl", "tk"), // Tokelau
    ("tkm", "tm"), // Turkmenistan
    ("tls", "tl"), // Timor-Leste
    ("ton", "to"), // Tonga
    ("tto", "tt"), // Trinidad and Tobago
    ("tun", "tn"), // Tunisia
    ("tur", "tr"), // Türkiye
    ("tuv", "tv"), // Tuvalu
    ("twn", "tw"), // Taiwan, Province of China
    ("tza", "tz"), // Tanzania, United Republic of
    ("uga", "ug"), // Uganda
    ("ukr", "ua"), // Ukraine
    ("umi", "um"), // United States Minor Outlying Islands
    ("ury", "uy"), // Uruguay
    ("usa", "us"), // United States
    ("uzb", "uz"), // Uzbekistan
    ("vat", "va"), // Holy See (Vatican City State)
    ("vct", "vc"), // Saint Vincent and the Grenadines
    ("ven", "ve"), // Venezuela, Bolivarian Republic of
    ("vgb", "vg"), // Virgin Islands, British
    ("vir", "vi"), // Virgin Islands, U.S.
    ("vnm", "vn"), // Viet Nam
    ("vut", "vu"), // Vanuatu
    ("wlf", "wf"), // Wallis and Futuna
    ("wsm", "ws"), // Samoa
    ("yem", "ye"), // Yemen
    ("zaf", "za"), // South Africa
    ("zmb", "zm"), // Zambia
    ("zwe", "zw"), // Zimbabwe
];

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    use HashedField::*;

    const ALL: [HashedField; 12] = [
        Em,
        Ph,
        Ge,
        Db,
        Fn,
        Ln,
        Ct,
        St,
        Zp,
        Country,
        ExternalId,
        HashedMaids,
    ];

    /// SHA-256 computed independently of the module's helper.
    fn reference_sha256(s: &str) -> String {
        Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn norm(field: HashedField, raw: &str, country: Option<&str>) -> String {
        match normalize(field, raw, country) {
            Ok(value) => value,
            Err(e) => panic!("{field:?} {raw:?} ({country:?}) gave {e:?}"),
        }
    }

    fn invalid(field: HashedField, raw: &str, country: Option<&str>) -> &'static str {
        match normalize(field, raw, country) {
            Err(Omitted::Invalid(reason)) => {
                // Inputs of a few characters may occur in any sentence by chance.
                let needle = raw.trim();
                let distinctive = needle.chars().count() > 3;
                assert!(
                    !(distinctive && reason.contains(needle)),
                    "reason {reason:?} contains the input {raw:?}"
                );
                reason
            }
            other => panic!("{field:?} {raw:?} ({country:?}) should be invalid, got {other:?}"),
        }
    }

    #[test]
    fn spec_examples_hash_to_the_sha256_of_the_normalised_value() {
        let examples: &[(HashedField, &str, Option<&str>, &str)] = &[
            (Em, " John.Doe@Example.COM ", None, "john.doe@example.com"),
            (Ph, "+33 6 12 34 56 78", None, "33612345678"),
            (Ge, "Male", None, "m"),
            (Db, "1996-02-01", None, "19960201"),
            (Ct, "Menlo Park", None, "menlopark"),
            (Zp, "94025-1234", Some("us"), "94025"),
            (Country, "USA", None, "us"),
            (Ph, "0612345678", Some("fr"), "33612345678"),
            (Zp, "SW1A 1AA", Some("gb"), "sw1a1aa"),
        ];
        for &(field, raw, country, expected) in examples {
            assert_eq!(norm(field, raw, country), expected, "{field:?} {raw:?}");
            let hashed = hash(field, raw, country).map(|h| h.as_str().to_owned());
            assert_eq!(hashed, Ok(reference_sha256(expected)), "{field:?} {raw:?}");
        }
    }

    #[test]
    fn sha256_hex_matches_known_vectors() {
        let hex = |s: &str| sha256(s).as_str().to_owned();
        assert_eq!(
            hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex("john.doe@example.com"),
            reference_sha256("john.doe@example.com")
        );
    }

    #[test]
    fn is_sha256_hex_needs_exactly_64_hex_digits() {
        assert!(is_sha256_hex(&"a".repeat(64)));
        assert!(is_sha256_hex(&"AbC0".repeat(16)));
        assert!(!is_sha256_hex(&"a".repeat(63)));
        assert!(!is_sha256_hex(&"a".repeat(65)));
        assert!(!is_sha256_hex(&format!("{}g", "a".repeat(63))));
        assert!(!is_sha256_hex(&format!(" {}", "a".repeat(63))));
    }

    #[test]
    fn pre_hashed_values_pass_through_lower_cased_for_every_field() {
        let digest = reference_sha256("john.doe@example.com");
        let upper = format!("  {}\t", digest.to_ascii_uppercase());
        for field in ALL {
            assert_eq!(
                hash(field, &upper, Some("fr")).map(|h| h.as_str().to_owned()),
                Ok(digest.clone()),
                "{field:?}"
            );
            assert_eq!(
                hash(field, &digest, None).map(|h| h.as_str().to_owned()),
                Ok(digest.clone()),
                "{field:?}"
            );
        }
    }

    #[test]
    fn almost_hashes_are_normalised_and_hashed() {
        let sixty_three = "A".repeat(63);
        assert_eq!(
            hash(Em, &sixty_three, None).map(|h| h.as_str().to_owned()),
            Ok(reference_sha256(&"a".repeat(63)))
        );
        let sixty_five = "b".repeat(65);
        assert_eq!(
            hash(ExternalId, &sixty_five, None).map(|h| h.as_str().to_owned()),
            Ok(reference_sha256(&sixty_five))
        );
    }

    #[test]
    fn blank_input_is_empty_for_every_field() {
        for field in ALL {
            for blank in ["", " ", "\t\n ", "\u{a0}\u{3000}"] {
                assert_eq!(
                    normalize(field, blank, Some("us")),
                    Err(Omitted::Empty),
                    "{field:?}"
                );
                assert_eq!(hash(field, blank, None), Err(Omitted::Empty), "{field:?}");
            }
        }
    }

    #[test]
    fn invalid_input_gives_a_reason_without_the_value() {
        let cases: &[(HashedField, &str, Option<&str>)] = &[
            (Ph, "call me maybe", None),
            (Ph, "12345", Some("fr")),
            (Ph, "1-800-FLOWERS", Some("us")),
            (Ph, "0612345678 0698765432", Some("fr")),
            (Ge, "unknown", None),
            (Db, "1996-02-30", None),
            (Db, "02/01/1996", None),
            (Ct, "--- ...", None),
            (St, "Bavaria", None),
            (Zp, "9402", Some("us")),
            (Zp, "75001 / Paris!", Some("fr")),
            (Country, "Narnia", None),
        ];
        for &(field, raw, country) in cases {
            invalid(field, raw, country);
            assert!(
                matches!(hash(field, raw, country), Err(Omitted::Invalid(_))),
                "{field:?} {raw:?}"
            );
        }
    }

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            norm(Em, " John.Doe@Example.COM ", None),
            "john.doe@example.com"
        );
        assert_eq!(norm(Em, "ÉLODIE@EXAMPLE.FR", None), "élodie@example.fr");
    }

    #[test]
    fn names_are_trimmed_and_unicode_lower_cased() {
        assert_eq!(norm(Fn, "  Élodie ", None), "élodie");
        assert_eq!(norm(Ln, "ÖZTÜRK", None), "öztürk");
        assert_eq!(norm(Ln, "Van der Berg", None), "van der berg");
        assert_eq!(norm(Fn, "ΣΩΚΡΆΤΗΣ", None), "σωκράτης");
    }

    #[test]
    fn decomposed_accents_normalise_as_composed_ones() {
        // `E` + U+0301 COMBINING ACUTE ACCENT, as some keyboards and copy-pastes produce it.
        assert_eq!(norm(Fn, "E\u{301}lodie", None), "élodie");
        assert_eq!(norm(Ct, "Saint-E\u{301}tienne", None), "saintétienne");
        assert_eq!(norm(Ge, "fe\u{301}minin", None), "f");
        assert_eq!(
            norm(Em, "e\u{301}lodie@example.fr", None),
            "élodie@example.fr"
        );
        for (field, decomposed, composed) in [
            (Fn, "E\u{301}lodie", "Élodie"),
            (Ln, "O\u{308}ztu\u{308}rk", "Öztürk"),
            (Ct, "Saint-E\u{301}tienne", "Saint-Étienne"),
        ] {
            assert_eq!(
                hash(field, decomposed, None),
                hash(field, composed, None),
                "{composed}"
            );
        }
        // An identifier is hashed as the advertiser has it.
        assert_eq!(norm(ExternalId, "E\u{301}-42", None), "E\u{301}-42");
    }

    #[test]
    fn external_id_keeps_case_and_maids_are_lower_cased() {
        assert_eq!(norm(ExternalId, "  Cust-42AB ", None), "Cust-42AB");
        assert_eq!(
            norm(HashedMaids, " 6D92078A-8246-4BA4-AE5B-76104861E7DC ", None),
            "6d92078a-8246-4ba4-ae5b-76104861e7dc"
        );
    }

    #[test]
    fn phone_international_forms() {
        assert_eq!(norm(Ph, "+33 6 12 34 56 78", None), "33612345678");
        assert_eq!(norm(Ph, "+33 6 12 34 56 78", Some("us")), "33612345678");
        assert_eq!(norm(Ph, "0033 6 12 34 56 78", Some("de")), "33612345678");
        assert_eq!(norm(Ph, "+33 (0)6 12 34 56 78", None), "33612345678");
        assert_eq!(norm(Ph, "0044 (0)20 7946 0958", None), "442079460958");
        assert_eq!(norm(Ph, "+1 (650) 555-1234", None), "16505551234");
        assert_eq!(norm(Ph, "tel:+1-650-555-1234", None), "16505551234");
        assert_eq!(norm(Ph, "011 33 6 12 34 56 78", Some("us")), "33612345678");
    }

    #[test]
    fn phone_national_with_trunk_zero_gets_the_calling_code() {
        assert_eq!(norm(Ph, "0612345678", Some("fr")), "33612345678");
        assert_eq!(norm(Ph, "06.12.34.56.78", Some("fr")), "33612345678");
        assert_eq!(norm(Ph, "(0)6 12 34 56 78", Some("fr")), "33612345678");
        assert_eq!(norm(Ph, "030 1234567", Some("de")), "49301234567");
        assert_eq!(norm(Ph, "020 7946 0958", Some("gb")), "442079460958");
        assert_eq!(norm(Ph, "0412 345 678", Some("au")), "61412345678");
        assert_eq!(norm(Ph, "0694 12 34 56", Some("gf")), "594694123456");
        assert_eq!(norm(Ph, "0612345678", Some("FR")), "33612345678");
    }

    #[test]
    fn phone_country_specific_trunks() {
        // Italy keeps the leading 0 of landlines; its mobiles have no trunk prefix at all.
        assert_eq!(norm(Ph, "06 1234 5678", Some("it")), "390612345678");
        assert_eq!(norm(Ph, "312 345 6789", Some("it")), "393123456789");
        assert_eq!(norm(Ph, "393 123 4567", Some("it")), "393931234567");
        // Hungary's trunk prefix is 06.
        assert_eq!(norm(Ph, "06 30 123 4567", Some("hu")), "36301234567");
        // Russia's trunk prefix is 8, stripped only when what is left is a possible number.
        assert_eq!(norm(Ph, "8 (912) 345-67-89", Some("ru")), "79123456789");
        assert_eq!(norm(Ph, "8 800 555 35 35", Some("ru")), "78005553535");
        assert_eq!(norm(Ph, "800 555 35 35", Some("ru")), "78005553535");
        // Spain has no trunk prefix.
        assert_eq!(norm(Ph, "612 34 56 78", Some("es")), "34612345678");
        assert_eq!(norm(Ph, "91 123 45 67", Some("es")), "34911234567");
    }

    #[test]
    fn phone_nanp_ten_digit_numbers_get_the_country_code() {
        assert_eq!(norm(Ph, "(650) 555-1234", Some("us")), "16505551234");
        assert_eq!(norm(Ph, "416-555-0199", Some("ca")), "14165550199");
        assert_eq!(norm(Ph, "1-650-555-1234", Some("us")), "16505551234");
        // Without a known country a 10-digit number is kept as written.
        assert_eq!(norm(Ph, "(650) 555-1234", None), "6505551234");
    }

    #[test]
    fn phone_without_country_strips_leading_zeros() {
        assert_eq!(norm(Ph, "0612345678", None), "612345678");
        assert_eq!(norm(Ph, "0612345678", Some("zz")), "612345678");
        // A region libphonenumber has no numbering plan for (Antarctica), and unknown calling codes.
        assert_eq!(norm(Ph, "0612345678", Some("aq")), "612345678");
        assert_eq!(norm(Ph, "+999 123 4567", None), "9991234567");
        assert_eq!(norm(Ph, "00 0 612 345 678", None), "612345678");
    }

    #[test]
    fn phone_examples_of_the_rule() {
        let examples: &[(&str, Option<&str>, &str)] = &[
            ("0612345678", Some("fr"), "33612345678"),
            ("612 34 56 78", Some("es"), "34612345678"),
            ("312 345 6789", Some("it"), "393123456789"),
            ("(650) 555-1234", Some("us"), "16505551234"),
            ("+44 20 7946 0958", None, "442079460958"),
            ("+44 20 7946 0958", Some("fr"), "442079460958"),
            ("011 33 6 12 34 56 78", Some("us"), "33612345678"),
            ("+33 6 12 34 56 78", None, "33612345678"),
            ("0081 90 1234 5678", Some("jp"), "819012345678"),
            // A trunk prefix or calling code that is also the start of the number stays (libphonenumber keeps
            // it when the number as written is already possible; the `phonenumber` crate would strip it).
            ("8 800 555 35 35", Some("ru"), "78005553535"),
            ("+7 800 555 35 35", None, "78005553535"),
            ("250 123 456", Some("rw"), "250250123456"),
            ("392 123 4567", Some("it"), "393921234567"),
        ];
        for &(raw, country, expected) in examples {
            assert_eq!(norm(Ph, raw, country), expected, "{raw:?} ({country:?})");
        }
    }

    #[test]
    fn phone_leading_00_is_read_as_plus_whatever_the_countrys_international_prefix() {
        // Japan's international prefix is 010, the US's 011: 00 still introduces a calling code.
        assert_eq!(norm(Ph, "0081 90 1234 5678", Some("jp")), "819012345678");
        assert_eq!(norm(Ph, "010 33 6 12 34 56 78", Some("jp")), "33612345678");
        assert_eq!(norm(Ph, "0033 6 12 34 56 78", Some("us")), "33612345678");
        assert_eq!(norm(Ph, "0081 90 1234 5678", None), "819012345678");
        // Colombia's international prefixes include 005: 00 57 is still Colombia's calling code.
        assert_eq!(norm(Ph, "00 57 601 234 5678", Some("co")), "576012345678");
        // Australia's is 0011: read as `+11…` it is no possible number, so Australia's rules read it.
        assert_eq!(norm(Ph, "0011 44 20 7946 0958", Some("au")), "442079460958");
        // Another country's number is read with that country's rules, not the user's.
        assert_eq!(norm(Ph, "0039 06 1234 5678", Some("fr")), "390612345678");
        assert_eq!(norm(Ph, "+39 06 1234 5678", Some("fr")), "390612345678");
    }

    #[test]
    fn phone_impossible_lengths_are_invalid() {
        const IMPOSSIBLE: &str = "phone number is not a possible number of its country";
        assert_eq!(invalid(Ph, "06 12 34 56 7", Some("fr")), IMPOSSIBLE);
        assert_eq!(invalid(Ph, "06 12 34 56 78 9", Some("fr")), IMPOSSIBLE);
        assert_eq!(invalid(Ph, "+33 6 12 34 56 7", None), IMPOSSIBLE);
        assert_eq!(invalid(Ph, "(650) 555-123", Some("us")), IMPOSSIBLE);
        assert_eq!(invalid(Ph, "12345", Some("fr")), IMPOSSIBLE);
    }

    #[test]
    fn phone_extensions_are_dropped() {
        assert_eq!(norm(Ph, "+1 650 555 1234 ext. 12", None), "16505551234");
        assert_eq!(norm(Ph, "+1 650 555 1234 x12", None), "16505551234");
        assert_eq!(norm(Ph, "tel:+1-650-555-1234;ext=12", None), "16505551234");
        assert_eq!(norm(Ph, "06 12 34 56 78 # 3", Some("fr")), "33612345678");
    }

    #[test]
    fn phone_invalid_lengths_and_digits() {
        assert_eq!(invalid(Ph, "12345", None), "not a phone number");
        invalid(Ph, "+1 23", None);
        assert_eq!(invalid(Ph, "0000000000", None), "not a phone number");
        invalid(Ph, "+33 6 12 34 56 78 90 12 34 56", None);
        assert_eq!(
            invalid(Ph, "+999 6 12 34 56 78 90 12 34 56", None),
            "not a phone number"
        );
        assert_eq!(invalid(Ph, "none", None), "not a phone number");
        invalid(Ph, "０６１２３４５６７８", Some("fr"));
        invalid(Ph, "+٣٣٦١٢٣٤٥٦٧٨", None);
    }

    #[test]
    fn gender_variants() {
        for m in ["m", "M", " Male ", "MAN", "h", "Homme", "masculin"] {
            assert_eq!(norm(Ge, m, None), "m", "{m}");
        }
        for f in [
            "f", "F", "female", "Woman", "femme", "Féminin", "FÉMININ", "feminin",
        ] {
            assert_eq!(norm(Ge, f, None), "f", "{f}");
        }
        for n in ["n", "Non-Binary", "nonbinary", "x", "X", "Other"] {
            assert_eq!(norm(Ge, n, None), "n", "{n}");
        }
        for bad in ["unknown", "mf", "mâle", "1", "ma le"] {
            assert_eq!(invalid(Ge, bad, None), "not a known gender");
        }
    }

    #[test]
    fn birth_date_formats() {
        for raw in [
            "1996-02-01",
            "1996/02/01",
            "1996.02.01",
            "19960201",
            " 1996-2-1 ",
            "1996-02-01T10:00:00Z",
            "1996-02-01T10:00:00+02:00",
            "1996-02-01T23:30:00-05:00",
            "1996-02-01T10:00:00.123Z",
            "1996-02-01 10:00:00",
            "19960201T100000Z",
        ] {
            assert_eq!(norm(Db, raw, None), "19960201", "{raw}");
        }
    }

    #[test]
    fn birth_date_calendar_check() {
        assert_eq!(norm(Db, "2000-02-29", None), "20000229");
        assert_eq!(norm(Db, "2024-02-29", None), "20240229");
        assert_eq!(norm(Db, "1996-12-31", None), "19961231");
        assert_eq!(norm(Db, "1800-01-01", None), "18000101");
        assert_eq!(norm(Db, "2100-12-31", None), "21001231");
        for bad in [
            "1996-02-30",
            "1996-13-01",
            "1996-00-10",
            "1996-04-31",
            "1999-02-29",
            "1900-02-29",
            "1996-01-00",
        ] {
            assert_eq!(invalid(Db, bad, None), "not a valid calendar date", "{bad}");
        }
        assert_eq!(invalid(Db, "1799-12-31", None), "year out of range");
        assert_eq!(invalid(Db, "2101-01-01", None), "year out of range");
    }

    #[test]
    fn birth_date_unrecognised_formats() {
        for bad in [
            "01/02/1996",
            "1996-02",
            "1996-02-01-03",
            "1996-02/01",
            "96-02-01",
            "1996-002-01",
            "1996-02-01Tnoon",
            "1996-02-01 UTC",
            "february 1st",
            "1996-０2-01",
            "１９９６-02-01",
            "199602011",
            "1996é02é01",
        ] {
            assert_eq!(
                invalid(Db, bad, None),
                "not a recognised date format",
                "{bad}"
            );
        }
    }

    #[test]
    fn city_keeps_unicode_letters_and_digits() {
        assert_eq!(norm(Ct, "Menlo Park", None), "menlopark");
        assert_eq!(norm(Ct, "Saint-Étienne", None), "saintétienne");
        assert_eq!(norm(Ct, "L'Haÿ-les-Roses", None), "lhaÿlesroses");
        assert_eq!(norm(Ct, "Paris 15e", None), "paris15e");
        assert_eq!(norm(Ct, "東京", None), "東京");
        assert_eq!(invalid(Ct, "- . -", None), "no letters or digits in city");
    }

    #[test]
    fn state_names_and_codes() {
        assert_eq!(norm(St, "California", None), "ca");
        assert_eq!(norm(St, " NEW YORK ", None), "ny");
        assert_eq!(norm(St, "District of Columbia", None), "dc");
        assert_eq!(norm(St, "Washington, D.C.", None), "dc");
        assert_eq!(norm(St, "Québec", None), "qc");
        assert_eq!(norm(St, "Quebec", None), "qc");
        assert_eq!(norm(St, "british columbia", None), "bc");
        assert_eq!(norm(St, "Colombie-Britannique", None), "bc");
        assert_eq!(norm(St, "Île-du-Prince-Édouard", None), "pe");
        assert_eq!(norm(St, "Newfoundland & Labrador", None), "nl");
        assert_eq!(norm(St, "Puerto Rico", None), "pr");
        assert_eq!(norm(St, "CA", None), "ca");
        assert_eq!(norm(St, "ny", None), "ny");
        assert_eq!(norm(St, "BY", Some("de")), "by");
    }

    #[test]
    fn state_rejects_other_input() {
        for bad in ["N1", "Bavaria", "N.Y.", "ÉÉ", "n", "nyc", "12"] {
            assert_eq!(
                invalid(St, bad, None),
                "not a state code or known state name",
                "{bad}"
            );
        }
    }

    #[test]
    fn zip_us_five_digits() {
        assert_eq!(norm(Zp, "94025-1234", Some("us")), "94025");
        assert_eq!(norm(Zp, "94025", Some("us")), "94025");
        assert_eq!(norm(Zp, "940251234", Some("us")), "94025");
        assert_eq!(norm(Zp, "00907", Some("pr")), "00907");
        assert_eq!(invalid(Zp, "9402", Some("us")), "not a US ZIP code");
        assert_eq!(invalid(Zp, "SW1A 1AA", Some("us")), "not a US ZIP code");
    }

    #[test]
    fn zip_from_a_number_is_padded_only_for_us_countries() {
        let pad =
            |digits: &str, country| zip_from_number(Cow::Borrowed(digits), country).into_owned();
        assert_eq!(pad("2134", Some("us")), "02134");
        assert_eq!(pad("501", Some("vi")), "00501");
        assert_eq!(pad("21341234", Some("us")), "021341234");
        assert_eq!(pad("2134567", Some("us")), "002134567");
        for unchanged in ["94025", "12", "940251234", "123456", "2a34"] {
            assert_eq!(pad(unchanged, Some("us")), unchanged);
        }
        assert_eq!(pad("2134", Some("au")), "2134");
        assert_eq!(pad("2134", None), "2134");
    }

    #[test]
    fn zip_unknown_country_zip_plus_four() {
        assert_eq!(norm(Zp, "94025-1234", None), "94025");
        assert_eq!(norm(Zp, "940251234", None), "94025");
        assert_eq!(norm(Zp, "94025", None), "94025");
        assert_eq!(norm(Zp, "1234-567", None), "1234567");
        for written in ["94025 1234", "94025\u{2013}1234", " 94025 - 1234 "] {
            assert_eq!(norm(Zp, written, None), "94025", "{written}");
        }
        assert_eq!(norm(Zp, "9402 51234", None), "940251234");
    }

    #[test]
    fn zip_other_countries_keep_letters() {
        assert_eq!(norm(Zp, "SW1A 1AA", Some("gb")), "sw1a1aa");
        assert_eq!(norm(Zp, "SW1A 1AA", None), "sw1a1aa");
        assert_eq!(norm(Zp, "K1A 0B1", Some("ca")), "k1a0b1");
        assert_eq!(norm(Zp, "75001", Some("fr")), "75001");
        assert_eq!(norm(Zp, "1234 AB", Some("nl")), "1234ab");
        assert_eq!(norm(Zp, "940251234", Some("fr")), "940251234");
        assert_eq!(norm(Zp, "100\u{2013}0001", Some("jp")), "1000001");
        for bad in ["-", "75001, Paris", "7500é", "1234567890123"] {
            assert_eq!(invalid(Zp, bad, Some("fr")), "not a postal code", "{bad}");
        }
    }

    /// ASCII text takes a shorter path (no intermediate lower-case string): the same text with a non-ASCII
    /// character that the rule drops anyway takes the general one, and both must agree.
    #[test]
    fn ascii_and_general_paths_agree() {
        let cases = [
            (Ct, "San Francisco", "San Francisco\u{2014}"),
            (Ct, "ST. LOUIS 2", "ST. LOUIS 2\u{00B7}"),
            (Zp, "94107-1234", "94107\u{2013}1234"),
            (Zp, "K1A 0B1", "K1A\u{2009}0B1"),
            (St, "New York", "New\u{00B7}York"),
            (St, "Prince Edward Island", "Prince Edward Island\u{00B7}"),
            (Country, "United States", "United\u{00B7}States"),
            (Country, "France", "France\u{00B7}"),
        ];
        for (field, ascii, general) in cases {
            assert!(ascii.is_ascii() && !general.is_ascii());
            let country = Some(if ascii.starts_with('K') { "ca" } else { "us" });
            assert_eq!(
                normalize(field, ascii, country),
                normalize(field, general, country),
                "{field:?} {ascii:?}"
            );
            assert!(
                normalize(field, ascii, country).is_ok(),
                "{field:?} {ascii:?}"
            );
        }
    }

    #[test]
    fn country_codes_and_names() {
        assert_eq!(norm(Country, "USA", None), "us");
        assert_eq!(norm(Country, "FRA", None), "fr");
        assert_eq!(norm(Country, "deu", None), "de");
        assert_eq!(norm(Country, "FR", None), "fr");
        assert_eq!(norm(Country, " fr ", None), "fr");
        assert_eq!(norm(Country, "UK", None), "gb");
        // Two letters must be an assigned code (or Kosovo's `XK`).
        assert_eq!(norm(Country, "xk", None), "xk");
        for unassigned in ["XX", "ZZ", "QQ", "EU"] {
            assert_eq!(
                normalize(Country, unassigned, None),
                Err(Omitted::Invalid("not a country code or known country name")),
                "{unassigned}"
            );
        }
        assert_eq!(norm(Country, "U.S.A.", None), "us");
        assert_eq!(norm(Country, "United States", None), "us");
        assert_eq!(norm(Country, "united kingdom", None), "gb");
        assert_eq!(norm(Country, "France", None), "fr");
        assert_eq!(norm(Country, "Germany", None), "de");
        assert_eq!(norm(Country, "Royaume-Uni", None), "gb");
        assert_eq!(norm(Country, "États-Unis", None), "us");
        assert_eq!(norm(Country, "Österreich", None), "at");
        for bad in ["XYZ", "1a", "Narnia", "É-U", "f", "ABCD"] {
            assert_eq!(
                invalid(Country, bad, None),
                "not a country code or known country name",
                "{bad}"
            );
        }
    }

    #[test]
    fn tables_are_sorted_and_well_formed() {
        fn strictly_sorted<'a>(keys: impl Iterator<Item = &'a str>) -> bool {
            let keys: Vec<&str> = keys.collect();
            keys.windows(2).all(|w| w[0] < w[1])
        }
        assert!(strictly_sorted(STATE_NAMES.iter().map(|e| e.0)));
        assert!(strictly_sorted(COUNTRY_NAMES.iter().map(|e| e.0)));
        assert!(strictly_sorted(ALPHA3_TO_ALPHA2.iter().map(|e| e.0)));
        assert_eq!(ALPHA3_TO_ALPHA2.len(), 249);
        // Every alpha-2 code is a pair of lower-case letters, and the name table holds no text as short as a
        // code (which `country_code` reads without looking it up).
        assert!(
            ALPHA3_TO_ALPHA2
                .iter()
                .all(|(_, alpha2)| letter_pair_index(alpha2).is_some())
        );
        assert_eq!(ALPHA2.iter().filter(|&&assigned| assigned).count(), 250);
        assert!(COUNTRY_NAMES.iter().all(|(name, _)| name.len() > 3));
        assert!(strictly_sorted({
            let mut a2: Vec<&str> = ALPHA3_TO_ALPHA2.iter().map(|e| e.1).collect();
            a2.sort_unstable();
            a2.into_iter()
        }));
        for (a3, a2) in ALPHA3_TO_ALPHA2 {
            assert!(
                a3.len() == 3 && a3.bytes().all(|b| b.is_ascii_lowercase()),
                "{a3}"
            );
            assert!(
                a2.len() == 2 && a2.bytes().all(|b| b.is_ascii_lowercase()),
                "{a2}"
            );
        }
        let alpha2 = |c: &str| ALPHA3_TO_ALPHA2.iter().any(|e| e.1 == c);
        for (name, code) in COUNTRY_NAMES {
            assert!(alpha2(code), "{name}");
            assert_eq!(name_key(name).as_deref(), Some(*name));
        }
        for (name, code) in STATE_NAMES {
            assert!(is_letter_pair(code), "{name}");
            assert_eq!(name_key(name).as_deref(), Some(*name));
        }
    }

    #[test]
    fn no_panic_on_odd_input() {
        let huge = "9".repeat(1 << 17);
        let huge_letters = "É".repeat(1 << 16);
        let odd = [
            "\u{0}",
            "\u{feff}",
            "🙂🙂",
            "+",
            "00",
            "011",
            "(0)",
            "+(0)",
            "T",
            "1996-",
            "1996-02-",
            "1996--01",
            "199é-02-01",
            "e\u{301}",
            "\u{202e}abc",
            "İSTANBUL",
            "ǅ",
            "9999-99-99T",
            huge.as_str(),
            huge_letters.as_str(),
        ];
        for field in ALL {
            for raw in odd {
                for country in [
                    None,
                    Some("us"),
                    Some("fr"),
                    Some("it"),
                    Some("hu"),
                    Some("ru"),
                    Some("aq"),
                    Some("001"),
                    Some(""),
                    Some("ééé"),
                ] {
                    let _ = normalize(field, raw, country);
                    let _ = hash(field, raw, country);
                }
            }
        }
    }
}
