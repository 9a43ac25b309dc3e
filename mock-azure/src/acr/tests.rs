//! Whole request flows through `Acr::handle` (no sockets): a managed-identity pull from
//! token exchange to the data endpoint, private endpoint arrival, uploads, listings.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};

use super::oci::{Digest, RepoName, media};
use super::testenv::Env;
use super::*;
use crate::netplan::LoopbackMap;

const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
const CLIENT: Ipv4Addr = Ipv4Addr::new(20, 80, 0, 1);

struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, n: &str) -> &str {
        self.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

fn acr(env: &Env) -> Acr {
    let fabric = Fabric { map: Arc::new(LoopbackMap::new(250)), dns_port: 53, https_port: 443 };
    let ca = Arc::new(Ca::generate().unwrap());
    Acr::new(env.store.clone(), Arc::new(MemoryStore::new()), env.signer.clone(), ca, fabric, env.tenant()).unwrap()
}

fn public(env: &Env, reg: &str, data: bool) -> ConnInfo {
    let ips = env.public_ips(reg);
    let host = if data { format!("{reg}.westeurope.data.azurecr.io") } else { format!("{reg}.azurecr.io") };
    ConnInfo { host, endpoint: Some(Modeled::public(ips[usize::from(data)])), client: Modeled::public(CLIENT) }
}

async fn call(acr: &Acr, conn: &ConnInfo, method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut req = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = acr.handle(conn, req.body(Full::new(Bytes::copy_from_slice(body))).unwrap()).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap();
    Reply { status, headers, body }
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

fn repo(reg: &str, name: &str) -> Repo {
    Repo::new(reg, RepoName::parse(name).unwrap()).unwrap()
}

#[tokio::test]
async fn a_managed_identity_pull_goes_exchange_token_manifest_redirect_data_endpoint() {
    let env = Env::new();
    env.registry("flowacr01", "Premium", false);
    let acr = acr(&env);
    let img = generate_image(5, 1, 4096);
    push_image(acr.blobs().as_ref(), &repo("flowacr01", "app"), &img, Some("v1")).await.unwrap();
    let mi = env.identity("site-identity");
    env.assign(&env.registry_id("flowacr01"), &mi, ACR_PULL, 1);
    let login = public(&env, "flowacr01", false);

    let r = call(&acr, &login, "GET", "/v2/app/manifests/v1", &[], b"").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        r#"Bearer realm="https://flowacr01.azurecr.io/oauth2/token",service="flowacr01.azurecr.io",scope="repository:app:pull""#
    );

    let entra = env.signer.sign(&json!({"aud": "https://containerregistry.azure.net/", "tid": env.tenant(),
        "oid": mi, "exp": crate::identity::token::now() + 600}));
    let form =
        format!("grant_type=access_token&service=flowacr01.azurecr.io&tenant={}&access_token={entra}", env.tenant());
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    let r = call(&acr, &login, "POST", "/oauth2/exchange", &ct, form.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_string();
    let form = format!(
        "grant_type=refresh_token&service=flowacr01.azurecr.io&scope=repository%3Aapp%3Apull&refresh_token={refresh}"
    );
    let r = call(&acr, &login, "POST", "/oauth2/token", &ct, form.as_bytes()).await;
    assert_eq!(r.status, 200);
    let bearer = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];

    let r = call(&acr, &login, "GET", "/v2/app/manifests/v1", &auth, b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, img.manifest.bytes);
    assert_eq!(r.header("content-type"), media::OCI_MANIFEST);
    assert_eq!(r.header("docker-content-digest"), img.manifest.digest.as_str());
    // The token is for `app` and for pulling only.
    assert_eq!(call(&acr, &login, "GET", "/v2/other/manifests/v1", &auth, b"").await.status, 401);
    assert_eq!(call(&acr, &login, "POST", "/v2/app/blobs/uploads/", &auth, b"").await.status, 401);

    let layer = &img.layers[0];
    let r = call(&acr, &login, "GET", &format!("/v2/app/blobs/{}", layer.digest), &auth, b"").await;
    assert_eq!(r.status, 307);
    let location = r.header("location").to_string();
    let prefix = format!("https://flowacr01.westeurope.data.azurecr.io/v2/app/blobs/{}?se=", layer.digest);
    assert!(location.starts_with(&prefix), "{location}");
    let path = location.trim_start_matches("https://flowacr01.westeurope.data.azurecr.io");
    let data = public(&env, "flowacr01", true);
    // No Authorization: the signature is the credential.
    let r = call(&acr, &data, "GET", path, &[], b"").await;
    assert_eq!((r.status, &r.body), (200, &layer.bytes));
    let r = call(&acr, &data, "GET", path, &[("range", "bytes=10-19")], b"").await;
    assert_eq!((r.status, r.body.as_ref()), (206, &layer.bytes[10..20]));
    // Tampered or moved to another blob: refused as Azure Storage refuses a bad SAS.
    let tampered = format!("{}x", path.trim_end_matches('='));
    let r = call(&acr, &data, "GET", &tampered, &[], b"").await;
    assert_eq!((r.status, r.header("x-ms-error-code")), (403, "AuthenticationFailed"));
    let other = path.replace(layer.digest.as_str(), img.config.digest.as_str());
    assert_eq!(call(&acr, &data, "GET", &other, &[], b"").await.status, 403);
    let expired = format!("/v2/app/blobs/{}?se=1&sig=x", layer.digest);
    assert_eq!(call(&acr, &data, "GET", &expired, &[], b"").await.status, 403);
    // The data endpoint serves nothing else.
    assert_eq!(call(&acr, &data, "GET", "/v2/app/manifests/v1", &auth, b"").await.status, 404);

    // An identity without a pull role gets a token, but not the manifest.
    let stranger = env.identity("stranger");
    let entra = env.signer.sign(&json!({"aud": "https://management.azure.com/", "tid": env.tenant(),
        "oid": stranger, "exp": crate::identity::token::now() + 600}));
    let form = format!("grant_type=access_token&service=flowacr01.azurecr.io&access_token={entra}");
    let refresh = call(&acr, &login, "POST", "/oauth2/exchange", &ct, form.as_bytes()).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    // The refresh token as a Basic password (`az acr login --expose-token`).
    let b = basic(auth::TOKEN_USER, &refresh);
    let r = call(&acr, &login, "GET", "/v2/app/manifests/v1", &[("authorization", &b)], b"").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["errors"][0]["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn a_private_endpoint_serves_while_public_access_is_disabled() {
    let env = Env::new();
    env.vnet("vnet", "10.0.0.0/16", &[("integration", "10.0.1.0/24"), ("pe", "10.0.2.0/24")]);
    let reg = env.registry("flowacr02", "Premium", true);
    env.patch_registry("flowacr02", json!({"properties": {"publicNetworkAccess": "Disabled"}}));
    let pe = env.private_endpoint("acr-pe", "vnet", "pe", "flowacr02", false);
    let acr = acr(&env);
    let img = generate_image(6, 1, 100);
    push_image(acr.blobs().as_ref(), &repo("flowacr02", "app"), &img, Some("v1")).await.unwrap();
    let [p1, _] = reg.admin_passwords.clone().unwrap();
    let b = basic("flowacr02", &p1);
    let auth = [("authorization", b.as_str())];
    let vnet = env.vnet_key("vnet");
    let worker = Modeled::private(&vnet, [10, 0, 1, 4].into());
    let via_pe = |ip: [u8; 4], host: &str| ConnInfo {
        host: host.into(),
        endpoint: Some(Modeled::private(&vnet, ip.into())),
        client: worker.clone(),
    };
    let login = via_pe([10, 0, 2, 4], "flowacr02.azurecr.io");
    let r = call(&acr, &login, "GET", "/v2/app/manifests/v1", &auth, b"").await;
    assert_eq!(r.status, 200);
    let r = call(&acr, &login, "GET", &format!("/v2/app/blobs/{}", img.layers[0].digest), &auth, b"").await;
    let path = r.header("location").trim_start_matches("https://flowacr02.westeurope.data.azurecr.io").to_string();
    let data = via_pe([10, 0, 2, 5], "flowacr02.westeurope.data.azurecr.io");
    assert_eq!(call(&acr, &data, "GET", &path, &[], b"").await.body, img.layers[0].bytes);

    // From the public side: denied before authentication, naming the client address.
    let r = call(&acr, &public(&env, "flowacr02", false), "GET", "/v2/", &auth, b"").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"DENIED","message":"client with IP '20.80.0.1' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."}]}"#
    );
    let r = call(&acr, &public(&env, "flowacr02", true), "GET", &path, &[], b"").await;
    assert_eq!(r.status, 403, "the data endpoint applies the same rules");

    // What the environment must listen on.
    let eps = acr.endpoints();
    assert_eq!(eps.len(), 4, "{eps:?}");
    assert_eq!(eps[0].kind, EndpointKind::PublicLogin);
    assert_eq!(eps[1].kind, EndpointKind::PublicData);
    assert_eq!(eps[2].address, Modeled::private(&vnet, [10, 0, 2, 4].into()));
    assert!(
        matches!(&eps[2].kind, EndpointKind::Private { endpoint_id, member } if endpoint_id.eq_ignore_ascii_case(&pe) && member == "registry")
    );
    assert!(matches!(&eps[3].kind, EndpointKind::Private { member, .. } if member == "registry_data_westeurope"));
}

