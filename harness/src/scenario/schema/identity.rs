//! Identities and roles: `[[identity]]` (user-assigned managed identities) and
//! `[[role_assignment]]` (built-in roles, ARM's own table).

use super::refs::Ref;
use super::walker::{Seen, Walker};
use crate::scenario::model::*;
use crate::scenario::tree::Node;

impl Walker<'_> {
    pub(super) fn identity(&mut self, n: &Node, seen: &mut Seen) -> Option<Identity> {
        let mut t = self.table(n, "[[identity]]")?;
        let (name, at) = self.req_str(&mut t, "name");
        self.unique(seen, &name, at, "identity");
        self.finish(t);
        Some(Identity { name })
    }

    pub(super) fn role_assignment(&mut self, n: &Node) -> Option<RoleAssignment> {
        let mut t = self.table(n, "[[role_assignment]]")?;
        let (p, pat) = self.req_str(&mut t, "principal");
        let principal = if p == "site" {
            self.refs.site_principal(pat);
            Principal::Site
        } else if p.is_empty() {
            Principal::Site
        } else {
            match self.prefixed(&p, "identity", pat, "'principal' in [[role_assignment]] ('site' or)") {
                Some(name) => {
                    self.refs.push(Ref::Identity {
                        name: name.to_string(),
                        at: pat,
                        place: "'principal' of [[role_assignment]]".into(),
                    });
                    Principal::Identity(name.to_string())
                }
                None => Principal::Site,
            }
        };
        let roles: Vec<&str> = mock_azure::arm::roles::ROLES.iter().map(|r| r.name).collect();
        let role = match t.has("role") {
            true => self.word(&mut t, "role", |s| roles.iter().find(|r| **r == s).map(|r| r.to_string()), &roles),
            false => {
                t.allow("role");
                self.missing(&t, "role");
                None
            }
        };
        let (s, sat) = self.req_str(&mut t, "scope");
        let scope = if s == "resource_group" || s.is_empty() {
            Scope::ResourceGroup
        } else {
            match self.prefixed(&s, "registry", sat, "'scope' in [[role_assignment]] ('resource_group' or)") {
                Some(name) => {
                    self.refs.push(Ref::Registry {
                        name: name.to_string(),
                        at: sat,
                        place: "'scope' of [[role_assignment]]".into(),
                    });
                    Scope::Registry(name.to_string())
                }
                None => Scope::ResourceGroup,
            }
        };
        self.finish(t);
        Some(RoleAssignment { principal, role: role.unwrap_or_default(), scope })
    }
}
