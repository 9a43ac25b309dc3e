//! The table of everything ARM knows: each provider's resource types, the namespaces,
//! the extension namespaces and the subscription-level provider actions. The dispatcher
//! hands it to the generic life cycle; a new resource type or provider is added here
//! (see ARCHITECTURE.md, "How to add an ARM resource type").

use super::kind::Kinds;
use super::{acr, groups, network, privatedns, rbac, web};

/// Every kind, namespace and provider action.
pub(super) static KINDS: Kinds = Kinds {
    kinds: &[web::KINDS, acr::KINDS, network::KINDS, privatedns::KINDS, rbac::KINDS, groups::KINDS],
    namespaces: &[
        "Microsoft.Web",
        "Microsoft.ContainerRegistry",
        "Microsoft.Network",
        "Microsoft.ManagedIdentity",
        "Microsoft.Authorization",
        "Microsoft.Resources",
    ],
    extension_namespaces: &["Microsoft.Authorization"],
    actions: &[web::ACTIONS, acr::ACTIONS],
};
