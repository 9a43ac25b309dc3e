//! What the platform fetches once authenticated: the manifest (read with the ACR's own
//! OCI rules: an index resolves to its linux/amd64 image, schema 1 is refused) and the
//! blobs, following the 307s to the data endpoint, every digest verified.

use bytes::Bytes;

use super::logs::{docker_error, registry_error};
use super::pull::{Pull, PullError, why};
use super::route::Route;
use super::trace::{Code, Stage};
use crate::acr::oci::{Digest, ImageRef, Manifest, media, parse_manifest};
use crate::appservice::error::InfraError;
use crate::httpc::Conn;

/// What the platform accepts, in its order of preference.
const ACCEPT: [&str; 5] =
    [media::OCI_INDEX, media::DOCKER_LIST, media::OCI_MANIFEST, media::DOCKER_MANIFEST, media::DOCKER_SCHEMA1_SIGNED];

/// An image manifest that will be pulled.
pub(crate) struct Pullable {
    /// The manifest's digest.
    pub digest: String,
    /// The config and layer blobs, in order.
    pub blobs: Vec<Digest>,
}

/// Fetches the image's manifest, through an index to its linux/amd64 image.
pub(crate) async fn manifest(
    p: &mut Pull<'_>,
    conn: &mut Conn,
    image: &ImageRef,
    auth: Option<&str>,
) -> Result<Pullable, PullError> {
    let accept = ACCEPT.join(", ");
    let mut headers = vec![("accept", accept.as_str())];
    headers.extend(auth.map(|a| ("authorization", a)));
    let mut path = format!("/v2/{}/manifests/{}", image.repo, image.reference);
    // An index may point to an image; an index that points to an index is not followed.
    for _ in 0..2 {
        let r = p.get(conn, &path, &headers).await?;
        let url = format!("https://{}{path}", image.host);
        match r.status {
            200 => {}
            404 => {
                let w = why(format!("{}:{} not found: {}", image.repo, image.reference, registry_error(&r)))
                    .by(format!("linuxFxVersion tag {}", image.reference));
                let m = format!("{}: manifest unknown", docker_error(&url, &r).trim_end_matches(": manifest unknown"));
                return Err(p.fail(Stage::Manifest, Code::ManifestUnknown, w.rule("image.manifest"), m));
            }
            401 | 403 => {
                // ACR issues an identity without a pull role a token with no access, and
                // refuses it here, at the first repository request.
                let (code, rule) = if p.view.use_managed_identity {
                    (Code::MiNoPullRole, "auth.mi")
                } else {
                    (Code::AcrUnauthorized, "auth.admin")
                };
                let w = why(format!("ACR refused the token for {}: {}", image.repo, registry_error(&r))).rule(rule);
                return Err(p.fail(Stage::Auth, code, w, docker_error(&url, &r)));
            }
            status => return Err(InfraError::UnexpectedStatus { url, status, answer: registry_error(&r) }.into()),
        }
        let digest =
            r.header("docker-content-digest").map(str::to_string).unwrap_or_else(|| Digest::of(&r.body).to_string());
        let parsed = parse_manifest(&r.body, r.header("content-type"))
            .map_err(|source| InfraError::BadManifest { url: url.clone(), source })?;
        match parsed.manifest {
            Manifest::Schema1 { .. } => {
                let w = why("schema 1 manifest").rule("image.manifest");
                return Err(p.fail(Stage::Manifest, Code::ManifestSchema1Unsupported, w, SCHEMA1));
            }
            Manifest::Index { manifests } => {
                let Some(chosen) = manifests.iter().find(|m| m.is_platform("linux", "amd64")) else {
                    let w = why("the index has no linux/amd64 image").rule("image.manifest");
                    return Err(p.fail(Stage::Manifest, Code::NoMatchingPlatform, w, NO_AMD64));
                };
                let summary = format!("index {digest}: picked linux/amd64 {}", chosen.digest);
                p.trace.ok(Stage::Manifest, summary, None, Some("image.manifest"));
                path = format!("/v2/{}/manifests/{}", image.repo, chosen.digest);
            }
            Manifest::Image { config, layers } => {
                p.trace.ok(Stage::Manifest, format!("manifest {digest} ({} layers)", layers.len()), None, None);
                let blobs = std::iter::once(config).chain(layers).map(|d| d.digest).collect();
                return Ok(Pullable { digest, blobs });
            }
        }
    }
    // Not a step of the trace: docker stops here without asking anything more.
    Err(PullError::Modeled(super::pull::Fail {
        stage: Stage::Manifest,
        code: Code::NoMatchingPlatform,
        message: "nested manifest lists are not supported".into(),
    }))
}

