//! Azure resource IDs: parsing, case-insensitive keys, types, parents.
//!
//! ARM treats every segment of a path case-insensitively, so the store keys
//! resources by the lower-cased ID while keeping the casing the resource was
//! created with for display (as Azure does).

use std::fmt;

/// A parsed resource ID such as
/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/config/web`.
///
/// Extension resources (`{scope}/providers/Microsoft.Authorization/roleAssignments/{id}`)
/// are IDs too: `scope` is then the ID of the resource they extend.
#[derive(Clone, PartialEq, Eq)]
pub struct ResourceId {
    /// The ID as written, with `//` collapsed and no trailing `/`.
    raw: String,
    /// Subscription ID.
    pub subscription: String,
    /// Resource group name, if the ID is under one.
    pub resource_group: Option<String>,
    /// Provider namespace (`Microsoft.Web`), if this is a provider resource.
    pub namespace: Option<String>,
    /// `(type, name)` pairs after the namespace: `[("sites","app"),("config","web")]`.
    pub segments: Vec<(String, String)>,
    /// For an extension resource, the ID of the resource it extends.
    pub scope: Option<Box<ResourceId>>,
}

/// Why a path is not a resource ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{path}' is not a valid resource ID: {reason}")]
pub struct InvalidId {
    /// The offending path.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The longest ID pullsim accepts, in segments (Azure's deepest nested types use about 14).
const MAX_SEGMENTS: usize = 64;

/// Collapses repeated slashes and drops a trailing slash, as ARM does.
pub fn normalize_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

impl ResourceId {
    /// Parses a resource ID (leading `/` optional, `//` tolerated).
    pub fn parse(path: &str) -> Result<ResourceId, InvalidId> {
        let raw = normalize_path(path);
        let segs: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
        Self::from_segments(&raw, &segs)
    }

    fn from_segments(raw: &str, segs: &[&str]) -> Result<ResourceId, InvalidId> {
        let bad = |reason| InvalidId { path: raw.to_string(), reason };
        if segs.len() < 2 || !segs[0].eq_ignore_ascii_case("subscriptions") {
            return Err(bad("it must start with /subscriptions/{subscriptionId}"));
        }
        if segs.len() > MAX_SEGMENTS {
            return Err(bad("it has too many segments"));
        }
        // An extension resource: `{scope}/providers/{ns}/{type}/{name}`. One level only
        // (Azure has no extension of an extension), so the parse never recurses further.
        let provider_positions: Vec<usize> = segs
            .iter()
            .enumerate()
            .filter(|(i, s)| *i >= 2 && s.eq_ignore_ascii_case("providers"))
            .map(|(i, _)| i)
            .collect();
        match provider_positions.as_slice() {
            [] | [_] => {}
            [first, last] => {
                let scope_raw = format!("/{}", segs[..*last].join("/"));
                let scope = Self::from_segments(&scope_raw, &segs[..*last])?;
                let mut ext = Self::from_segments(raw, &[&segs[..2], &segs[*last..]].concat())?;
                debug_assert!(*first < *last);
                ext.resource_group = scope.resource_group.clone();
                ext.raw = raw.to_string();
                ext.scope = Some(Box::new(scope));
                return Ok(ext);
            }
            _ => return Err(bad("extension resources nest at most one level")),
        }
        let subscription = segs[1].to_string();
        let mut i = 2;
        let mut resource_group = None;
        if segs.len() > i && segs[i].eq_ignore_ascii_case("resourcegroups") {
            let rg = segs.get(i + 1).ok_or_else(|| bad("resource group name missing"))?;
            resource_group = Some(rg.to_string());
            i += 2;
        }
        let mut namespace = None;
        let mut segments = Vec::new();
        if segs.len() > i {
            if !segs[i].eq_ignore_ascii_case("providers") {
                return Err(bad("expected 'providers' after the resource group"));
            }
            let ns = segs.get(i + 1).ok_or_else(|| bad("provider namespace missing"))?;
            namespace = Some(ns.to_string());
            i += 2;
            let rest = &segs[i..];
            if !rest.len().is_multiple_of(2) {
                return Err(bad("resource type without a name"));
            }
            for pair in rest.chunks(2) {
                segments.push((pair[0].to_string(), pair[1].to_string()));
            }
        }
        Ok(ResourceId { raw: raw.to_string(), subscription, resource_group, namespace, segments, scope: None })
    }

    /// Builds the ID of a top-level resource in a resource group.
    pub fn in_group(sub: &str, rg: &str, namespace: &str, ty: &str, name: &str) -> ResourceId {
        // The pieces come from validated IDs and names, so this cannot fail; fall back to the
        // group ID rather than panic if a caller passes something odd.
        let raw = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{ty}/{name}");
        ResourceId::parse(&raw).unwrap_or_else(|_| ResourceId::group(sub, rg))
    }

