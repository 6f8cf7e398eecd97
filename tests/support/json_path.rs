//! Setting a value at a dotted path of a JSON event, for tests that vary one field of an event. Shared by the
//! integration tests and, through `#[path]`, by the mapping's unit tests.

use serde_json::{Value, json};

/// Sets `value` at the dotted `path` of `event`, creating objects on the way (a non-object there is replaced).
pub fn put(event: &mut Value, path: &str, value: Value) {
    let mut at = event;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            at[part] = value;
            return;
        }
        if !at.get(part).is_some_and(Value::is_object) {
            at[part] = json!({});
        }
        at = &mut at[part];
    }
}
