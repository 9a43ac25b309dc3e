//! The subscription's first Owner: the service principal `serve` prints holds the Owner
//! role through an ordinary role assignment on the subscription, made once per store
//! (when it is new, or reset) together with a marker that it was made, so an assignment
//! a client deleted stays deleted across restarts.

use serde_json::json;

use super::roles::{self, ASSIGNMENT_TYPE};
use crate::model::{Store, StoreError, net};

/// The ID of the Owner assignment of principal `oid` on subscription `sub`.
pub fn assignment_id(sub: &str, oid: &str) -> String {
    format!(
        "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{}",
        net::guid(&["owner-assignment", oid])
    )
}

/// Makes principal `oid` the Owner of subscription `sub`, unless this store already did.
pub fn bootstrap(store: &Store, sub: &str, oid: &str) -> Result<(), StoreError> {
    let marker = format!("/subscriptions/{sub}/providers/Pullsim.Authorization/bootstrap/owner");
    if store.get_key(&marker.to_ascii_lowercase()).is_some() {
        return Ok(());
    }
    let owner = roles::by_name("Owner").map(|r| r.id).unwrap_or_default();
    let id = assignment_id(sub, oid);
    store.transact(|tx| {
        tx.put(json!({
            "id": id, "name": id.rsplit('/').next().unwrap_or_default(), "type": ASSIGNMENT_TYPE,
            "properties": {
                "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{owner}"),
                "principalId": oid, "principalType": "ServicePrincipal",
                "scope": format!("/subscriptions/{sub}"), "condition": null, "createdOn": "2021-07-03T00:00:00Z",
            },
        }));
        tx.put(json!({"id": marker, "name": "owner", "type": "Pullsim.Authorization/bootstrap", "properties": {}}));
        Ok::<(), StoreError>(())
    })
}