#[tokio::test]
async fn schema1_manifests_are_stored_and_served_with_their_media_type() {
    let env = Env::new();
    let reg = env.registry("flowacr03", "Standard", true);
    let acr = acr(&env);
    let b = basic("flowacr03", &reg.admin_passwords.clone().unwrap()[0]);
    let auth = [("authorization", b.as_str())];
    let conn = public(&env, "flowacr03", false);
    let layer = Digest::of(b"v1 layer");
    let r = call(&acr, &conn, "POST", &format!("/v2/old/blobs/uploads/?digest={layer}"), &auth, b"v1 layer").await;
    assert_eq!(r.status, 201);
    let m = json!({"schemaVersion": 1, "name": "old", "tag": "v1", "architecture": "amd64",
        "fsLayers": [{"blobSum": layer.as_str()}], "history": [{"v1Compatibility": "{}"}]});
    let ct = [("authorization", b.as_str()), ("content-type", media::DOCKER_SCHEMA1)];
    assert_eq!(call(&acr, &conn, "PUT", "/v2/old/manifests/v1", &ct, m.to_string().as_bytes()).await.status, 201);
    let r = call(&acr, &conn, "GET", "/v2/old/manifests/v1", &auth, b"").await;
    assert_eq!((r.status, r.header("content-type")), (200, media::DOCKER_SCHEMA1));
}

