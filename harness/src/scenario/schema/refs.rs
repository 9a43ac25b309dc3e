//! References between resources (`"vnet/subnet"`, `"registry:<name>"`, a VNET's name…):
//! recorded where the walk meets them, checked once the whole topology is known (by
//! [`super::refcheck`]), so a reference may point at a resource written further down or in
//! the fixture.

use std::net::Ipv4Addr;

use crate::scenario::model::SubnetRef;
use crate::scenario::tree::At;

/// A reference to check once the whole topology is known; `place` names where it was
/// written (`'remote' of [[vnet]].peerings`).
pub(super) enum Ref {
    Vnet { name: String, at: At, place: String },
    Subnet { r: SubnetRef, at: At, place: String },
    Registry { name: String, at: At, place: String },
    Zone { name: String, at: At, place: String },
    Identity { name: String, at: At, place: String },
    AddressInVnet { vnet: String, ip: Ipv4Addr, at: At, place: String },
}

/// What a walk must check at its end.
#[derive(Default)]
pub(crate) struct Refs {
    pub(super) list: Vec<Ref>,
    /// `site` principal of role assignments (needs a system identity).
    pub(super) site_principal_uses: Vec<At>,
}

impl Refs {
    pub(super) fn push(&mut self, r: Ref) {
        self.list.push(r);
    }

    /// A role assignment names the site's system identity here.
    pub(super) fn site_principal(&mut self, at: At) {
        self.site_principal_uses.push(at);
    }
}
