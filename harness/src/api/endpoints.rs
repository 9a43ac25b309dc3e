//! [`Endpoints`]: where a running fake Azure listens and who to be to use it, and the
//! Azure CLI's set-up from them.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Where a fake Azure listens and the credentials it accepts: everything a real client
/// (the Azure CLI, an Azure SDK, dig, skopeo) needs to use it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Endpoints {
    /// ARM's base URL, ending in `/` (also the Entra ID authority host and the cloud
    /// metadata endpoint `…/metadata/endpoints`).
    pub arm_url: String,
    /// The CA certificate every endpoint's certificate chains to, in PEM.
    pub ca_pem: String,
    /// The same CA in a file (for `REQUESTS_CA_BUNDLE`, `--cacert`, skopeo's
    /// `--cert-dir`), removed when the fake Azure stops.
    pub ca_file: PathBuf,
    /// The tenant ID.
    pub tenant_id: String,
    /// The one subscription's ID.
    pub subscription_id: String,
    /// The service principal's application (client) ID.
    pub client_id: String,
    /// The service principal's secret.
    pub client_secret: String,
    /// Azure DNS (`168.63.129.16`) as a real address: asked from an address that stands
    /// for no modeled one, it gives the public view.
    pub dns: SocketAddr,
    /// Proxies standing where a client would in Azure: on the internet and in each VNET.
    pub vantage_points: Vec<Vantage>,
}

/// A vantage point: an HTTP CONNECT proxy standing on the internet or inside a VNET, so
/// that a client given it as `HTTPS_PROXY` (skopeo, docker, curl) sees what a machine
/// there sees.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vantage {
    /// Where it stands: `internet` or `<vnet>/<subnet>`.
    pub from: String,
    /// The modeled address it stands at (`10.0.1.4`, `198.51.100.10`).
    pub modeled: IpAddr,
    /// The proxy, `http://host:port`.
    pub proxy_url: String,
    /// The real address standing for the modeled one, to ask [`Endpoints::dns`] from
    /// (`dig -b`): the VNET's view. `None` where the fake Azure runs out of reach (in a
    /// container).
    pub dns_source: Option<IpAddr>,
}

impl Endpoints {
    /// The vantage point standing at `from` (`internet`, `vnet/integration`).
    pub fn vantage(&self, from: &str) -> Option<&Vantage> {
        self.vantage_points.iter().find(|v| v.from.eq_ignore_ascii_case(from))
    }

    /// The environment the Azure CLI and the Python SDKs need to trust this fake Azure
    /// and stay offline: `REQUESTS_CA_BUNDLE`, no instance discovery, no telemetry.
    pub fn azure_cli_env(&self) -> Vec<(String, String)> {
        vec![
            ("REQUESTS_CA_BUNDLE".into(), self.ca_file.display().to_string()),
            ("AZURE_CORE_INSTANCE_DISCOVERY".into(), "false".into()),
            ("AZURE_CORE_COLLECT_TELEMETRY".into(), "false".into()),
        ]
    }

    /// The `az` commands (arguments after `az`) that register this fake Azure as the
    /// cloud `pullsim`, select it and log in with its service principal.
    ///
    /// ```
    /// # async fn demo() -> Result<(), pullsim::Error> {
    /// let azure = pullsim::FakeAzure::start().await?;
    /// let endpoints = azure.endpoints().await?;
    /// for args in endpoints.azure_cli_setup() {
    ///     let status = std::process::Command::new("az")
    ///         .args(&args)
    ///         .envs(endpoints.azure_cli_env())
    ///         .status();
    ///     # let _ = status;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn azure_cli_setup(&self) -> Vec<Vec<String>> {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<String>>();
        vec![
            s(&[
                "cloud",
                "register",
                "-n",
                "pullsim",
                "--endpoint-resource-manager",
                &self.arm_url,
                "--suffix-acr-login-server-endpoint",
                ".azurecr.io",
            ]),
            s(&["cloud", "set", "-n", "pullsim"]),
            s(&[
                "login",
                "--service-principal",
                "-u",
                &self.client_id,
                "-p",
                &self.client_secret,
                "--tenant",
                &self.tenant_id,
            ]),
        ]
    }
}
