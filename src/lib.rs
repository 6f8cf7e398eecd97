//! Pinterest Conversions API destination for Commanders Act events: mapping, delivery, Lambda triggers.

pub mod delivery;
pub mod normalize;
pub mod pinterest;
pub mod token;
