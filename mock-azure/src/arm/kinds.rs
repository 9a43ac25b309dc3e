//! The table of everything ARM knows: each provider's resource types, the namespaces,
//! the extension namespaces and the subscription-level provider actions. The dispatcher
//! hands it to the generic life cycle; a new resource type or provider is added here
//! (see ARCHITECTURE.md, "How to add an ARM resource type").

use super::kind::Kinds;
use super::{acr, groups, network, opaque, privatedns, rbac, web};

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
    opaque: Some(&opaque::TABLE),
};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! "How to add an ARM resource type" (ARCHITECTURE.md), done once: a kind of a new
    //! namespace written against `kind.rs` alone, put in a table beside the real ones, and
    //! driven through the generic life cycle as a client would.

    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::super::body::bool_at;
    use super::super::error::ArmError;
    use super::super::http::{ArmRequest, ArmResponse};
    use super::super::kind::{Ctx, Kind, Kinds, Loc, ProviderAction};
    use super::super::resources;
    use super::super::route::Route;
    use super::super::service::{Arm, ArmConfig};
    use super::super::version::ApiVersion;
    use super::super::{groups, subscription};
    use crate::identity::TokenSigner;
    use crate::model::{Store, Tx};

    /// Step 1: the kind, with the hooks it needs and defaults for the rest.
    static WIDGET: Kind = Kind {
        canonical: "Contoso.Widgets/widgets",
        tracked: true,
        loc: Loc::Region,
        put: put_widget,
        render: |_, _, mut v| {
            // Derived at read time, never stored.
            v["properties"]["label"] = json!(format!("widget of size {}", v["properties"]["size"]));
            v
        },
        action: |_, tx, action, widget, _| {
            (action == "grow").then(|| {
                let mut w = widget.clone();
                w["properties"]["size"] = json!(w["properties"]["size"].as_u64().unwrap_or(0) + 1);
                tx.put(w.clone());
                Ok(ArmResponse::json(200, &w))
            })
        },
        ..Kind::BASE
    };

    fn put_widget(_: &Ctx, _: &mut Tx, _: &str, body: Value, existing: Option<&Value>) -> Result<Value, ArmError> {
        let size = match body.pointer("/properties/size") {
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| ArmError::invalid_content("'size' must be whole"))?,
            None => existing.and_then(|e| e["properties"]["size"].as_u64()).unwrap_or(1),
            Some(_) => return Err(ArmError::invalid_content("'size' must be a number")),
        };
        let shiny = bool_at(&body, "/properties/shiny")?.unwrap_or(false);
        Ok(json!({"properties": {"size": size, "shiny": shiny, "provisioningState": "Succeeded"}}))
    }

    /// Step 2: listed in a table with its namespace (here beside resource groups only),
    /// with a provider action.
    static TABLE: Kinds = Kinds {
        kinds: &[groups::KINDS, &[&WIDGET]],
        namespaces: &["Microsoft.Resources", "Contoso.Widgets"],
        extension_namespaces: &[],
        opaque: None,
        actions: &[&[ProviderAction {
            namespace: "Contoso.Widgets",
            name: "census",
            run: |arm, _| {
                let n = arm.store.filter(|_, v| v["type"] == WIDGET.canonical).len();
                Ok(ArmResponse::json(200, &json!({ "widgets": n })))
            },
        }]],
    };

    fn call(arm: &Arm, method: &str, path: &str, body: Value) -> ArmResponse {
        let mut req = ArmRequest::new(method, &format!("{path}?api-version=2024-01-01"));
        if !body.is_null() {
            req = req.json(&body);
        }
        let api = ApiVersion::parse("2024-01-01").unwrap();
        let route = Route::parse(path).unwrap();
        let r = match route {
            Route::SubscriptionType { sub, ns, name } if method == "POST" => {
                subscription::provider_action(arm, &TABLE, &req, &sub, &ns, &name)
            }
            route => resources::handle(arm, &TABLE, &req, api, route),
        };
        r.unwrap_or_else(Into::into)
    }

    #[test]
    fn a_new_kind_plugs_into_the_generic_life_cycle() {
        let arm = Arm::new(Store::in_memory(), Arc::new(TokenSigner::generate().unwrap()), ArmConfig::new("https://x"));
        let sub = format!("/subscriptions/{}", arm.cfg.subscription_id);
        let rg = format!("{sub}/resourceGroups/rg");
        let w1 = format!("{rg}/providers/Contoso.Widgets/widgets/w1");
        assert_eq!(call(&arm, "PUT", &rg, json!({"location": "westeurope"})).status, 201);
        let made = call(&arm, "PUT", &w1, json!({"location": "West Europe", "properties": {"size": 2}}));
        assert_eq!(made.status, 201, "{}", made.json_body());
        let got = call(&arm, "GET", &w1, Value::Null).json_body();
        assert_eq!(
            (got["location"].clone(), got["properties"]["label"].clone()),
            (json!("westeurope"), json!("widget of size 2"))
        );
        let bad = call(&arm, "PUT", &w1, json!({"properties": {"size": "big"}}));
        assert_eq!((bad.status, bad.json_body()["error"]["code"].clone()), (400, json!("InvalidRequestContent")));
        assert_eq!(call(&arm, "POST", &format!("{w1}/grow"), json!({})).json_body()["properties"]["size"], 3);
        let listed = call(&arm, "GET", &format!("{rg}/providers/Contoso.Widgets/widgets"), Value::Null).json_body();
        assert_eq!(listed["value"].as_array().unwrap().len(), 1);
        let all = call(&arm, "GET", &format!("{sub}/resources"), Value::Null).json_body();
        assert_eq!(all["value"][0]["type"], "Contoso.Widgets/widgets", "tracked: in /resources");
        let census = call(&arm, "POST", &format!("{sub}/providers/Contoso.Widgets/census"), json!({}));
        assert_eq!(census.json_body()["widgets"], 1);
        assert_eq!(call(&arm, "DELETE", &rg, Value::Null).status, 200, "the group cascades to its widgets");
        // What is left is the subscription's own: the Owner assignment ARM starts with.
        assert!(arm.store.filter(|k, _| k.contains("/resourcegroups/")).is_empty());
    }
}
