//! Pinterest's request schema (tests/fixtures, copied unchanged from Pinterest's OpenAPI v5.23.0).

use serde_json::Value;
use std::sync::LazyLock;

static REQUEST_VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conversion-events.request.schema.json"
    );
    let text = std::fs::read_to_string(path).expect("request schema fixture");
    let schema: Value = serde_json::from_str(&text).expect("request schema is JSON");
    jsonschema::validator_for(&schema).expect("request schema compiles")
});

/// The schema errors of a request body `{"data": [...]}` (empty when valid).
pub fn request_errors(body: &Value) -> Vec<String> {
    REQUEST_VALIDATOR
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}
