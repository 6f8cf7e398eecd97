//! Helpers shared by the integration tests: Pinterest's schema, a fake Pinterest API, a fake SQS, a local Secrets
//! Manager and SQS (moto), the Lambda runtime emulator, in-process invocations, log capture and leak checks.

pub mod emulator;
pub mod fake_pinterest;
pub mod fake_sqs;
pub mod invoke;
pub mod json_path;
pub mod leaks;
pub mod logs;
pub mod moto;
pub mod schema;
