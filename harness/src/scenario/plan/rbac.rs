//! Identities and roles: user-assigned identities, and role assignments, which need the
//! principal ID ARM gave the identity (or the site's system identity).

use serde_json::json;

use super::{ArmCall, Deferred, Fill, Plan, PlanStep};
use crate::scenario::model::*;

impl Plan<'_> {
    pub(super) fn identity(&mut self, i: &Identity) {
        let body = json!({"location": self.t.resource_group.location});
        self.call("PUT", self.ids.identity(&i.name), Some(body), format!("create identity {}", i.name));
    }

    /// Reads the principal, then assigns the role (a deferred step). The assignment's
    /// name is derived from what it assigns, so the same scenario gives the same plan.
    pub(super) fn role_assignment(&mut self, ra: &RoleAssignment) {
        let ids = &self.ids;
        let scope = match &ra.scope {
            Scope::Registry(r) => ids.registry(r),
            Scope::ResourceGroup => ids.rg(),
        };
        let (lookup, pointer, label) = match &ra.principal {
            Principal::Site => {
                let name = self.t.site.as_ref().map(|s| s.name.clone()).unwrap_or_default();
                (
                    ArmCall::new("GET", ids.site(&name), None, format!("read site {name}")),
                    "/identity/principalId",
                    format!("site {name}"),
                )
            }
            Principal::Identity(i) => (
                ArmCall::new("GET", ids.identity(i), None, format!("read identity {i}")),
                "/properties/principalId",
                format!("identity {i}"),
            ),
        };
        let role_guid = mock_azure::arm::roles::ROLES.iter().find(|r| r.name == ra.role).map(|r| r.id).unwrap_or("");
        let name =
            mock_azure::model::net::guid(&["pullsim-role-assignment", &scope.to_ascii_lowercase(), &label, &ra.role]);
        let what = format!("assign {} on {} to {label}", ra.role, scope.rsplit('/').next().unwrap_or_default());
        let fill = Fill::Role {
            path: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            role_definition_id: format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
                ids.sub
            ),
            pointer,
            what,
        };
        self.out.push(PlanStep::RoleAssignment {
            principal: ra.principal.clone(),
            role: ra.role.clone(),
            scope,
            step: Deferred { lookup, fill },
        });
    }
}
