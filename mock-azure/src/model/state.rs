//! The store's content: resources by key and the sequence number, as replaying journal
//! records builds it. Both the live [`super::store::Store`] and the journal's offline scan
//! ([`super::journal::scan`], `pullsim state check`) replay into it, so it sits below both.

use std::collections::BTreeMap;

use serde_json::Value;

/// Resources by key and the sequence number: what replaying records gives.
#[derive(Default)]
pub(crate) struct State {
    pub(super) resources: BTreeMap<String, Value>,
    pub(super) seq: u64,
}

impl State {
    /// Applies one journal record (a reset record empties the store first).
    pub(crate) fn apply(&mut self, record: &Value) {
        if record["reset"] == true {
            self.resources.clear();
        }
        self.apply_delta(record);
    }

    /// Number of resources.
    pub(crate) fn len(&self) -> usize {
        self.resources.len()
    }

    /// Applies one record's puts and deletes and takes its sequence number.
    pub(super) fn apply_delta(&mut self, record: &Value) {
        if let Some(seq) = record["seq"].as_u64() {
            self.seq = seq;
        }
        for op in record["ops"].as_array().into_iter().flatten() {
            if let Some(v) = op.get("put") {
                let key = v["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                self.resources.insert(key, v.clone());
            } else if let Some(id) = op.get("delete").and_then(Value::as_str) {
                self.resources.remove(&id.to_ascii_lowercase());
            }
        }
    }
}