#[tokio::test]
async fn uploads_chunk_with_ranges_mount_across_repositories_and_list_with_paging() {
    let env = Env::new();
    let reg = env.registry("flowacr04", "Basic", true);
    let acr = acr(&env);
    let b = basic("flowacr04", &reg.admin_passwords.clone().unwrap()[1]);
    let auth = [("authorization", b.as_str())];
    let conn = public(&env, "flowacr04", false);

    let r = call(&acr, &conn, "POST", "/v2/a/blobs/uploads/", &auth, b"").await;
    assert_eq!((r.status, r.header("range")), (202, "0-0"));
    let loc = r.header("location").to_string();
    let h = |range: &'static str| [("authorization", b.as_str()), ("content-range", range)];
    assert_eq!(call(&acr, &conn, "PATCH", &loc, &h("0-4"), b"01234").await.header("range"), "0-4");
    assert_eq!(call(&acr, &conn, "PATCH", &loc, &h("5-9"), b"56789").await.header("range"), "0-9");
    let d = Digest::of(b"0123456789");
    let r = call(&acr, &conn, "PUT", &format!("{loc}?digest={d}"), &auth, b"").await;
    assert_eq!((r.status, r.header("docker-content-digest")), (201, d.as_str()));

    // Mount into `b`: linked without an upload; from a repository lacking it: a session.
    let r = call(&acr, &conn, "POST", &format!("/v2/b/blobs/uploads/?mount={d}&from=a"), &auth, b"").await;
    assert_eq!(r.status, 201);
    assert_eq!(call(&acr, &conn, "HEAD", &format!("/v2/b/blobs/{d}"), &auth, b"").await.header("content-length"), "10");
    let r = call(&acr, &conn, "POST", &format!("/v2/c/blobs/uploads/?mount={d}&from=nothing"), &auth, b"").await;
    assert_eq!(r.status, 202);

    for (i, tag) in ["v1", "v2", "v3"].iter().enumerate() {
        let img = generate_image(i as u64, 1, 10);
        push_image(acr.blobs().as_ref(), &repo("flowacr04", "a"), &img, Some(tag)).await.unwrap();
    }
    push_image(acr.blobs().as_ref(), &repo("flowacr04", "z/deep"), &generate_image(9, 1, 10), Some("x")).await.unwrap();
    let r = call(&acr, &conn, "GET", "/v2/a/tags/list?n=2", &auth, b"").await;
    assert_eq!(r.json(), json!({"name": "a", "tags": ["v1", "v2"]}));
    assert_eq!(r.header("link"), r#"</v2/a/tags/list?n=2&last=v2>; rel="next""#);
    let r = call(&acr, &conn, "GET", "/v2/a/tags/list?n=2&last=v2", &auth, b"").await;
    assert_eq!((r.json(), r.header("link")), (json!({"name": "a", "tags": ["v3"]}), ""));
    let r = call(&acr, &conn, "GET", "/v2/_catalog", &auth, b"").await;
    assert_eq!(r.json(), json!({"repositories": ["a", "z/deep"]}));
    // DELETE by tag untags; by digest removes the manifest.
    assert_eq!(call(&acr, &conn, "DELETE", "/v2/a/manifests/v3", &auth, b"").await.status, 202);
    assert_eq!(call(&acr, &conn, "GET", "/v2/a/manifests/v3", &auth, b"").await.status, 404);
}

#[tokio::test]
async fn unknown_hosts_and_addresses_are_refused() {
    let env = Env::new();
    env.registry("flowacr05", "Premium", true);
    let acr = acr(&env);
    assert!(acr.find_host("flowacr05.azurecr.io").is_some());
    assert!(acr.find_host("FLOWACR05.westeurope.data.azurecr.io.").is_some());
    assert!(acr.find_host("flowacr05.northeurope.data.azurecr.io").is_none(), "wrong region");
    assert!(acr.find_host("nosuchacr.azurecr.io").is_none());
    assert!(acr.find_host("flowacr05.example.com").is_none());
    let conn = ConnInfo { endpoint: None, ..public(&env, "flowacr05", false) };
    let r = call(&acr, &conn, "GET", "/v2/", &[], b"").await;
    assert_eq!(r.status, 403, "an address the map does not know is no endpoint of the registry");
}

/// Pushes `bytes` as a blob of `repo` in one request; its digest.
async fn push_blob(acr: &Acr, conn: &ConnInfo, auth: &[(&str, &str)], repo: &str, bytes: &[u8]) -> Digest {
    let d = Digest::of(bytes);
    let r = call(acr, conn, "POST", &format!("/v2/{repo}/blobs/uploads/?digest={d}"), auth, bytes).await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    d
}

/// Issue 16, OCI distribution-spec 1.1 as its conformance suite checks it: a manifest
/// with a subject is answered with `OCI-Subject`; the referrers API lists it (filtered by
/// `artifactType`, saying so), and an unknown digest gets an empty index.
#[tokio::test]
async fn referrers_list_the_manifests_with_a_subject_and_filter_by_artifact_type() {
    let env = Env::new();
    let reg = env.registry("flowacr11", "Premium", true);
    let acr = acr(&env);
    let b = basic("flowacr11", &reg.admin_passwords.clone().unwrap()[0]);
    let auth = [("authorization", b.as_str())];
    let conn = public(&env, "flowacr11", false);
    let empty = push_blob(&acr, &conn, &auth, "app", b"{}").await;
    let layer = push_blob(&acr, &conn, &auth, "app", b"layer").await;
    let image = json!({"schemaVersion": 2, "mediaType": media::OCI_MANIFEST,
        "config": {"mediaType": media::OCI_CONFIG, "digest": empty.as_str(), "size": 2},
        "layers": [{"mediaType": media::OCI_LAYER_TAR, "digest": layer.as_str(), "size": 5}]})
    .to_string();
    let ct = [("authorization", b.as_str()), ("content-type", media::OCI_MANIFEST)];
    let r = call(&acr, &conn, "PUT", "/v2/app/manifests/v1", &ct, image.as_bytes()).await;
    assert_eq!((r.status, r.header("oci-subject")), (201, ""), "no subject, no header");
    let subject = Digest::of(image.as_bytes());
    let artifact = |kind: &str, note: &str| {
        json!({"schemaVersion": 2, "mediaType": media::OCI_MANIFEST, "artifactType": kind,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.as_str(), "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.as_str(), "size": 2}],
            "subject": {"mediaType": media::OCI_MANIFEST, "digest": subject.as_str(), "size": image.len()},
            "annotations": {"note": note}})
        .to_string()
    };
    let (sbom, sig) = (artifact("application/spdx+json", "sbom"), artifact("application/vnd.example.sig", "sig"));
    for m in [&sbom, &sig] {
        let d = Digest::of(m.as_bytes());
        let r = call(&acr, &conn, "PUT", &format!("/v2/app/manifests/{d}"), &ct, m.as_bytes()).await;
        assert_eq!((r.status, r.header("oci-subject")), (201, subject.as_str()), "{:?}", r.json());
    }
    let r = call(&acr, &conn, "GET", &format!("/v2/app/referrers/{subject}"), &auth, b"").await;
    assert_eq!((r.status, r.header("content-type")), (200, media::OCI_INDEX));
    assert_eq!(r.header("oci-filters-applied"), "");
    let listed = r.json();
    assert_eq!(listed["schemaVersion"], 2);
    let mut kinds: Vec<&str> =
        listed["manifests"].as_array().unwrap().iter().map(|d| d["artifactType"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["application/spdx+json", "application/vnd.example.sig"]);
    let uri = format!("/v2/app/referrers/{subject}?artifactType=application/spdx%2Bjson");
    let r = call(&acr, &conn, "GET", &uri, &auth, b"").await;
    assert_eq!(r.header("oci-filters-applied"), "artifactType");
    let one = r.json();
    assert_eq!(one["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(one["manifests"][0]["digest"], Digest::of(sbom.as_bytes()).as_str());
    assert_eq!(one["manifests"][0]["size"], sbom.len());
    assert_eq!(one["manifests"][0]["annotations"], json!({"note": "sbom"}));
    // An unknown digest: an empty index, not an error; a malformed one: 400.
    let r = call(&acr, &conn, "GET", &format!("/v2/app/referrers/{}", Digest::of(b"x")), &auth, b"").await;
    assert_eq!((r.status, r.json()["manifests"].clone()), (200, json!([])));
    let r = call(&acr, &conn, "GET", "/v2/app/referrers/sha256:nothex", &auth, b"").await;
    assert_eq!((r.status, r.json()["errors"][0]["code"].as_str()), (400, Some("DIGEST_INVALID")));
    // Anonymous: the challenge names the repository's pull scope.
    let r = call(&acr, &conn, "GET", &format!("/v2/app/referrers/{subject}"), &[], b"").await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate").ends_with(r#"scope="repository:app:pull""#),
        "{}",
        r.header("www-authenticate")
    );
}

/// Issue 16: a blob DELETE unlinks it from the repository (202), then it is unknown (404);
/// another repository's link to the same content stays.
#[tokio::test]
async fn a_deleted_blob_is_gone_from_its_repository_only() {
    let env = Env::new();
    let reg = env.registry("flowacr12", "Premium", true);
    let acr = acr(&env);
    let b = basic("flowacr12", &reg.admin_passwords.clone().unwrap()[0]);
    let auth = [("authorization", b.as_str())];
    let conn = public(&env, "flowacr12", false);
    let d = push_blob(&acr, &conn, &auth, "a", b"shared").await;
    push_blob(&acr, &conn, &auth, "b", b"shared").await;
    let r = call(&acr, &conn, "DELETE", &format!("/v2/a/blobs/{d}"), &auth, b"").await;
    assert_eq!(r.status, 202);
    for method in ["HEAD", "GET"] {
        let r = call(&acr, &conn, method, &format!("/v2/a/blobs/{d}"), &auth, b"").await;
        assert_eq!(r.status, 404, "{method}");
    }
    let r = call(&acr, &conn, "DELETE", &format!("/v2/a/blobs/{d}"), &auth, b"").await;
    assert_eq!((r.status, r.json()["errors"][0]["code"].as_str()), (404, Some("BLOB_UNKNOWN")));
    assert_eq!(call(&acr, &conn, "HEAD", &format!("/v2/b/blobs/{d}"), &auth, b"").await.status, 200);
}

/// Issue 16: a cross-repository mount asked without credentials is challenged for the
/// target's push scope and the source's pull scope (as the distribution registry does); a
/// token for both mounts (201), a token for the target alone starts an upload (202).
#[tokio::test]
async fn a_mount_challenge_names_the_source_pull_scope_and_its_token_mounts() {
    let env = Env::new();
    let reg = env.registry("flowacr13", "Premium", true);
    let acr = acr(&env);
    let b = basic("flowacr13", &reg.admin_passwords.clone().unwrap()[0]);
    let auth = [("authorization", b.as_str())];
    let conn = public(&env, "flowacr13", false);
    let d = push_blob(&acr, &conn, &auth, "src", b"layer").await;
    let mount = format!("/v2/dst/blobs/uploads/?mount={d}&from=src");
    let r = call(&acr, &conn, "POST", &mount, &[], b"").await;
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").to_string();
    assert!(challenge.ends_with(r#"scope="repository:dst:pull,push repository:src:pull""#), "{challenge}");
    let token = |scope: &str| {
        let uri = format!("/oauth2/token?service=flowacr13.azurecr.io&scope={}", scope.replace(' ', "%20"));
        let (acr, conn, auth) = (&acr, &conn, &auth);
        async move { call(acr, conn, "GET", &uri, auth, b"").await.json()["access_token"].as_str().unwrap().to_string() }
    };
    let narrow = format!("Bearer {}", token("repository:dst:pull,push").await);
    let r = call(&acr, &conn, "POST", &mount, &[("authorization", narrow.as_str())], b"").await;
    assert_eq!(r.status, 202, "without pull on the source: a plain upload session");
    let both = format!("Bearer {}", token("repository:dst:pull,push repository:src:pull").await);
    let r = call(&acr, &conn, "POST", &mount, &[("authorization", both.as_str())], b"").await;
    assert_eq!((r.status, r.header("location")), (201, format!("/v2/dst/blobs/{d}").as_str()));
}

/// `/acr/v1/` with the admin user on a repository whose name holds a slash: the catalog
/// in pages, the repository, tags and manifests with their metadata, attributes changed
/// by PATCH, an untag, a manifest delete, then the whole repository deleted so a pull
/// of it fails.
#[tokio::test]
async fn acr_v1_lists_shows_patches_and_deletes_a_slashed_repository() {
    let env = Env::new();
    let reg = env.registry("v1acr01", "Premium", true);
    let acr = acr(&env);
    let app = repo("v1acr01", "team/app");
    let one = generate_image(31, 2, 1000);
    let two = generate_for(32, 1, 500, "linux", "arm64");
    let d1 = push_image(acr.blobs().as_ref(), &app, &one, Some("v1")).await.unwrap();
    let d2 = push_image(acr.blobs().as_ref(), &app, &two, Some("v2")).await.unwrap();
    push_image(acr.blobs().as_ref(), &app, &two, Some("latest")).await.unwrap();
    push_image(acr.blobs().as_ref(), &repo("v1acr01", "other"), &one, Some("v1")).await.unwrap();
    let login = public(&env, "v1acr01", false);
    let [password, _] = reg.admin_passwords.clone().unwrap();
    let admin = basic("v1acr01", &password);
    let auth = [("authorization", admin.as_str())];
    let get = |path: String| {
        let (acr, login, auth) = (&acr, &login, &auth);
        async move { call(acr, login, "GET", &path, auth, b"").await }
    };

    let r = get("/acr/v1/_catalog?n=1".into()).await;
    assert_eq!((r.status, r.json()), (200, json!({"repositories": ["other"]})));
    assert_eq!(r.header("link"), "</acr/v1/_catalog?last=other&n=1>; rel=\"next\"");
    let r = get("/acr/v1/_catalog?last=other&n=1".into()).await;
    assert_eq!((r.json(), r.header("link")), (json!({"repositories": ["team/app"]}), ""));

    let r = get("/acr/v1/team/app".into()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        (&v["registry"], &v["imageName"], &v["manifestCount"], &v["tagCount"]),
        (&json!("v1acr01.azurecr.io"), &json!("team/app"), &json!(2), &json!(3))
    );
    let all_on = json!({"deleteEnabled": true, "writeEnabled": true, "readEnabled": true, "listEnabled": true});
    assert_eq!(v["changeableAttributes"], all_on);
    let stamp = v["createdTime"].as_str().unwrap();
    assert!(stamp.len() == 28 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T', "{stamp}");

    let r = get("/acr/v1/team/app/_tags".into()).await;
    let tags = r.json();
    assert_eq!(tags["imageName"], "team/app");
    let names: Vec<&str> = tags["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["latest", "v1", "v2"]);
    assert_eq!(tags["tags"][1]["digest"], d1.as_str());
    assert_eq!(tags["tags"][1]["signed"], false);
    assert_eq!(tags["tags"][1]["changeableAttributes"], all_on);
    // `latest` was pointed last: first by time, newest first.
    let r = get("/acr/v1/team/app/_tags?orderby=timedesc&n=1".into()).await;
    assert_eq!(r.json()["tags"][0]["name"], "latest");
    assert_eq!(r.header("link"), "</acr/v1/team/app/_tags?last=latest&n=1&orderby=timedesc>; rel=\"next\"");

    let r = get("/acr/v1/team/app/_manifests".into()).await;
    let manifests = r.json()["manifests"].as_array().unwrap().clone();
    assert_eq!(manifests.len(), 2);
    let m2 = manifests.iter().find(|m| m["digest"] == d2.as_str()).unwrap();
    assert_eq!(m2["imageSize"], two.config.bytes.len() + two.layers.iter().map(|l| l.bytes.len()).sum::<usize>());
    assert_eq!((&m2["architecture"], &m2["os"]), (&json!("arm64"), &json!("linux")));
    assert_eq!((&m2["mediaType"], &m2["configMediaType"]), (&json!(media::OCI_MANIFEST), &json!(media::OCI_CONFIG)));
    assert_eq!(m2["tags"], json!(["latest", "v2"]));
    let r = get(format!("/acr/v1/team/app/_manifests/{d1}")).await;
    assert_eq!(
        (r.json()["manifest"]["tags"].clone(), r.json()["manifest"]["architecture"].clone()),
        (json!(["v1"]), json!("amd64"))
    );

    // PATCH changes what it names, nothing else; a bad body changes nothing.
    let ct = [("authorization", admin.as_str()), ("content-type", "application/json")];
    let r = call(&acr, &login, "PATCH", "/acr/v1/team/app/_tags/v1", &ct, br#"{"deleteEnabled": false}"#).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tag"]["changeableAttributes"]["deleteEnabled"], false);
    assert_eq!(
        get("/acr/v1/team/app/_tags/v1".into()).await.json()["tag"]["changeableAttributes"]["writeEnabled"],
        true
    );
    let r = call(&acr, &login, "PATCH", "/acr/v1/team/app", &ct, br#"{"listEnabled": "no"}"#).await;
    assert_eq!((r.status, r.json()["errors"][0]["code"].clone()), (400, json!("UNSUPPORTED")));
    assert_eq!(get("/acr/v1/team/app".into()).await.json()["changeableAttributes"], all_on);

    // Unknown things are 404 with ACR's codes, malformed ones 400, other methods 405.
    let code = |r: &Reply| (r.status, r.json()["errors"][0]["code"].as_str().unwrap_or_default().to_string());
    assert_eq!(code(&get("/acr/v1/nothing/_tags".into()).await), (404, "NAME_UNKNOWN".into()));
    assert_eq!(code(&get("/acr/v1/team/app/_tags/v9".into()).await), (404, "TAG_UNKNOWN".into()));
    let absent = Digest::of(b"absent");
    assert_eq!(code(&get(format!("/acr/v1/team/app/_manifests/{absent}")).await), (404, "MANIFEST_UNKNOWN".into()));
    assert_eq!(code(&get("/acr/v1/team/app/_tags?n=x".into()).await), (400, "PAGINATION_NUMBER_INVALID".into()));
    assert_eq!(code(&get("/acr/v1/Team/_tags".into()).await), (400, "NAME_INVALID".into()));
    let r = call(&acr, &login, "POST", "/acr/v1/team/app", &auth, b"").await;
    assert_eq!(code(&r), (405, "UNSUPPORTED".into()));

    // Untag: the tag goes, its manifest stays under its other tag.
    let r = call(&acr, &login, "DELETE", "/acr/v1/team/app/_tags/latest", &auth, b"").await;
    assert_eq!(r.status, 202);
    assert_eq!(code(&get("/acr/v1/team/app/_tags/latest".into()).await), (404, "TAG_UNKNOWN".into()));
    assert_eq!(code(&get("/v2/team/app/manifests/latest".into()).await), (404, "MANIFEST_UNKNOWN".into()));
    assert_eq!(get("/v2/team/app/manifests/v2".into()).await.status, 200);

    // The repository, whole: what went is listed; the catalog and pulls no longer see it.
    let r = call(&acr, &login, "DELETE", "/acr/v1/team/app", &auth, b"").await;
    assert_eq!(r.status, 202);
    let mut gone = vec![d1.as_str().to_string(), d2.as_str().to_string()];
    gone.sort();
    assert_eq!(r.json(), json!({"manifestsDeleted": gone, "tagsDeleted": ["v1", "v2"]}));
    assert_eq!(get("/acr/v1/_catalog".into()).await.json(), json!({"repositories": ["other"]}));
    assert_eq!(code(&get("/v2/team/app/manifests/v1".into()).await), (404, "NAME_UNKNOWN".into()));
    assert_eq!(code(&get("/acr/v1/team/app".into()).await), (404, "NAME_UNKNOWN".into()));
    assert_eq!(get("/v2/other/manifests/v1".into()).await.status, 200, "another repository keeps its image");
}

/// The scopes of `/acr/v1/`, as `az` asks for them, granted by roles at the registry or
/// above; the firewall before any of it.
#[tokio::test]
async fn acr_v1_needs_metadata_scopes_from_roles_and_passes_the_firewall_first() {
    const ACR_PUSH: &str = "8311e382-0749-4cb8-b61a-304f252e45ec";
    const ACR_DELETE: &str = "c2f4ef07-c644-48eb-af81-4b1b4947fb11";
    const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
    let env = Env::new();
    env.registry("v1acr02", "Premium", false);
    let acr = acr(&env);
    push_image(acr.blobs().as_ref(), &repo("v1acr02", "app"), &generate_image(33, 1, 100), Some("v1")).await.unwrap();
    let login = public(&env, "v1acr02", false);
    let ct = [("content-type", "application/x-www-form-urlencoded")];
    let bearer = |oid: String, scope: &'static str| {
        let (acr, env, login) = (&acr, &env, &login);
        async move {
            let entra = env.signer.sign(&json!({"aud": "https://containerregistry.azure.net/", "tid": env.tenant(),
                "oid": oid, "exp": crate::identity::token::now() + 600}));
            let form = format!("grant_type=access_token&service=v1acr02.azurecr.io&access_token={entra}");
            let r = call(acr, login, "POST", "/oauth2/exchange", &ct, form.as_bytes()).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            let rt = r.json()["refresh_token"].as_str().unwrap().to_string();
            let form = format!("grant_type=refresh_token&service=v1acr02.azurecr.io&scope={scope}&refresh_token={rt}");
            let r = call(acr, login, "POST", "/oauth2/token", &ct, form.as_bytes()).await;
            format!("Bearer {}", r.json()["access_token"].as_str().unwrap())
        }
    };
    let status = |method: &'static str, path: &'static str, token: String| {
        let (acr, login) = (&acr, &login);
        async move {
            let h = [("authorization", token.as_str()), ("content-type", "application/json")];
            call(acr, login, method, path, &h, br#"{"writeEnabled": true}"#).await.status
        }
    };
    let reg_scope = env.registry_id("v1acr02");
    let puller = env.identity("puller");
    env.assign(&reg_scope, &puller, ACR_PULL, 1);
    let pusher = env.identity("pusher");
    env.assign(&env.rg_id(), &pusher, ACR_PUSH, 2);
    let deleter = env.identity("deleter");
    env.assign(&reg_scope, &deleter, ACR_DELETE, 3);
    let contributor = env.identity("contributor");
    env.assign(&env.rg_id(), &contributor, CONTRIBUTOR, 4);
    let nobody = env.identity("nobody");

    let read = "repository%3Aapp%3Ametadata_read";
    let write = "repository%3Aapp%3Ametadata_write%2Cmetadata_read";
    let delete = "repository%3Aapp%3Adelete%2Cmetadata_read";
    assert_eq!(status("GET", "/acr/v1/app/_tags", bearer(puller.clone(), read).await).await, 200);
    assert_eq!(status("PATCH", "/acr/v1/app", bearer(puller.clone(), write).await).await, 401, "AcrPull reads only");
    assert_eq!(status("PATCH", "/acr/v1/app", bearer(pusher.clone(), write).await).await, 200, "AcrPush at the group");
    assert_eq!(status("DELETE", "/acr/v1/app/_tags/v1", bearer(pusher, delete).await).await, 401);
    assert_eq!(
        status("GET", "/acr/v1/app/_tags", bearer(deleter.clone(), read).await).await,
        401,
        "AcrDelete only deletes"
    );
    assert_eq!(status("GET", "/acr/v1/_catalog", bearer(nobody.clone(), "registry%3Acatalog%3A*").await).await, 401);
    assert_eq!(
        status("GET", "/acr/v1/_catalog", bearer(contributor.clone(), "registry%3Acatalog%3A*").await).await,
        200
    );
    assert_eq!(status("GET", "/acr/v1/app/_tags", bearer(nobody, read).await).await, 401);
    let r = call(&acr, &login, "GET", "/acr/v1/app/_tags", &[], b"").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        r#"Bearer realm="https://v1acr02.azurecr.io/oauth2/token",service="v1acr02.azurecr.io",scope="repository:app:metadata_read""#
    );
    assert_eq!(status("DELETE", "/acr/v1/app/_tags/v1", bearer(deleter, delete).await).await, 202);
    assert_eq!(status("DELETE", "/acr/v1/app", bearer(contributor.clone(), delete).await).await, 202);

    // Public access off: the firewall answers before authorization, as on /v2/.
    let token = bearer(contributor, "registry%3Acatalog%3A*").await;
    env.patch_registry("v1acr02", json!({"properties": {"publicNetworkAccess": "Disabled"}}));
    let h = [("authorization", token.as_str())];
    let r = call(&acr, &login, "GET", "/acr/v1/_catalog", &h, b"").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"errors":[{"code":"DENIED","message":"client with IP '20.80.0.1' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."}]}"#
    );
}
