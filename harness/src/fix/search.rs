//! The search: which sets of knobs make the pull succeed, by the oracle, on scratch
//! copies of the store. Each candidate set is applied to its own copy through a real ARM
//! (the same requests the Azure CLI sends, so a change Azure refuses in that
//! configuration is refused here too, and dependent resources — a zone group's records,
//! an endpoint's NIC — appear as they do), then `oracle::predict` judges the pull. Sets
//! grow from one change to [`MAX_SIZE`]; a set holding a smaller fix is not tried (only
//! minimal fixes are kept). Fixes are ranked by size, then by privilege.

use std::sync::Arc;

use mock_azure::appservice::oracle::{Prediction, predict};
use mock_azure::appservice::rules::Epoch;
use mock_azure::arm::{Arm, ArmConfig, ArmRequest, ArmResponse};
use mock_azure::identity::TokenSigner;
use mock_azure::model::Store;
use serde_json::Value;

use super::catalog::Catalog;
use super::change::{Api, Change, Refused};
use super::facts::Facts;

/// The most changes one fix may hold.
pub const MAX_SIZE: usize = 3;
/// The most candidate sets one search evaluates.
pub const MAX_EVALUATIONS: usize = 4000;

/// A fake ARM over a copy of a store, called in process.
pub struct Scratch {
    arm: Arm,
    token: String,
}

impl Scratch {
    /// A copy of `resources` (every stored resource, as `Store::filter` returns them)
    /// behind its own ARM.
    pub fn new(resources: &[Value], signer: &Arc<TokenSigner>) -> Scratch {
        let store = Store::in_memory();
        let copied: Result<(), mock_azure::model::StoreError> = store.transact(|tx| {
            for v in resources {
                tx.put(v.clone());
            }
            Ok(())
        });
        if let Err(e) = copied {
            tracing::warn!(error = %e, "copying the store for the fix search");
        }
        let cfg = ArmConfig::new("https://127.0.0.1");
        let token = cfg.client_token(signer, 3600);
        Scratch { arm: Arm::new(store, signer.clone(), cfg), token }
    }

    /// The copy's store.
    pub fn store(&self) -> &Store {
        &self.arm.store
    }
}

impl Api for Scratch {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> ArmResponse {
        let mut req = ArmRequest::new(method, path).header("authorization", &format!("Bearer {}", self.token));
        if let Some(b) = body {
            req = req.json(b);
        }
        self.arm.handle(&req)
    }
}

/// Applies `changes` in their order to `api`; the first refusal stops it.
pub fn apply_all(api: &dyn Api, changes: &[Change], f: &Facts) -> Result<(), Refused> {
    let mut ordered: Vec<&Change> = changes.iter().collect();
    ordered.sort_by_key(|c| c.order());
    for c in ordered {
        c.apply(api, f)?;
    }
    Ok(())
}

/// What the search found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Minimal fixes, best first, each with the oracle's prediction.
    pub fixes: Vec<(Vec<Change>, Prediction)>,
    /// The knobs it tried.
    pub knobs: usize,
    /// Candidate sets the oracle judged.
    pub evaluated: usize,
    /// Whether it stopped at [`MAX_EVALUATIONS`] before trying every set.
    pub truncated: bool,
}

/// Searches the minimal sets of `knobs` that make the pull of `site` succeed.
pub fn search(
    resources: &[Value],
    f: &Facts,
    knobs: &[Change],
    catalog: &Catalog,
    site: &str,
    epoch: Epoch,
) -> anyhow::Result<Found> {
    let signer = Arc::new(TokenSigner::generate().map_err(|_| anyhow::anyhow!("generating a token key"))?);
    let mut found = Found { knobs: knobs.len(), ..Found::default() };
    let mut minimal: Vec<Vec<usize>> = Vec::new();
    'sizes: for size in 1..=MAX_SIZE.min(knobs.len()) {
        for set in combinations(knobs.len(), size) {
            if minimal.iter().any(|m| m.iter().all(|i| set.contains(i))) {
                continue;
            }
            let changes: Vec<Change> = set.iter().map(|&i| knobs[i].clone()).collect();
            if changes.iter().enumerate().any(|(i, a)| changes[i + 1..].iter().any(|b| a.conflicts(b))) {
                continue;
            }
            if found.evaluated >= MAX_EVALUATIONS {
                found.truncated = true;
                break 'sizes;
            }
            found.evaluated += 1;
            let scratch = Scratch::new(resources, &signer);
            if apply_all(&scratch, &changes, f).is_err() {
                continue;
            }
            let p = predict(scratch.store(), catalog, site, epoch);
            if p.success {
                minimal.push(set);
                found.fixes.push((changes, p));
            }
        }
    }
    found.fixes.sort_by_key(|(c, _)| (c.len(), c.iter().map(Change::privilege).sum::<u32>()));
    Ok(found)
}

/// The `k`-subsets of `0..n`, in lexicographic order.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = (0..k).collect();
    if k == 0 || k > n {
        return out;
    }
    loop {
        out.push(cur.clone());
        let Some(i) = (0..k).rev().find(|&i| cur[i] < n - k + i) else { break };
        cur[i] += 1;
        for j in i + 1..k {
            cur[j] = cur[j - 1] + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::combinations;

    #[test]
    fn combinations_are_every_subset_once_in_order() {
        assert_eq!(combinations(4, 2), vec![vec![0, 1], vec![0, 2], vec![0, 3], vec![1, 2], vec![1, 3], vec![2, 3]]);
        assert_eq!(combinations(5, 3).len(), 10);
        assert!(combinations(2, 3).is_empty());
    }
}
