//! Helpers shared by the integration tests: a fake Pinterest API and a local Secrets Manager (moto).
#![allow(dead_code)] // each test binary uses only some of the helpers

pub mod fake_pinterest;
pub mod moto;
