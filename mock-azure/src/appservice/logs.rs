//! What a pull shows the user, built in one place: the App Service docker log lines
//! (docs/azure.md E) and docker's own error text for a registry's answer. Lines carry no
//! timestamp here; the platform log adds one when it stores them.

use super::rules::Epoch;
use crate::httpc::Resp;

/// What docker prints for a registry error: `Get <url>: <code lower-case>: <message>`.
pub fn docker_error(url: &str, r: &Resp) -> String {
    let v = r.json();
    let code = v["errors"][0]["code"].as_str().unwrap_or("error").to_ascii_lowercase().replace('_', " ");
    let msg = v["errors"][0]["message"].as_str().unwrap_or("unexpected response");
    format!("Get {url}: {code}: {msg}")
}

/// The first error of a registry's answer, `CODE message` (for the trace), or its
/// status when the body has none.
pub fn registry_error(r: &Resp) -> String {
    let v = r.json();
    match v["errors"][0]["message"].as_str() {
        Some(m) => format!("{} {}", v["errors"][0]["code"].as_str().unwrap_or_default(), m),
        None => format!("HTTP {}", r.status),
    }
}

/// First line of every pull.
pub fn pulling(image: &str) -> String {
    format!("INFO  - Pulling image: {image}")
}

/// No `DOCKER_REGISTRY_SERVER_URL` for the image's registry.
pub fn docker_hub(image: &str) -> String {
    format!("INFO  - Pulling image from Docker hub: {image}")
}

/// The pull goes through the VNET.
pub fn over_vnet(image: &str) -> String {
    format!("INFO  - Attempting to pull image {image} from VNET.")
}

/// The pull succeeded.
pub fn success() -> String {
    "INFO  - Pull Image successful, Time taken: 0 Minutes and 0 Seconds".to_string()
}

/// The lines of a failed pull: docker's error, then App Service's summary (the newer
/// platform adds the `ImagePullFailure` line; "Faliure" is Azure's own spelling).
pub fn failure(image: &str, over_vnet: bool, docker_message: &str, epoch: Epoch) -> Vec<String> {
    let escaped = docker_message.replace('\\', "\\\\").replace('"', "\\\"");
    let mut lines = vec![format!(
        "ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={{\"message\":\"{escaped}\"}}"
    )];
    if over_vnet {
        lines.push(format!("ERROR - Pulling docker image {image} over VNET failed."));
    }
    lines.push(format!("ERROR - Image pull for {image} failed. UnexpectedFaliure"));
    lines.push("WARN  - Image pull failed. Defaulting to local copy if present.".to_string());
    lines.push(
        "ERROR - Image pull failed: Verify docker image configuration and credentials (if using private repository)"
            .to_string(),
    );
    if epoch >= Epoch::E2024_11 {
        lines.push(
            "ERROR - Container pull image failed with reason: ImagePullFailure. Revert by terminate.".to_string(),
        );
    }
    lines
}
