//! Normalisation and SHA-256 hashing of personal data (SPEC §6), one rule per field.
//! (Interface stub: the implementation lands in the next commit.)

use crate::pinterest::model::Hashed;

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

/// Normalises `raw` for `field`; `country` is the user's ISO-3166 alpha-2 code in lower case, when known.
pub fn normalize(
    _field: HashedField,
    _raw: &str,
    _country: Option<&str>,
) -> Result<String, Omitted> {
    Err(Omitted::Invalid("not implemented"))
}

/// Pre-hashed values pass through lower-cased; others are normalised then hashed.
pub fn hash(_field: HashedField, _raw: &str, _country: Option<&str>) -> Result<Hashed, Omitted> {
    Err(Omitted::Invalid("not implemented"))
}
