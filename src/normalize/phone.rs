//! `user_data.ph`: a phone number as written, read into E.164 digits by libphonenumber's rules and metadata.
//!
//! The metadata is libphonenumber's, in a table generated from the `phonenumber` crate (`phone_metadata.rs`):
//! the crate itself parses every pattern of every region when it loads (about 70 ms on the first phone number
//! of a cold start), where the table compiles only the patterns of the regions a number needs, when it needs
//! them. The reading follows libphonenumber's `parse` rather than the crate's, which strips a trunk prefix or
//! a calling code even when it is the start of the number itself (Russia's toll-free `8 800 …`, Rwanda's
//! fixed lines `250 …`).

use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

#[path = "phone_metadata.rs"]
mod metadata;
use metadata::REGIONS;

/// Fewest digits a phone number libphonenumber cannot read may have (E.164 has 7-digit numbers, e.g. some
/// Pacific islands); fewer is taken as not a phone number.
const MIN_DIGITS: usize = 7;
/// Most digits a phone number libphonenumber cannot read may have (E.164 maximum).
const MAX_DIGITS: usize = 15;

const NOT_A_PHONE: &str = "not a phone number";
const IMPOSSIBLE: &str = "phone number is not a possible number of its country";

/// One region of libphonenumber's metadata, as its `parse` reads numbers.
pub(super) struct Region {
    /// ISO 3166 alpha-2, upper case (or `001` for non-geographic codes).
    pub id: &'static str,
    pub code: u16,
    /// The main region of its calling code, whose rules read an international number.
    pub main: bool,
    pub international_prefix: Option<&'static str>,
    pub national_prefix: Option<&'static str>,
    pub national_prefix_for_parsing: Option<&'static str>,
    pub transform_rule: Option<&'static str>,
    /// Lengths a national number of any of its types may have, sorted.
    pub lengths: &'static [u16],
    /// Lengths possible only when dialled locally (without the area code), sorted.
    pub local_lengths: &'static [u16],
    /// The pattern every national number of the region matches.
    pub pattern: &'static str,
}

/// A region's patterns, compiled on first use: prefixes anchored at the start, the number pattern at both ends
/// (Java's `lookingAt()` and `matches()`, which libphonenumber uses). A pattern that does not compile counts
/// as absent (the tests compile every one).
struct Compiled {
    international_prefix: Option<Regex>,
    prefix_for_parsing: Option<Regex>,
    pattern: Option<Regex>,
}

static COMPILED: [OnceLock<Compiled>; REGIONS.len()] = [const { OnceLock::new() }; REGIONS.len()];

/// A region of [`REGIONS`], by its index.
#[derive(Debug, Clone, Copy)]
struct Known(usize);

impl Known {
    fn by_id(id: &str) -> Option<Self> {
        REGIONS
            .binary_search_by(|region| region.id.cmp(id))
            .ok()
            .map(Self)
    }

    /// The regions of a calling code.
    fn of_code(code: u16) -> impl Iterator<Item = Self> {
        (0..REGIONS.len())
            .filter(move |&i| REGIONS[i].code == code)
            .map(Self)
    }

    /// The main region of a calling code, whose rules read an international number.
    fn main_of(code: u16) -> Option<Self> {
        Self::of_code(code).find(|region| region.meta().main)
    }

    fn meta(self) -> &'static Region {
        &REGIONS[self.0]
    }

    fn compiled(self) -> &'static Compiled {
        COMPILED[self.0].get_or_init(|| {
            let region = self.meta();
            let compile = |pattern: &str| {
                RegexBuilder::new(pattern)
                    .ignore_whitespace(true)
                    .build()
                    .ok()
            };
            Compiled {
                international_prefix: region
                    .international_prefix
                    .and_then(|p| compile(&format!("^(?:{p})"))),
                prefix_for_parsing: region
                    .national_prefix_for_parsing
                    .and_then(|p| compile(&format!("^(?:{p})"))),
                pattern: compile(&format!("^(?:{})$", region.pattern)),
            }
        })
    }
}