/// What App Service says of a schema 1 manifest.
const SCHEMA1: &str = "Unsupported image manifest. The manifest with version 'application/vnd.docker.distribution.manifest.v1+json' has not been supported yet.";
/// What docker says of an index without linux/amd64.
const NO_AMD64: &str = "no matching manifest for linux/amd64 in the manifest list entries";

/// The connection to the data endpoint blobs are redirected to, opened on first use.
type DataConn = Option<(String, Conn)>;

/// Downloads and verifies every blob.
pub(crate) async fn blobs(
    p: &mut Pull<'_>,
    conn: &mut Conn,
    route: &Route,
    image: &ImageRef,
    blobs: &[Digest],
    auth: Option<&str>,
) -> Result<(), PullError> {
    let mut data: DataConn = None;
    let mut total = 0usize;
    for digest in blobs {
        let body = blob(p, conn, &mut data, route, image, digest, auth).await?;
        let got = Digest::of(&body);
        if &got != digest {
            let m = format!("filesystem layer verification failed for digest {digest}");
            return Err(p.fail(Stage::Verify, Code::DigestMismatch, why(format!("{digest} arrived as {got}")), m));
        }
        total += body.len();
    }
    let via = data.as_ref().map(|(h, _)| format!(" through {h}")).unwrap_or_default();
    let summary = format!("{} blobs, {total} bytes{via}", blobs.len());
    p.trace.ok(Stage::Blob, summary, None, Some("acr.data-endpoint"));
    p.trace.ok(Stage::Verify, "every digest matches", None, None);
    Ok(())
}

/// One blob: from the login server, or through the data endpoint it redirects to.
async fn blob(
    p: &mut Pull<'_>,
    conn: &mut Conn,
    data: &mut DataConn,
    route: &Route,
    image: &ImageRef,
    digest: &Digest,
    auth: Option<&str>,
) -> Result<Bytes, PullError> {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    let r = p.get(conn, &format!("/v2/{}/blobs/{digest}", image.repo), &headers).await?;
    match r.status {
        200 => Ok(r.body),
        301 | 302 | 307 => {
            let location = r.header("location").unwrap_or_default().to_string();
            from_data_endpoint(p, data, route, digest, &location).await
        }
        404 => {
            let m = format!("blob unknown: {digest}");
            Err(p.fail(Stage::Blob, Code::BlobUnknown, why(format!("{digest} is missing")), m))
        }
        status => {
            let answer = registry_error(&r);
            Err(InfraError::UnexpectedStatus { url: format!("/v2/{}/blobs/{digest}", image.repo), status, answer }
                .into())
        }
    }
}

/// Follows a redirect to the data endpoint, which must resolve and be reachable too.
async fn from_data_endpoint(
    p: &mut Pull<'_>,
    data: &mut DataConn,
    route: &Route,
    digest: &Digest,
    location: &str,
) -> Result<Bytes, PullError> {
    let Some(rest) = location.strip_prefix("https://") else {
        return Err(InfraError::BadRedirect { location: location.to_string() }.into());
    };
    let (host, path) =
        rest.split_once('/').map(|(h, p)| (h.to_string(), format!("/{p}"))).unwrap_or((rest.to_string(), "/".into()));
    let dconn = match data {
        Some((h, c)) if *h == host => c,
        _ => {
            let target = p.resolve(route, &host, Stage::Blob).await?;
            let c = p.connect(route, &target, Stage::Blob).await?;
            &mut data.insert((host.clone(), c)).1
        }
    };
    let d = p.get(dconn, &path, &[]).await?;
    match d.status {
        200 => Ok(d.body),
        403 => {
            let m = docker_error(&format!("https://{host}{}", path.split('?').next().unwrap_or_default()), &d);
            let w = why(format!("the data endpoint {host} refused the client: {}", registry_error(&d)));
            Err(p.fail(Stage::Blob, Code::AcrFirewallDenied, w.rule("acr.data-endpoint"), m))
        }
        status => {
            let w = why(format!("{digest}: {status} from the data endpoint")).rule("acr.data-endpoint");
            let m = format!("blob {digest}: {}", registry_error(&d));
            Err(p.fail(Stage::Blob, Code::BlobUnknown, w, m))
        }
    }
}
