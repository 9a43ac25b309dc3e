//! A failed deployment as the user needs it: ARM's error (`code`, `message`, `target`,
//! `details`, nested) read into a typed tree, and the references to resources the
//! template does not create picked out of it by code and target ID, never from the
//! message's words.

use std::fmt::Write as _;

use serde_json::Value;

/// Codes ARM and its providers answer when a request names a resource that is not there.
const MISSING: &[&str] = &["ResourceNotFound", "ParentResourceNotFound", "InvalidResourceReference", "NotFound"];

/// One error of ARM's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmFailure {
    /// `code`.
    pub code: String,
    /// `message`.
    pub message: String,
    /// `target`, when ARM names what the error is about.
    pub target: Option<String>,
    /// `details`.
    pub details: Vec<ArmFailure>,
}

impl ArmFailure {
    /// Reads `{"code", "message", "target", "details"}` (an `error` envelope or a bare one).
    pub fn from_json(v: &Value) -> ArmFailure {
        let e = v.get("error").unwrap_or(v);
        let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
        ArmFailure {
            code: s("code"),
            message: s("message"),
            target: e["target"].as_str().filter(|t| !t.is_empty()).map(str::to_string),
            details: e["details"].as_array().into_iter().flatten().map(ArmFailure::from_json).collect(),
        }
    }

    /// The IDs of resources the errors say are missing, each once, in order.
    pub fn missing_resources(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.walk(&mut |f| {
            if let Some(t) = &f.target
                && MISSING.iter().any(|c| c.eq_ignore_ascii_case(&f.code))
                && t.starts_with("/subscriptions/")
                && !out.iter().any(|o| o.eq_ignore_ascii_case(t))
            {
                out.push(t.clone());
            }
        });
        out
    }

    /// Whether an error says a resource is missing without naming it in `target` (the
    /// provider's `ResourceNotFound` names it in prose only): the missing ID is then found
    /// from the template's references (see [`outside_references`]).
    pub fn untargeted_missing(&self) -> bool {
        let mut found = false;
        self.walk(&mut |f| found |= f.target.is_none() && MISSING.iter().any(|c| c.eq_ignore_ascii_case(&f.code)));
        found
    }

    fn walk(&self, f: &mut impl FnMut(&ArmFailure)) {
        f(self);
        for d in &self.details {
            d.walk(f);
        }
    }

    /// The error and its details, indented by depth.
    pub fn render(&self) -> String {
        let mut o = String::new();
        self.render_into(&mut o, 0);
        o
    }

    fn render_into(&self, o: &mut String, depth: usize) {
        let pad = "  ".repeat(depth + 1);
        let target = self.target.as_deref().map(|t| format!(" (target {t})")).unwrap_or_default();
        let _ = writeln!(o, "{pad}{}{target}: {}", self.code, self.message);
        for d in &self.details {
            d.render_into(o, depth + 1);
        }
    }
}

/// The top-level resource of an ID (`…/virtualNetworks/hub` for a subnet of it).
fn top_level(id: &str) -> &str {
    let Some(p) = id.to_ascii_lowercase().find("/providers/") else { return id };
    // `/providers/NS/TYPE/NAME`: four segments after the split.
    let rest = &id[p..];
    let end = rest.match_indices('/').nth(4).map_or(rest.len(), |(i, _)| i);
    &id[..p + end]
}

/// The resource IDs the template's resources name (`virtualNetworkSubnetId`, `subnet.id`,
/// `privateLinkServiceId`…, as what-if evaluates them: `properties.changes[].after`) whose top-level
/// resource neither the template creates nor the subscription holds (`existing`: the
/// top-level IDs of `GET /resources`), each once, in order.
pub fn outside_references(what_if: &Value, existing: &[String]) -> Vec<String> {
    let changes = what_if["properties"]["changes"].as_array().cloned().unwrap_or_default();
    let created: Vec<String> =
        changes.iter().filter_map(|c| c["resourceId"].as_str()).map(|i| top_level(i).to_ascii_lowercase()).collect();
    let mut out: Vec<String> = Vec::new();
    for c in &changes {
        strings(&c["after"], &mut |s| {
            if !s.starts_with("/subscriptions/") || !s.to_ascii_lowercase().contains("/providers/") {
                return;
            }
            let top = top_level(s).to_ascii_lowercase();
            let known = created.contains(&top) || existing.iter().any(|e| e.eq_ignore_ascii_case(&top));
            if !known && !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
                out.push(s.to_string());
            }
        });
    }
    out
}

fn strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, f)),
        Value::Object(m) => m.values().for_each(|x| strings(x, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn missing_resources_come_from_code_and_target_not_from_the_message() {
        let e = ArmFailure::from_json(&json!({"error": {
        "code": "DeploymentFailed", "message": "At least one resource deployment operation failed.",
        "details": [
            {"code": "NotFound", "message": "the words /subscriptions/s/x here count for nothing"},
            {"code": "ResourceNotFound", "target": "/subscriptions/s/resourceGroups/hub/providers/Microsoft.Network/virtualNetworks/hub",
             "message": "The Resource was not found."},
            {"code": "Conflict", "target": "/subscriptions/s/other", "message": "…"}
        ]}}));
        assert_eq!(
            e.missing_resources(),
            ["/subscriptions/s/resourceGroups/hub/providers/Microsoft.Network/virtualNetworks/hub"]
        );
        // The NotFound detail names nothing: the IDs are then looked for in the template.
        assert!(e.untargeted_missing());
        assert!(
            e.render().contains("    ResourceNotFound (target /subscriptions/s/resourceGroups/hub/"),
            "{}",
            e.render()
        );
    }

    #[test]
    fn outside_references_are_the_ids_neither_created_nor_existing() {
        let vnet = "/subscriptions/s/resourceGroups/hub/providers/Microsoft.Network/virtualNetworks/hub";
        let plan = "/subscriptions/s/resourceGroups/spoke/providers/Microsoft.Web/serverfarms/plan";
        let w = json!({"status": "Succeeded", "properties": {"changes": [
            {"resourceId": plan, "after": {"id": plan}},
            {"resourceId": "/subscriptions/s/resourceGroups/spoke/providers/Microsoft.Web/sites/app",
             "after": {"properties": {"serverFarmId": plan, "virtualNetworkSubnetId": format!("{vnet}/subnets/integration")}}}
        ]}});
        assert_eq!(outside_references(&w, &[]), [format!("{vnet}/subnets/integration")]);
        assert!(outside_references(&w, &[vnet.to_ascii_uppercase()]).is_empty());
        assert_eq!(top_level(&format!("{vnet}/subnets/integration")), vnet);
    }
}