/// `ph`: the number in E.164 without the `+`, read as libphonenumber reads it with the user's country as the
/// default region.
///
/// - Only ASCII digits are kept. Letters, `#`, `;`, `,` or a second `+` after the first digit end the number,
///   which drops extensions (`ext. 12`, `x12`, `;ext=12`) and second numbers; anything before the first digit
///   (`tel:`, `Tel.`, brackets) is ignored. A non-ASCII digit makes the value invalid rather than silently
///   dropped. In an international number a `(0)` (as in `+33 (0)6 12 34 56 78`) is the trunk prefix and is
///   dropped.
/// - A `+` before the first digit, or a leading `00` whatever the country's own international prefix, is
///   followed by the calling code. Otherwise, when libphonenumber knows the country, the number is read with
///   that country's rules: its international prefix (`011` in the US), its trunk prefix (`0` in France, `8` in
///   Russia, none in Spain or Italy), or its calling code written without `+`. A `00` number that reads as no
///   possible number is read with the country's rules too (Australia's international prefix is `0011`).
/// - A number so read whose length is impossible for its country is invalid. A number libphonenumber cannot
///   read (no or unknown country, unknown calling code) is kept as its digits, leading zeros stripped; fewer
///   than 7 or more than 15 digits is then invalid.
pub(super) fn phone(value: &str, country: Option<&str>) -> Result<String, &'static str> {
    let (plus, digits) = digits_as_written(value)?;
    let region = country.and_then(|country| Known::by_id(&country.trim().to_ascii_uppercase()));
    let national = || region.map(|region| read_national(&digits, region));
    let read = if plus {
        read_international(&digits)
    } else if let Some(rest) = digits.strip_prefix("00") {
        match read_international(rest) {
            Some(Ok(e164)) => Some(Ok(e164)),
            first => national().filter(Result::is_ok).or(first),
        }
    } else {
        national()
    };
    read.unwrap_or_else(|| {
        let digits = digits.trim_start_matches('0');
        if (MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            Ok(digits.to_owned())
        } else {
            Err(NOT_A_PHONE)
        }
    })
}

/// The digits of a phone number as written, and whether a `+` came before them (see [`phone`]).
fn digits_as_written(value: &str) -> Result<(bool, String), &'static str> {
    let mut plus = false;
    let mut digits = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c.is_numeric() {
            return Err("phone number has non-ASCII digits");
        } else if digits.is_empty() {
            if c == '+' {
                plus = true;
            }
        } else if c.is_alphabetic() || matches!(c, '#' | ';' | ',' | '+') {
            break;
        } else if c == '(' && (plus || digits.starts_with("00")) {
            let mut ahead = chars.clone();
            if ahead.next() == Some('0') && ahead.next() == Some(')') {
                chars = ahead;
            }
        }
    }
    if digits.is_empty() {
        return Err(NOT_A_PHONE);
    }
    Ok((plus, digits))
}

/// E.164 digits of `digits` read as a calling code (one to three digits) and a national number in that
/// code's main country; `None` when no calling code starts the digits.
fn read_international(digits: &str) -> Option<Result<String, &'static str>> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3.min(digits.len())).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        let main = Known::main_of(code)?;
        let national = without_national_prefix(main, digits.get(len..)?);
        Some(e164(code, Known::of_code(code), &national))
    })
}

/// E.164 digits of national `digits` read with the rules of the user's country `region`.
fn read_national(digits: &str, region: Known) -> Result<String, &'static str> {
    // The country's international prefix, unless a `0` follows it (libphonenumber's rule).
    let after_idd = region
        .compiled()
        .international_prefix
        .as_ref()
        .and_then(|idd| idd.find(digits))
        .and_then(|idd| digits.get(idd.end()..))
        .filter(|rest| !rest.starts_with('0'));
    if let Some(read) = after_idd.and_then(read_international) {
        return read;
    }
    let code = region.meta().code;
    // The calling code written without `+`: taken as one when the rest is a valid number and the whole is not,
    // or when the whole is too long for the country.
    if let Some(rest) = digits.strip_prefix(code.to_string().as_str()) {
        let rest = national_prefix_stripped(region, rest).unwrap_or_else(|| rest.to_owned());
        let better = !matches_fully(region, digits) && matches_fully(region, &rest);
        if better || length(region, digits.len()) == Length::TooLong {
            return e164(code, std::iter::once(region), &rest);
        }
    }
    e164(
        code,
        std::iter::once(region),
        &without_national_prefix(region, digits),
    )
}

/// `national` without the country's national (trunk) prefix, when stripping it leaves a number of a
/// possible length (libphonenumber's `parse`).
fn without_national_prefix(region: Known, national: &str) -> String {
    match national_prefix_stripped(region, national) {
        Some(stripped)
            if matches!(
                length(region, stripped.len()),
                Length::Possible | Length::TooLong
            ) =>
        {
            stripped
        }
        _ => national.to_owned(),
    }
}

