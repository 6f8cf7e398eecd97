//! The integration tests, one module per concern, linked into one test binary (`cargo test --test integration`;
//! a module's tests alone: `cargo test --test integration golden::`). One binary instead of thirteen saves
//! ~500 MB of disk and twelve links; tests/README.md says what each module proves.

mod support;

mod bad_input;
mod budget;
mod cli;
mod delivery;
mod e2e;
mod event_tables;
mod faults;
mod golden;
mod local_run;
mod log_hygiene;
mod no_loss;
mod phone_regions;
mod properties;
mod schema_targets;
mod security;
mod template;
mod token_moto;
mod triggers;
