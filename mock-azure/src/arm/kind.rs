//! What a provider contributes for one resource type ([`Kind`]), the context its hooks
//! get ([`Ctx`]), and the table of every type, namespace and provider action
//! ([`Kinds`]) that the generic life cycle is handed: providers depend on this file
//! and on `resources`, never the reverse.

use serde_json::Value;

use super::error::ArmError;
use super::http::{ArmRequest, ArmResponse};
use super::service::Arm;
use super::version::ApiVersion;
use crate::model::{ResourceId, Store, Tx};

/// Read access shared by the store and a transaction, so rendering works in both.
pub(super) trait Read {
    /// Only part of a resource (a JSON pointer): reads on every request copy no more
    /// than they need.
    fn get_at(&self, key: &str, pointer: &str) -> Option<Value>;
    fn scan_prefix(&self, prefix: &str) -> Vec<Value>;
}

impl Read for Store {
    fn get_at(&self, key: &str, pointer: &str) -> Option<Value> {
        Store::get_at(self, key, pointer)
    }
    fn scan_prefix(&self, prefix: &str) -> Vec<Value> {
        Store::scan_prefix(self, prefix)
    }
}

impl Read for Tx<'_> {
    fn get_at(&self, key: &str, pointer: &str) -> Option<Value> {
        Tx::get_at(self, key, pointer)
    }
    fn scan_prefix(&self, prefix: &str) -> Vec<Value> {
        Tx::scan_prefix(self, prefix)
    }
}

/// Everything a provider hook needs to know about the request.
pub(super) struct Ctx<'a> {
    pub arm: &'a Arm,
    pub api: ApiVersion,
    pub id: &'a ResourceId,
    /// Every type ARM knows (a hook that creates or removes other resources runs their
    /// types' hooks through it).
    pub kinds: &'a Kinds,
    /// The request writes the resource (PUT or PATCH): its answer shows what was written
    /// (App Service answers a PUT of `config/appsettings` with the settings, never a GET).
    pub write: bool,
}

/// Where a type's `location` comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Loc {
    /// Required on create (a region).
    Region,
    /// Always `global` (private DNS zones and their links).
    Global,
    /// No location (proxy resources: config, subnets, record sets…).
    None,
}

/// `(ctx, tx, canonical id, body, existing)` → the resource to store.
type PutFn = fn(&Ctx, &mut Tx, &str, Value, Option<&Value>) -> Result<Value, ArmError>;
type DeleteFn = fn(&Ctx, &mut Tx, &Value, bool) -> Result<(), ArmError>;
type RenderFn = fn(&Ctx, &dyn Read, Value) -> Value;
type ActionFn = fn(&Ctx, &mut Tx, &str, &Value, &Value) -> Option<Result<ArmResponse, ArmError>>;
/// `(ctx, request, scope)` → a listing the provider answers itself.
type ListFn = fn(&Ctx, &ArmRequest, &ResourceId) -> Result<ArmResponse, ArmError>;
/// A child name (lower case) → which full types it lists, if it lists several.
type ChildListing = fn(&str) -> Option<fn(&str) -> bool>;
/// `ctx` → an instance the provider answers without the store.
type GetFn = fn(&Ctx) -> Result<Value, ArmError>;

/// What a provider contributes for one resource type.
pub(super) struct Kind {
    /// Type with Azure's casing, e.g. `Microsoft.Network/privateDnsZones/virtualNetworkLinks`.
    pub canonical: &'static str,
    /// Tracked resources appear in `/resources` listings.
    pub tracked: bool,
    pub loc: Loc,
    /// Builds the stored resource from the request body and the existing one (validating).
    pub put: PutFn,
    /// Checks and cascades before the resource goes; `cascade` is true when a parent is
    /// being deleted.
    pub delete: DeleteFn,
    /// Adds what is derived at read time (a VNET's subnets, a site's siteConfig).
    pub render: RenderFn,
    /// POST actions on the resource.
    pub action: ActionFn,
    /// Instances not kept in the store, answered by the provider (built-in role
    /// definitions); `None`: read from the store.
    pub get: Option<GetFn>,
    /// Listings at any scope answered by the provider (extension resources such as role
    /// assignments, listed with inherited ones); `None`: listed from the store.
    pub list: Option<ListFn>,
    /// Child names that list several child types at once (a zone's `ALL` and
    /// `recordsets` list every record set): the name (lower case) → which types it lists.
    pub child_listing: Option<ChildListing>,
    /// A real Azure type kept without behaviour (`opaque.rs`): its `type` and ID keep the
    /// request's spelling, and it is listed in `/resources` when it has a location.
    pub opaque: bool,
    /// DELETE answers 200 with the deleted resource (role assignments: their SDK reads
    /// it) instead of an empty 200.
    pub delete_returns_body: bool,
}

