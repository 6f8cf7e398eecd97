//! Pinterest Conversions API destination for Commanders Act events: mapping, delivery, Lambda triggers.

pub mod budget;
pub mod config;
pub mod delivery;
pub mod event;
#[cfg(feature = "fake-pinterest")]
pub mod fake_pinterest;
pub mod fate;
pub mod handler;
pub mod logging;
pub mod mapping;
pub mod normalize;
pub mod pinterest;
pub mod redact;
pub mod rejected;
pub mod summary;
pub mod text;
pub mod token;
pub mod trigger;
