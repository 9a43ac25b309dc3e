//! The site as the platform reads it through ARM: the image, the settings that route,
//! resolve and authenticate the pull.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::acr::oci::{ImageRef, ImageRefError};

/// Everything about a site that decides its pull, as read from ARM.
#[derive(Debug, Clone, Default)]
pub struct SiteView {
    /// Site resource ID.
    pub id: String,
    /// Site name.
    pub name: String,
    /// `siteConfig.linuxFxVersion`.
    pub linux_fx: String,
    /// App settings (names as written).
    pub settings: BTreeMap<String, String>,
    /// `vnetRouteAllEnabled` (≡ `outboundVnetRouting.applicationTraffic`).
    pub route_all: bool,
    /// `vnetImagePullEnabled` (≡ `outboundVnetRouting.imagePullTraffic`).
    pub image_pull_property: bool,
    /// `outboundVnetRouting.allTraffic`.
    pub all_traffic: bool,
    /// `virtualNetworkSubnetId`.
    pub subnet_id: Option<String>,
    /// `acrUseManagedIdentityCreds`.
    pub use_managed_identity: bool,
    /// `acrUserManagedIdentityID`.
    pub user_identity_client_id: Option<String>,
    /// `dnsConfiguration.dnsServers`.
    pub dns_servers: Vec<Ipv4Addr>,
    /// `dnsConfiguration.dnsAltServer`.
    pub dns_alt_server: Option<Ipv4Addr>,
    /// The first of `outboundIpAddresses`.
    pub outbound_ip: Option<Ipv4Addr>,
}

impl SiteView {
    /// Builds the view from the ARM site (api-version 2024-11-01 or later), its
    /// `config/web` and its app settings (`config/appsettings/list`).
    pub fn from_arm(site: &Value, web: &Value, settings: &Value) -> SiteView {
        let p = &site["properties"];
        let w = &web["properties"];
        let routing = &p["outboundVnetRouting"];
        let truthy =
            |v: &Value| v.as_bool().unwrap_or(false) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"));
        let ips = |v: &Value| -> Vec<Ipv4Addr> {
            v.as_array().into_iter().flatten().filter_map(|s| s.as_str()?.parse().ok()).collect()
        };
        SiteView {
            id: site["id"].as_str().unwrap_or_default().to_string(),
            name: site["name"].as_str().unwrap_or_default().to_string(),
            linux_fx: w["linuxFxVersion"].as_str().unwrap_or_default().to_string(),
            settings: settings["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            route_all: truthy(&w["vnetRouteAllEnabled"]) || truthy(&routing["applicationTraffic"]),
            image_pull_property: truthy(&routing["imagePullTraffic"]) || truthy(&p["vnetImagePullEnabled"]),
            all_traffic: truthy(&routing["allTraffic"]),
            subnet_id: p["virtualNetworkSubnetId"].as_str().filter(|s| !s.is_empty()).map(str::to_string),
            use_managed_identity: truthy(&w["acrUseManagedIdentityCreds"]),
            user_identity_client_id: w["acrUserManagedIdentityID"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            dns_servers: ips(&p["dnsConfiguration"]["dnsServers"]),
            dns_alt_server: p["dnsConfiguration"]["dnsAltServer"].as_str().and_then(|s| s.parse().ok()),
            outbound_ip: p["outboundIpAddresses"]
                .as_str()
                .and_then(|s| s.split(',').next())
                .and_then(|s| s.trim().parse().ok()),
        }
    }

    /// The ARM requests (method, path) the platform reads a site with, in the order
    /// [`SiteView::from_arm`] takes their answers: the site, its `config/web`, its app
    /// settings.
    pub fn reads(site_id: &str) -> [(&'static str, String); 3] {
        [
            ("GET", site_id.to_string()),
            ("GET", format!("{site_id}/config/web")),
            ("POST", format!("{site_id}/config/appsettings/list")),
        ]
    }

    /// An app setting, by name (App Service setting names are case-insensitive).
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether an app setting is `true` (or `1`).
    pub fn setting_true(&self, name: &str) -> bool {
        self.setting(name).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }

    /// The image of `linuxFxVersion` (`DOCKER|<reference>`): `None` when it names no
    /// docker image, else the reference as docker reads it (or why docker refuses it).
    pub fn image(&self) -> Option<Result<ImageRef, ImageRefError>> {
        let (kind, rest) = self.linux_fx.split_once('|')?;
        if !kind.eq_ignore_ascii_case("DOCKER") {
            return None;
        }
        Some(ImageRef::parse(rest))
    }
}