/// A kind with every hook at its default; a provider's `static` kinds start from it
/// (`Kind { canonical: …, put: …, ..Kind::BASE }`).
impl Kind {
    pub(super) const BASE: Kind = Kind {
        canonical: "",
        tracked: false,
        loc: Loc::None,
        put: no_put,
        delete: no_delete_hook,
        render: plain_render,
        action: no_action,
        get: None,
        list: None,
        child_listing: None,
        opaque: false,
        delete_returns_body: false,
    };
}

fn no_put(_: &Ctx, _: &mut Tx, _: &str, _: Value, _: Option<&Value>) -> Result<Value, ArmError> {
    Err(ArmError::method_not_allowed("PUT"))
}

pub(super) fn no_delete_hook(_: &Ctx, _: &mut Tx, _: &Value, _: bool) -> Result<(), ArmError> {
    Ok(())
}

pub(super) fn plain_render(_: &Ctx, _: &dyn Read, v: Value) -> Value {
    v
}

pub(super) fn no_action(_: &Ctx, _: &mut Tx, _: &str, _: &Value, _: &Value) -> Option<Result<ArmResponse, ArmError>> {
    None
}

/// A POST on a namespace of the subscription (`/subscriptions/{s}/providers/{ns}/{name}`).
pub(super) struct ProviderAction {
    /// Namespace, with Azure's casing.
    pub namespace: &'static str,
    /// Action name, with Azure's casing (matched ignoring case).
    pub name: &'static str,
    /// Answers the action from the request body.
    pub run: fn(&Arm, &Value) -> Result<ArmResponse, ArmError>,
}

/// Every resource type, namespace and provider action ARM knows (one table, built in
/// `kinds`).
pub(super) struct Kinds {
    /// Each provider's kinds.
    pub kinds: &'static [&'static [&'static Kind]],
    /// Namespaces, with Azure's casing.
    pub namespaces: &'static [&'static str],
    /// Namespaces whose types live at any scope and are listed by their provider
    /// ([`Kind::list`]).
    pub extension_namespaces: &'static [&'static str],
    /// Each provider's subscription-level actions.
    pub actions: &'static [&'static [ProviderAction]],
    /// Real Azure types kept opaque, if this table accepts them.
    pub opaque: Option<&'static Opaque>,
}

/// Real Azure namespaces and types accepted without behaviour, and the kind they get.
pub(super) struct Opaque {
    /// The kind of every opaque type.
    pub kind: &'static Kind,
    /// Namespaces every type of which is opaque, with Azure's casing.
    pub namespaces: &'static [&'static str],
    /// Full types of modeled namespaces that are opaque, with Azure's casing.
    pub types: &'static [&'static str],
}

impl Kinds {
    /// The kind of a lower-cased full type (`microsoft.web/sites`).
    pub fn get(&self, type_key: &str) -> Option<&'static Kind> {
        self.kinds
            .iter()
            .flat_map(|ks| ks.iter())
            .copied()
            .find(|k| k.canonical.eq_ignore_ascii_case(type_key))
            .or_else(|| {
                let o = self.opaque?;
                let ns = type_key.split('/').next().unwrap_or_default();
                let listed = o.namespaces.iter().any(|n| n.eq_ignore_ascii_case(ns))
                    || o.types.iter().any(|t| t.eq_ignore_ascii_case(type_key));
                (listed && type_key.contains('/')).then_some(o.kind)
            })
    }

    /// The namespace with Azure's casing, or `InvalidResourceNamespace`.
    pub fn namespace(&self, ns: &str) -> Result<&'static str, ArmError> {
        self.namespaces
            .iter()
            .chain(self.opaque.map_or(&[][..], |o| o.namespaces))
            .copied()
            .find(|n| n.eq_ignore_ascii_case(ns))
            .ok_or_else(|| ArmError::unknown_namespace(ns))
    }

    /// Whether the namespace's types are extension resources (any scope).
    pub fn is_extension(&self, ns: &str) -> bool {
        self.extension_namespaces.iter().any(|n| n.eq_ignore_ascii_case(ns))
    }

    /// The subscription-level action `name` of namespace `ns`.
    pub fn action(&self, ns: &str, name: &str) -> Option<&'static ProviderAction> {
        self.actions
            .iter()
            .flat_map(|a| a.iter())
            .find(|a| a.namespace.eq_ignore_ascii_case(ns) && a.name.eq_ignore_ascii_case(name))
    }
}