    /// Builds the ID of a resource group.
    pub fn group(sub: &str, rg: &str) -> ResourceId {
        ResourceId {
            raw: format!("/subscriptions/{sub}/resourceGroups/{rg}"),
            subscription: sub.to_string(),
            resource_group: Some(rg.to_string()),
            namespace: None,
            segments: Vec::new(),
            scope: None,
        }
    }

    /// A child of this resource: `self/{ty}/{name}`.
    pub fn child(&self, ty: &str, name: &str) -> ResourceId {
        let mut c = self.clone();
        c.raw = format!("{}/{}/{}", self.raw, ty, name);
        c.segments.push((ty.to_string(), name.to_string()));
        c
    }

    /// The parent resource, for a nested resource (`sites/app/config/web` → `sites/app`).
    pub fn parent(&self) -> Option<ResourceId> {
        if self.segments.len() < 2 {
            return None;
        }
        let mut p = self.clone();
        p.segments.pop();
        let cut = self.raw.rfind('/').and_then(|i| self.raw[..i].rfind('/'));
        p.raw = self.raw[..cut?].to_string();
        Some(p)
    }

    /// The ID as written (with `//` collapsed).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The case-insensitive key the store uses.
    pub fn key(&self) -> String {
        self.raw.to_ascii_lowercase()
    }

    /// Whether this is a resource group ID.
    pub fn is_group(&self) -> bool {
        self.resource_group.is_some() && self.namespace.is_none()
    }

    /// The full resource type, `Microsoft.Network/privateDnsZones/virtualNetworkLinks`.
    /// Resource groups are `Microsoft.Resources/resourceGroups`.
    pub fn full_type(&self) -> String {
        match &self.namespace {
            None if self.resource_group.is_some() => "Microsoft.Resources/resourceGroups".into(),
            None => "Microsoft.Resources/subscriptions".into(),
            Some(ns) => {
                let mut t = ns.clone();
                for (ty, _) in &self.segments {
                    t.push('/');
                    t.push_str(ty);
                }
                t
            }
        }
    }

    /// The lower-cased full type, for matching.
    pub fn type_key(&self) -> String {
        self.full_type().to_ascii_lowercase()
    }

    /// The last name segment (`web` for `sites/app/config/web`).
    pub fn name(&self) -> &str {
        match self.segments.last() {
            Some((_, n)) => n,
            None => self.resource_group.as_deref().unwrap_or(&self.subscription),
        }
    }

    /// The name ARM shows for nested tracked resources: `zone/link`.
    pub fn nested_name(&self) -> String {
        self.segments.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join("/")
    }

    /// The name of the `n`-th type/name pair (0 = the top-level resource).
    pub fn name_at(&self, n: usize) -> Option<&str> {
        self.segments.get(n).map(|(_, name)| name.as_str())
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceId({})", self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_resource_has_full_type_and_parent() {
        let id = ResourceId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/l",
        )
        .unwrap();
        assert_eq!(id.full_type(), "Microsoft.Network/privateDnsZones/virtualNetworkLinks");
        assert_eq!(id.nested_name(), "privatelink.azurecr.io/l");
        let p = id.parent().unwrap();
        assert_eq!(
            p.as_str(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io"
        );
    }

    #[test]
    fn keys_ignore_case_and_double_slashes() {
        let a = ResourceId::parse("/subscriptions/S//resourcegroups/RG/providers/microsoft.web/sites/App/").unwrap();
        let b = ResourceId::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app").unwrap();
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn extension_resource_keeps_its_scope() {
        let id = ResourceId::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/providers/Microsoft.Authorization/roleAssignments/g",
        )
        .unwrap();
        assert_eq!(id.full_type(), "Microsoft.Authorization/roleAssignments");
        assert_eq!(id.scope.as_ref().unwrap().full_type(), "Microsoft.ContainerRegistry/registries");
        assert_eq!(id.resource_group.as_deref(), Some("rg"));
    }

    #[test]
    fn deeply_nested_providers_are_refused_without_recursing() {
        let deep = format!("/subscriptions/s{}", "/providers".repeat(1000));
        assert!(ResourceId::parse(&deep).is_err());
        let three = "/subscriptions/s/resourceGroups/rg/providers/A.B/t/n/providers/C.D/u/m/providers/E.F/v/o";
        assert!(ResourceId::parse(three).is_err());
    }

    #[test]
    fn type_without_name_is_rejected() {
        assert!(ResourceId::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites").is_err());
    }
}
