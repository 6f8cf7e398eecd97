//! What of an event the mapping can read: the keys on its paths, level by level, so that the parse builds only
//! those and skips the rest (an event's other keys are read over, not built).
//!
//! A path's last key keeps its whole value. Above it only the keys of paths are kept; an array there keeps
//! each element as the node's `elements` say (the items' own keys, for the fields read from each item), or
//! whole. A path with an array index (`items.0.id`) keeps the value before the index whole: the index may
//! stand for an array's element or for an object's key.

use super::Path;

/// The kept part of one value (see the module's documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keep {
    /// The whole value is kept (a path ends here).
    whole: bool,
    /// Of an object: the kept keys, and what of each value.
    keys: Vec<(String, Keep)>,
    /// Of an array: what of each element; `None` keeps the elements whole.
    elements: Option<Box<Keep>>,
}

/// Everything kept: what [`super::parse`] builds.
pub static WHOLE: Keep = Keep {
    whole: true,
    keys: Vec::new(),
    elements: None,
};

impl Keep {
    /// Keeps the whole value at `path`.
    pub fn path(&mut self, path: &Path) {
        if let Some(node) = self.node(path) {
            *node = WHOLE.clone();
        }
    }

    /// Keeps, of each element of an array at `path`, what `element` keeps (of an object at `path`, nothing).
    pub fn elements_at(&mut self, path: &Path, element: &Keep) {
        if let Some(node) = self.node(path) {
            node.elements
                .get_or_insert_with(Box::default)
                .merge(element);
        }
    }

    /// Also keeps what `other` keeps.
    pub fn merge(&mut self, other: &Keep) {
        if self.whole || other.whole {
            *self = WHOLE.clone();
            return;
        }
        for (key, kept) in &other.keys {
            self.key(key).merge(kept);
        }
        if let Some(element) = &other.elements {
            self.elements
                .get_or_insert_with(Box::default)
                .merge(element);
        }
    }

    /// The node for the value at `path`, created as needed; `None` when a node on the way keeps its value
    /// whole (as one before an array index does).
    fn node(&mut self, path: &Path) -> Option<&mut Keep> {
        let mut node = self;
        for segment in &path.segments {
            if node.whole {
                return None;
            }
            if segment.index.is_some() {
                *node = WHOLE.clone();
                return None;
            }
            node = node.key(&segment.key);
        }
        (!node.whole).then_some(node)
    }

    fn key(&mut self, key: &str) -> &mut Keep {
        let at = match self.keys.iter().position(|(known, _)| known == key) {
            Some(at) => at,
            None => {
                self.keys.push((key.to_owned(), Keep::default()));
                self.keys.len() - 1
            }
        };
        &mut self.keys[at].1
    }

    /// True when the whole value is kept.
    pub(super) fn is_whole(&self) -> bool {
        self.whole
    }

    /// What of the value of `key` is kept; `None`: the key is skipped.
    pub(super) fn of_key(&self, key: &str) -> Option<&Keep> {
        self.keys
            .iter()
            .find(|(known, _)| super::same_key(key, known))
            .map(|(_, kept)| kept)
    }

    /// What of each element of an array is kept.
    pub(super) fn of_element(&self) -> &Keep {
        self.elements.as_deref().unwrap_or(&WHOLE)
    }

    /// The kept part of a body that holds this event, an array of such events, or `{"events": [...]}` (the
    /// HTTP trigger's envelope).
    pub fn body(&self) -> Keep {
        if self.whole {
            return WHOLE.clone();
        }
        let mut body = self.clone();
        body.elements = Some(Box::new(self.clone()));
        if self.of_key("events").is_none() {
            body.keys.push((
                "events".to_owned(),
                Keep {
                    elements: Some(Box::new(self.clone())),
                    ..Keep::default()
                },
            ));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(paths: &[&str]) -> Keep {
        let mut keep = Keep::default();
        for path in paths {
            keep.path(&Path::parse(path).unwrap());
        }
        keep
    }

    #[test]
    fn paths_keep_their_keys_and_their_last_value_whole() {
        let kept = keep(&["user.email", "user.phone", "context.device.ip", "user"]);
        assert!(kept.of_key("user").unwrap().is_whole(), "a whole path wins");
        let context = kept.of_key("context").unwrap();
        assert!(!context.is_whole());
        assert!(
            context
                .of_key("device")
                .unwrap()
                .of_key("ip")
                .unwrap()
                .is_whole()
        );
        assert!(context.of_key("page").is_none());
        assert!(kept.of_key("items").is_none());
    }

    #[test]
    fn an_array_index_keeps_the_value_before_it_whole() {
        let kept = keep(&["items.0.id", "items.name"]);
        assert!(kept.of_key("items").unwrap().is_whole());
    }

    #[test]
    fn elements_keep_what_each_item_needs() {
        let mut kept = Keep::default();
        let items = Path::parse("items").unwrap();
        kept.elements_at(&items, &keep(&["id", "product.price"]));
        kept.elements_at(&items, &keep(&["quantity"]));
        let element = kept.of_key("items").unwrap().of_element();
        assert!(element.of_key("id").is_some() && element.of_key("quantity").is_some());
        assert!(element.of_key("variant").is_none());
        kept.path(&items);
        assert!(kept.of_key("items").unwrap().is_whole());
        assert!(
            Keep::default().of_element().is_whole(),
            "elements are whole unless said"
        );
    }

    #[test]
    fn a_body_keeps_an_event_an_array_of_events_or_an_events_envelope() {
        let event = keep(&["event_name"]);
        let body = event.body();
        assert_eq!(body.of_key("event_name"), event.of_key("event_name"));
        assert_eq!(body.of_element(), &event);
        assert_eq!(body.of_key("events").unwrap().of_element(), &event);
        assert!(WHOLE.body().is_whole());
    }
}
