//! Derivation of `action_source` when the event does not state it.

use crate::event::{Path, Value, text};
use crate::pinterest::model::ActionSource;
use std::sync::LazyLock;

static ROOT_TYPE: LazyLock<Option<Path>> = LazyLock::new(|| Path::parse("type").ok());
static APP: LazyLock<Option<Path>> = LazyLock::new(|| Path::parse("context.app").ok());
static OS_HINTS: LazyLock<Vec<Path>> = LazyLock::new(|| {
    [
        "context.device.os.name",
        "context.device.type",
        "context.device.user_agent",
    ]
    .iter()
    .filter_map(|p| Path::parse(p).ok())
    .collect()
});

/// The derived source, and whether an app context had no recognisable OS (then `web`).
pub fn derive(event: &Value<'_>) -> (ActionSource, bool) {
    let read = |path: &Option<Path>| path.as_ref().and_then(|p| p.get(event));
    if let Some(kind) = read(&ROOT_TYPE).and_then(|v| text(v).ok().flatten())
        && kind.eq_ignore_ascii_case("offline")
    {
        return (ActionSource::Offline, false);
    }
    let is_app = matches!(read(&APP), Some(Value::Object(app)) if !app.is_empty());
    if !is_app {
        return (ActionSource::Web, false);
    }
    let os = OS_HINTS
        .iter()
        .filter_map(|path| path.get(event).and_then(|v| text(v).ok().flatten()))
        .find_map(|hint| app_platform(&hint));
    match os {
        Some(source) => (source, false),
        None => (ActionSource::Web, true),
    }
}

/// Android or iOS from an OS name, device type or user agent, by the start of a word (`AndroidTV`, `iPhone14,2`,
/// `iPadOS`, `iOS17`), so that `KaiOS` is not iOS.
fn app_platform(hint: &str) -> Option<ActionSource> {
    let hint = hint.to_ascii_lowercase();
    let mut words = hint.split(|c: char| !c.is_ascii_alphanumeric());
    words.find_map(|word| {
        let ios = ["iphone", "ipad", "ipod"]
            .iter()
            .any(|p| word.starts_with(p))
            || word
                .strip_prefix("ios")
                .is_some_and(|version| version.bytes().all(|b| b.is_ascii_digit()));
        if word.starts_with("android") {
            Some(ActionSource::AppAndroid)
        } else if ios {
            Some(ActionSource::AppIos)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `derive` on `event`, parsed from its text as the triggers parse events.
    fn derive_json(event: &serde_json::Value) -> (ActionSource, bool) {
        let text = event.to_string();
        derive(&crate::event::parse(&text).unwrap())
    }

    #[test]
    fn offline_type_wins() {
        let event = json!({"type": "Offline", "context": {"app": {"name": "x"}, "device": {"os": {"name": "android"}}}});
        assert_eq!(derive_json(&event), (ActionSource::Offline, false));
    }

    #[test]
    fn app_context_uses_os_then_type_then_user_agent() {
        let android =
            json!({"context": {"app": {"name": "x"}, "device": {"os": {"name": "Android"}}}});
        assert_eq!(derive_json(&android).0, ActionSource::AppAndroid);
        let ipados =
            json!({"context": {"app": {"name": "x"}, "device": {"os": {"name": "iPadOS"}}}});
        assert_eq!(derive_json(&ipados).0, ActionSource::AppIos);
        let by_type = json!({"context": {"app": {"name": "x"}, "device": {"type": "android"}}});
        assert_eq!(derive_json(&by_type).0, ActionSource::AppAndroid);
        let by_ua = json!({"context": {"app": {"name": "x"}, "device": {"user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}}});
        assert_eq!(derive_json(&by_ua).0, ActionSource::AppIos);
        for (hint, expected) in [
            ("iOS", Some(ActionSource::AppIos)),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)",
                Some(ActionSource::AppIos),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8)",
                Some(ActionSource::AppAndroid),
            ),
            ("AndroidTV", Some(ActionSource::AppAndroid)),
            ("iPhone14,2", Some(ActionSource::AppIos)),
            ("iPad13,4", Some(ActionSource::AppIos)),
            ("iOS17", Some(ActionSource::AppIos)),
            ("iPhoneOS", Some(ActionSource::AppIos)),
            ("iPadOS", Some(ActionSource::AppIos)),
            (
                "MyApp/1.0 (iPhone14,5; iOS 17.1)",
                Some(ActionSource::AppIos),
            ),
            ("iosapp", None),
            ("KaiOS", None),
            (
                "Mozilla/5.0 (Mobile; LYF/F300B; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
                None,
            ),
            ("Bios", None),
            ("Windows", None),
        ] {
            assert_eq!(app_platform(hint), expected, "{hint}");
        }
    }

    #[test]
    fn web_otherwise_and_flags_an_app_without_os() {
        assert_eq!(
            derive_json(&json!({"context": {"page": {"url": "https://x"}}})),
            (ActionSource::Web, false)
        );
        assert_eq!(
            derive_json(&json!({"context": {"app": {}}})),
            (ActionSource::Web, false)
        );
        assert_eq!(
            derive_json(&json!({"context": {"app": {"name": "x"}}})),
            (ActionSource::Web, true)
        );
    }
}
