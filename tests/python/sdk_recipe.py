"""The July 2021 recipe driven by the Azure SDK for Python against `pullsim serve`.

Usage: sdk_recipe.py ARM_URL TENANT CLIENT_ID SECRET SUBSCRIPTION RECIPE_TEMPLATE
(REQUESTS_CA_BUNDLE must name pullsim's CA). Prints one JSON document of what the SDK
answered; tests/tests/sdk_python.rs checks it.
"""

import json
import sys

from azure.identity import ClientSecretCredential
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.web import WebSiteManagementClient

base, tenant, client_id, secret, sub, recipe = sys.argv[1:7]
cred = ClientSecretCredential(tenant, client_id, secret, authority=base, disable_instance_discovery=True)
kw = {"base_url": base, "credential_scopes": ["https://management.core.windows.net//.default"]}
res = ResourceManagementClient(cred, sub, **kw)
deployments = DeploymentsMgmtClient(cred, sub, **kw)
net = NetworkManagementClient(cred, sub, **kw)
acr = ContainerRegistryManagementClient(cred, sub, **kw)
dns = PrivateDnsManagementClient(cred, sub, **kw)
web = WebSiteManagementClient(cred, sub, **kw)

rg, loc, reg_name, app = "sdkrecipe", "westeurope", "sdkacr2021", "sdkweb2021"
# These SDKs take a dict as the REST body and their answers read as the REST JSON.
out = {}
res.resource_groups.create_or_update(rg, {"location": loc})
vnet = net.virtual_networks.begin_create_or_update(rg, "vnet", {
    "location": loc,
    "properties": {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [
            {"name": "integration", "properties": {"addressPrefix": "10.0.1.0/24", "delegations": [
                {"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}},
            {"name": "pe", "properties": {"addressPrefix": "10.0.2.0/24", "privateEndpointNetworkPolicies": "Disabled"}},
        ],
    },
}).result()
subnets = {s["name"]: s["id"] for s in vnet["properties"]["subnets"]}
reg = acr.registries.begin_create(rg, reg_name, {
    "location": loc, "sku": {"name": "Premium"},
    "properties": {"adminUserEnabled": True, "publicNetworkAccess": "Disabled"},
}).result()
out["login_server"] = reg["properties"]["loginServer"]
zone = dns.private_zones.begin_create_or_update(rg, "privatelink.azurecr.io", {"location": "global"}).result()
dns.virtual_network_links.begin_create_or_update(rg, "privatelink.azurecr.io", "acrlink", {
    "location": "global",
    "properties": {"virtualNetwork": {"id": vnet["id"]}, "registrationEnabled": False},
}).result()
pe = net.private_endpoints.begin_create_or_update(rg, "acr-pe", {
    "location": loc,
    "properties": {
        "subnet": {"id": subnets["pe"]},
        "privateLinkServiceConnections": [
            {"name": "acr", "properties": {"privateLinkServiceId": reg["id"], "groupIds": ["registry"]}}],
    },
}).result()
net.private_dns_zone_groups.begin_create_or_update(rg, "acr-pe", "default", {
    "properties": {"privateDnsZoneConfigs": [{"name": "acr", "properties": {"privateDnsZoneId": zone["id"]}}]},
}).result()
out["private_ip"] = pe["properties"]["customDnsConfigs"][0]["ipAddresses"][0]
creds = acr.registries.list_credentials(rg, reg_name)
plan = web.app_service_plans.begin_create_or_update(rg, "plan", {
    "location": loc, "kind": "linux", "sku": {"name": "P1v3"}, "properties": {"reserved": True},
}).result()
login = out["login_server"]
site = web.web_apps.begin_create_or_update(rg, app, {
    "location": loc, "kind": "app,linux,container",
    "properties": {"serverFarmId": plan["id"], "siteConfig": {
        "linuxFxVersion": f"DOCKER|{login}/app:v1", "vnetRouteAllEnabled": True}},
}).result()
out["host_ssl_states"] = [s["hostType"] for s in site["properties"].get("hostNameSslStates", [])]
swift = web.web_apps.create_or_update_swift_virtual_network_connection_with_check(
    rg, app, {"properties": {"subnetResourceId": subnets["integration"], "swiftSupported": True}})
out["swift_subnet"] = swift["properties"]["subnetResourceId"]
out["swift_read"] = web.web_apps.get_swift_virtual_network_connection(rg, app)["properties"]["subnetResourceId"]
out["site_subnet"] = web.web_apps.get(rg, app)["properties"]["virtualNetworkSubnetId"]
answer = web.web_apps.update_application_settings(rg, app, {"properties": {
    "WEBSITE_PULL_IMAGE_OVER_VNET": "true",
    "DOCKER_REGISTRY_SERVER_URL": f"https://{login}",
    "DOCKER_REGISTRY_SERVER_USERNAME": creds["username"],
    "DOCKER_REGISTRY_SERVER_PASSWORD": creds["passwords"][0]["value"],
}})
out["settings_answer"] = dict(answer["properties"])
out["settings_listed"] = dict(web.web_apps.list_application_settings(rg, app)["properties"])

# The same recipe as a template deployment, through the SDK's long-running poller.
res.resource_groups.create_or_update("sdkdeploy", {"location": loc})
with open(recipe, encoding="utf-8") as f:
    template = json.load(f)
poller = deployments.deployments.begin_create_or_update("sdkdeploy", "recipe", {"properties": {
    "mode": "Incremental", "template": template,
    "parameters": {"registryName": {"value": "sdkacr2021b"}, "siteName": {"value": "sdkweb2021b"}},
}})
dep = poller.result()
out["deployment_state"] = dep["properties"]["provisioningState"]
out["deployment_outputs"] = {k: v["value"] for k, v in dep["properties"].get("outputs", {}).items()}
out["operations"] = len(list(deployments.deployment_operations.list("sdkdeploy", "recipe")))
print(json.dumps(out))
