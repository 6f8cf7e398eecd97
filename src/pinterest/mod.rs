//! Pinterest Conversions API v5: the event model we send and, later, the HTTP client.

pub mod model;
