//! Pinterest Conversions API v5: the event model we send, the HTTP client, and what its answers mean.

pub mod client;
pub mod json;
pub mod model;
pub mod response;
