//! Resource IDs as templates build them: from a scope, a full type and a full name, and
//! back. IDs compare ignoring case, and a resource group has two spellings
//! (`/subscriptions/s/resourceGroups/g` and `…/providers/Microsoft.Resources/resourceGroups/g`)
//! that [`normalize`] makes one.

/// `/providers/{ns}/{t1}/{n1}/{t2}/{n2}…` for the type `ns/t1/t2` and the names `n1, n2`.
pub fn provider_path(ty: &str, names: &[&str]) -> String {
    let mut segs = ty.split('/');
    let ns = segs.next().unwrap_or_default();
    let mut out = format!("/providers/{ns}");
    for (t, n) in segs.zip(names) {
        out.push('/');
        out.push_str(t);
        out.push('/');
        out.push_str(n);
    }
    out
}

/// The ID of a resource of full type `ty` and full name `name` (`site/web`) at `scope`
/// (a group, a subscription, or a resource for extension resources).
pub fn resource_id(scope: &str, ty: &str, name: &str) -> String {
    let scope = scope.trim_end_matches('/');
    if ty.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") && !scope.contains("/resourceGroups/") {
        return format!("{scope}/resourceGroups/{name}");
    }
    let names: Vec<&str> = name.split('/').collect();
    format!("{scope}{}", provider_path(ty, &names))
}

/// The form in which two IDs are compared.
pub fn normalize(id: &str) -> String {
    let lower = id.trim_end_matches('/').to_ascii_lowercase();
    lower.replace("/providers/microsoft.resources/resourcegroups/", "/resourcegroups/")
}

/// The parts of a resource ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedId {
    /// The subscription, if the ID is under one.
    pub subscription: Option<String>,
    /// The resource group, if the ID is under one.
    pub resource_group: Option<String>,
    /// The scope the resource is in: the ID up to its last `/providers/`.
    pub scope: String,
    /// The full type (`Microsoft.Web/sites/config`).
    pub resource_type: String,
    /// The full name (`app/web`).
    pub name: String,
}

impl ParsedId {
    /// `Microsoft.Web/sites/app`: the short form Azure's messages and `dependsOn` use.
    pub fn type_and_name(&self) -> String {
        let types: Vec<&str> = self.resource_type.split('/').collect();
        let names: Vec<&str> = self.name.split('/').collect();
        let mut out = types[0].to_string();
        for (t, n) in types[1..].iter().zip(&names) {
            out.push('/');
            out.push_str(t);
            out.push('/');
            out.push_str(n);
        }
        if names.len() == 1 && types.len() == 1 {
            out.push('/');
            out.push_str(names[0]);
        }
        out
    }
}

/// Parses an ID (`None` when it is not one).
pub fn parse(id: &str) -> Option<ParsedId> {
    let segs: Vec<&str> = id.trim_matches('/').split('/').collect();
    if segs.len() < 2 {
        return None;
    }
    let mut subscription = None;
    let mut resource_group = None;
    let mut i = 0;
    if segs[0].eq_ignore_ascii_case("subscriptions") {
        subscription = Some(segs[1].to_string());
        i = 2;
        if segs.len() >= 4 && segs[2].eq_ignore_ascii_case("resourceGroups") {
            resource_group = Some(segs[3].to_string());
            i = 4;
            if segs.len() == 4 {
                return Some(ParsedId {
                    subscription,
                    resource_group: resource_group.clone(),
                    scope: format!("/subscriptions/{}", segs[1]),
                    resource_type: "Microsoft.Resources/resourceGroups".into(),
                    name: segs[3].to_string(),
                });
            }
        }
    }
    // The resource is after the last `providers` segment.
    let last = segs.iter().rposition(|s| s.eq_ignore_ascii_case("providers"))?;
    if last < i {
        return None;
    }
    let rest = &segs[last + 1..];
    if rest.len() < 3 || rest.len().is_multiple_of(2) {
        return None;
    }
    let mut ty = rest[0].to_string();
    let mut names = Vec::new();
    for pair in rest[1..].chunks(2) {
        ty.push('/');
        ty.push_str(pair[0]);
        names.push(pair[1]);
    }
    let scope = if last == 0 { String::new() } else { format!("/{}", segs[..last].join("/")) };
    Some(ParsedId { subscription, resource_group, scope, resource_type: ty, name: names.join("/") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_built_from_scope_type_and_name() {
        let rg = "/subscriptions/s/resourceGroups/g";
        assert_eq!(
            resource_id(rg, "Microsoft.Web/sites/config", "app/web"),
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app/config/web"
        );
        assert_eq!(resource_id("/subscriptions/s", "Microsoft.Resources/resourceGroups", "g"), rg);
    }

    #[test]
    fn parse_finds_the_last_provider_and_its_scope() {
        let id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r/providers/Microsoft.Authorization/roleAssignments/x";
        let p = parse(id).unwrap();
        assert_eq!(p.resource_type, "Microsoft.Authorization/roleAssignments");
        assert_eq!(p.scope, "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r");
        assert_eq!(p.resource_group.as_deref(), Some("g"));
        let sub =
            parse("/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/a").unwrap();
        assert_eq!(sub.type_and_name(), "Microsoft.Network/virtualNetworks/v/subnets/a");
    }

    #[test]
    fn normalize_unifies_group_spellings_and_case() {
        assert_eq!(
            normalize("/subscriptions/S/providers/Microsoft.Resources/resourceGroups/G"),
            normalize("/subscriptions/s/resourcegroups/g/")
        );
    }
}