/// `national` with the country's national prefix for parsing replaced by its transform rule (usually
/// removed), or its national prefix removed when it has no prefix for parsing; `None` when no such prefix
/// starts it, or when the number as written matches the country's pattern and the result would not
/// (libphonenumber's `maybeStripNationalPrefixAndCarrierCode`).
fn national_prefix_stripped(region: Known, national: &str) -> Option<String> {
    let meta = region.meta();
    let stripped = match (
        &region.compiled().prefix_for_parsing,
        meta.national_prefix_for_parsing,
    ) {
        (Some(for_parsing), _) => {
            let prefix = for_parsing.captures(national)?;
            let rest = national.get(prefix.get(0)?.end()..)?;
            let last_group = prefix.len().saturating_sub(1);
            match meta.transform_rule {
                Some(rule) if !rule.is_empty() && prefix.get(last_group).is_some() => {
                    let mut transformed = String::new();
                    prefix.expand(rule, &mut transformed);
                    transformed + rest
                }
                _ => rest.to_owned(),
            }
        }
        // A prefix for parsing that does not compile reads no prefix rather than the plain national prefix.
        (None, Some(_)) => return None,
        (None, None) => national
            .strip_prefix(meta.national_prefix.filter(|p| !p.is_empty())?)?
            .to_owned(),
    };
    if matches_fully(region, national) && !matches_fully(region, &stripped) {
        return None;
    }
    Some(stripped)
}

/// `code` and `national` as E.164 digits, or an error when no country of the calling code has such a number:
/// its length must be possible (libphonenumber's `isPossibleNumber`) and its digits must match the country's
/// general pattern (which a French number still starting with its trunk `0` does not).
fn e164(
    code: u16,
    mut regions: impl Iterator<Item = Known>,
    national: &str,
) -> Result<String, &'static str> {
    let possible = |region: Known| {
        matches!(
            length(region, national.len()),
            Length::Possible | Length::Local
        ) && matches_fully(region, national)
    };
    if regions.any(possible) {
        Ok(format!("{code}{national}"))
    } else {
        Err(IMPOSSIBLE)
    }
}

/// How a national number's length compares with its country's lengths (libphonenumber's `testNumberLength`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    Possible,
    /// Possible only when dialled locally, without the area code.
    Local,
    TooShort,
    TooLong,
    /// Between the shortest and the longest, but not a length any number type has.
    Invalid,
}

/// The length class of a national number of `len` digits in `region` (libphonenumber's `testNumberLength`
/// on the lengths of its number types).
fn length(region: Known, len: usize) -> Length {
    let meta = region.meta();
    let Ok(len) = u16::try_from(len) else {
        return Length::TooLong;
    };
    if meta.lengths.contains(&len) {
        Length::Possible
    } else if meta.local_lengths.contains(&len) {
        Length::Local
    } else if meta.lengths.first().is_none_or(|&min| len < min) {
        Length::TooShort
    } else if meta.lengths.last().is_some_and(|&max| len > max) {
        Length::TooLong
    } else {
        Length::Invalid
    }
}

/// Whether all of `national` matches the national number pattern of `region`.
fn matches_fully(region: Known, national: &str) -> bool {
    region
        .compiled()
        .pattern
        .as_ref()
        .is_some_and(|pattern| pattern.is_match(national))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_regions_patterns_compile() {
        for (index, region) in REGIONS.iter().enumerate() {
            let compiled = Known(index).compiled();
            assert!(compiled.pattern.is_some(), "{} pattern", region.id);
            assert_eq!(
                compiled.international_prefix.is_some(),
                region.international_prefix.is_some(),
                "{}",
                region.id
            );
            assert_eq!(
                compiled.prefix_for_parsing.is_some(),
                region.national_prefix_for_parsing.is_some(),
                "{}",
                region.id
            );
        }
    }

    #[test]
    fn regions_are_sorted_by_id_and_each_code_has_one_main_region() {
        assert!(REGIONS.windows(2).all(|pair| pair[0].id <= pair[1].id));
        for region in REGIONS {
            let mains = REGIONS
                .iter()
                .filter(|r| r.code == region.code && r.main)
                .count();
            assert_eq!(mains, 1, "calling code {}", region.code);
        }
    }
}
