//! ARM error answers: each client mistake gets the status and the error code Azure gives
//! (docs/azure.md F for the envelope and codes, A9 and D for the rules ARM enforces), checked
//! on `Arm::handle` directly and, for the body limit, over a real TLS socket through
//! `serve`. A property test then throws ten thousand random requests at one ARM whose
//! state accumulates, and checks that none makes it panic or answer 5xx, and that every
//! error is a well-formed envelope.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mock_azure::arm::version::ApiVersion;
use mock_azure::arm::{Arm, ArmConfig, ArmRequest, ArmResponse, MAX_BODY};
use mock_azure::identity::TokenSigner;
use mock_azure::identity::token::now;
use mock_azure::model::Store;
use mock_azure::tls::Ca;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{TestCaseError, TestRunner};
use pullsim_tests::ArmFixture as Fixture;
use pullsim_tests::client_resources;
use serde_json::{Value, json};

/// The subscription `ArmConfig::new` uses (checked in `ArmFixture::new`).
const SUB: &str = "00000000-0000-4000-8000-000000000001";
/// The tenant `ArmConfig::new` uses.
const TENANT: &str = "72f988bf-0000-4000-8000-00000000c0de";
const ARM_AUDIENCE: &str = "https://management.core.windows.net/";
const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Signs claims as Entra would issue them: with the caller's object ID (the service
/// principal's, the subscription's Owner) unless the claims name one.
fn sign(signer: &TokenSigner, mut claims: Value) -> String {
    if claims.get("oid").is_none() {
        claims["oid"] = json!(mock_azure::arm::ArmConfig::new("https://x").object_id());
    }
    signer.sign(&claims)
}

/// A token for ARM from our tenant, valid for `ttl` seconds (negative: already expired).
fn arm_token(signer: &TokenSigner, ttl: i64) -> String {
    let t = now() as i64;
    sign(signer, json!({"aud": ARM_AUDIENCE, "tid": TENANT, "iat": t - 60, "exp": t + ttl}))
}

fn rg_id(rg: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}")
}

fn header<'a>(r: &'a ArmResponse, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn text(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    if s.chars().count() > 600 { format!("{}…", s.chars().take(600).collect::<String>()) } else { s.into_owned() }
}

/// Asserts the status and the ARM error code, and that the envelope carries a message;
/// returns the message.
#[track_caller]
fn assert_error(r: &ArmResponse, status: u16, code: &str) -> String {
    let body = r.json_body();
    assert_eq!(
        (r.status, body["error"]["code"].as_str()),
        (status, Some(code)),
        "expected {status} {code}, got: {}",
        text(&r.body)
    );
    let message = body["error"]["message"].as_str().unwrap_or_else(|| panic!("no error.message in {body}"));
    assert!(!message.is_empty(), "empty error.message");
    message.to_string()
}

fn with_body(mut req: ArmRequest, body: &[u8]) -> ArmRequest {
    req.body = Bytes::copy_from_slice(body);
    req.headers.push(("content-type".into(), "application/json".into()));
    req
}

// ---------------------------------------------------------------------------------------
// 1. Malformed JSON
// ---------------------------------------------------------------------------------------

const MALFORMED_BODIES: [&[u8]; 8] = [
    b"{\"location\": \"westeurope\"",
    b"not json",
    b"{\"location\": westeurope}",
    b"{\"location\": \"westeurope\"} trailing",
    b"\xff\xfe{\"location\": \"westeurope\"}",
    b"[{\"location\": \"westeurope\"}]",
    b"\"westeurope\"",
    b"{\"location\": \"westeurope\",}",
];

#[test]
fn malformed_json_gets_invalid_request_content() {
    let f = Fixture::new();
    let path = format!("{}?api-version=2024-11-01", rg_id("rg-json"));
    for body in MALFORMED_BODIES {
        let before = f.store_state();
        let r = f.arm.handle(&with_body(f.req("PUT", &path), body));
        assert_error(&r, 400, "InvalidRequestContent");
        assert_eq!(f.store_state(), before, "store changed by {}", text(body));
        assert_eq!(client_resources(&f.arm.store), 0);
    }
}

#[test]
fn malformed_json_leaves_an_existing_resource_group_untouched() {
    let f = Fixture::new();
    let path = format!("{}?api-version=2024-11-01", rg_id("rg-json"));
    let created = f.ok("PUT", &path, Some(&json!({"location": "westeurope", "tags": {"keep": "me"}})));
    for body in MALFORMED_BODIES {
        let before = f.store_state();
        let r = f.arm.handle(&with_body(f.req("PUT", &path), body));
        assert_error(&r, 400, "InvalidRequestContent");
        assert_eq!(f.store_state(), before, "store changed by {}", text(body));
        // PATCH parses the body the same way.
        let r = f.arm.handle(&with_body(f.req("PATCH", &path), body));
        assert_error(&r, 400, "InvalidRequestContent");
        assert_eq!(f.store_state(), before, "store changed by PATCH {}", text(body));
    }
    assert_eq!(f.ok("GET", &path, None), created);
}

// ---------------------------------------------------------------------------------------
// 2. api-version
// ---------------------------------------------------------------------------------------

#[test]
fn request_without_api_version_gets_missing_api_version_parameter() {
    let f = Fixture::new();
    for path in [rg_id("rg"), format!("/subscriptions/{SUB}"), "/subscriptions".to_string(), "/tenants".to_string()] {
        let r = f.send("GET", &path, None);
        assert_error(&r, 400, "MissingApiVersionParameter");
        // Another parameter is not an api-version either.
        let r = f.send("GET", &format!("{path}?$filter=name%20eq%20%27x%27&apiversion=2024-11-01"), None);
        assert_error(&r, 400, "MissingApiVersionParameter");
    }
    let r = f.send("PUT", &rg_id("rg"), Some(&json!({"location": "westeurope"})));
    assert_error(&r, 400, "MissingApiVersionParameter");
    assert_eq!(client_resources(&f.arm.store), 0);
}

#[test]
fn malformed_api_version_gets_invalid_api_version_parameter() {
    let f = Fixture::new();
    for v in ["latest", "2021-13-01", "2021-1-01", "", "2021-01-01preview", "2021-02-30x", "13-01-2021"] {
        let r = f.send("PUT", &format!("{}?api-version={v}", rg_id("rg")), Some(&json!({"location": "westeurope"})));
        let message = assert_error(&r, 400, "InvalidApiVersionParameter");
        assert!(message.contains(&format!("'{v}'")), "{message}");
    }
    assert_eq!(client_resources(&f.arm.store), 0);
    // Well-formed versions newer than any published spec are accepted (docs/azure.md F).
    f.ok("PUT", &format!("{}?api-version=2026-09-01-preview", rg_id("rg")), Some(&json!({"location": "westeurope"})));
    f.ok("GET", &format!("{}?API-VERSION=2099-12-31", rg_id("rg")), None);
}

// ---------------------------------------------------------------------------------------
// 3. Authentication
// ---------------------------------------------------------------------------------------

const SUB_PATH: &str = "/subscriptions/00000000-0000-4000-8000-000000000001?api-version=2022-12-01";

#[track_caller]
fn assert_challenge(r: &ArmResponse) {
    let challenge = header(r, "www-authenticate").unwrap_or_else(|| panic!("401 without www-authenticate: {r:?}"));
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("authorization_uri="), "{challenge}");
}

#[test]
fn request_without_authorization_header_gets_authentication_failed() {
    let f = Fixture::new();
    let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH));
    assert_error(&r, 401, "AuthenticationFailed");
    assert_challenge(&r);
    // A header that is not a bearer token is the same family of failure.
    let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH).header("authorization", "Basic dXNlcjpwYXNz"));
    assert_error(&r, 401, "AuthenticationFailed");
    // The token itself is fine: the same request with it succeeds.
    f.ok("GET", SUB_PATH, None);
}

#[test]
fn expired_token_gets_expired_authentication_token() {
    let f = Fixture::new();
    let expired = arm_token(&f.arm.signer, -120);
    let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH).header("authorization", &format!("Bearer {expired}")));
    assert_error(&r, 401, "ExpiredAuthenticationToken");
    assert_challenge(&r);
}

#[test]
fn token_signed_by_another_signer_gets_invalid_authentication_token() {
    let f = Fixture::new();
    let other = TokenSigner::generate().unwrap();
    let forged = arm_token(&other, 3600);
    let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH).header("authorization", &format!("Bearer {forged}")));
    assert_error(&r, 401, "InvalidAuthenticationToken");
    assert_challenge(&r);
}

#[test]
fn token_with_tampered_claims_gets_invalid_authentication_token() {
    let f = Fixture::new();
    // Our signature over someone else's claims: swap the payload of a valid token.
    let parts: Vec<&str> = f.token.split('.').collect();
    let other = arm_token(&TokenSigner::generate().unwrap(), 7200);
    let other_claims = other.split('.').nth(1).unwrap();
    let tampered = format!("{}.{}.{}", parts[0], other_claims, parts[2]);
    let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH).header("authorization", &format!("Bearer {tampered}")));
    assert_error(&r, 401, "InvalidAuthenticationToken");
}

#[test]
fn token_of_another_tenant_gets_invalid_authentication_token() {
    let f = Fixture::new();
    let t = now();
    let token = sign(
        &f.arm.signer,
        json!({"aud": ARM_AUDIENCE, "tid": "11111111-2222-4333-8444-555555555555", "iat": t, "exp": t + 3600}),
    );
    let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH).header("authorization", &format!("Bearer {token}")));
    assert_error(&r, 401, "InvalidAuthenticationToken");
}

#[test]
fn garbage_bearer_token_gets_invalid_authentication_token() {
    let f = Fixture::new();
    for garbage in ["garbage", "", "a.b.c", "a.b", "....", "eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0.", "🦀.🦀.🦀"] {
        let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH).header("authorization", &format!("Bearer {garbage}")));
        assert_error(&r, 401, "InvalidAuthenticationToken");
        assert_challenge(&r);
    }
}

#[test]
fn token_for_another_audience_gets_401() {
    let f = Fixture::new();
    let t = now();
    for aud in ["https://containerregistry.azure.net/", "https://graph.microsoft.com", ""] {
        let token = sign(&f.arm.signer, json!({"aud": aud, "tid": TENANT, "iat": t, "exp": t + 3600}));
        let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH).header("authorization", &format!("Bearer {token}")));
        let message = assert_error(&r, 401, "InvalidAuthenticationTokenAudience");
        assert!(message.contains(&format!("'{aud}'")), "{message}");
        assert_challenge(&r);
    }
    // Both ARM audiences are accepted, with or without the trailing slash.
    for aud in ["https://management.azure.com/", "https://management.core.windows.net"] {
        let token = sign(&f.arm.signer, json!({"aud": aud, "tid": TENANT, "iat": t, "exp": t + 3600}));
        let r = f.arm.handle(&ArmRequest::new("GET", SUB_PATH).header("authorization", &format!("Bearer {token}")));
        assert_eq!(r.status, 200, "{aud}: {}", text(&r.body));
    }
}

#[test]
fn every_401_carries_a_www_authenticate_challenge() {
    let f = Fixture::new();
    let t = now();
    let other = TokenSigner::generate().unwrap();
    let headers = [
        None,
        Some("Basic abc".to_string()),
        Some(format!("Bearer {}", arm_token(&f.arm.signer, -10))),
        Some(format!("Bearer {}", arm_token(&other, 3600))),
        Some("Bearer nonsense".to_string()),
        Some(format!("Bearer {}", sign(&f.arm.signer, json!({"aud": "https://x/", "tid": TENANT, "exp": t + 60})))),
    ];
    for path in [SUB_PATH.to_string(), format!("{}?api-version=2024-11-01", rg_id("rg")), "/tenants".into()] {
        for h in &headers {
            for method in ["GET", "PUT", "DELETE", "POST"] {
                let mut req = ArmRequest::new(method, &path);
                if let Some(h) = h {
                    req = req.header("authorization", h);
                }
                let r = f.arm.handle(&req);
                assert_eq!(r.status, 401, "{method} {path} with {h:?}: {}", text(&r.body));
                assert_challenge(&r);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. Unknown types and namespaces
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_resource_type_in_a_known_namespace_gets_invalid_resource_type() {
    let f = Fixture::new();
    f.ok("PUT", &format!("{}?api-version=2024-11-01", rg_id("rg")), Some(&json!({"location": "westeurope"})));
    let before = f.store_state();
    let r = f.send(
        "PUT",
        &format!("{}/providers/Microsoft.Web/widgets/w?api-version=2024-11-01", rg_id("rg")),
        Some(&json!({"location": "westeurope"})),
    );
    let message = assert_error(&r, 400, "InvalidResourceType");
    assert!(message.contains("'widgets'") && message.contains("'Microsoft.Web'"), "{message}");
    assert_eq!(f.store_state(), before);
    // GET of one, of a nested one, and a subscription-wide listing of the type.
    let r =
        f.send("GET", &format!("{}/providers/Microsoft.Network/wormholes/w?api-version=2024-05-01", rg_id("rg")), None);
    assert_error(&r, 400, "InvalidResourceType");
    let r = f.send(
        "GET",
        &format!("{}/providers/Microsoft.Web/sites/app/gadgets/g?api-version=2024-11-01", rg_id("rg")),
        None,
    );
    assert_error(&r, 400, "InvalidResourceType");
    let r =
        f.send("GET", &format!("/subscriptions/{SUB}/providers/Microsoft.Web/widgets?api-version=2024-11-01"), None);
    assert_error(&r, 400, "InvalidResourceType");
}

#[test]
fn unknown_namespace_gets_invalid_resource_namespace() {
    let f = Fixture::new();
    f.ok("PUT", &format!("{}?api-version=2024-11-01", rg_id("rg")), Some(&json!({"location": "westeurope"})));
    let before = f.store_state();
    let r = f.send(
        "PUT",
        &format!("{}/providers/Microsoft.Nope/things/x?api-version=2024-11-01", rg_id("rg")),
        Some(&json!({"location": "westeurope"})),
    );
    let message = assert_error(&r, 400, "InvalidResourceNamespace");
    assert!(message.contains("'Microsoft.Nope'"), "{message}");
    assert_eq!(f.store_state(), before);
    for path in [
        format!("{}/providers/Microsoft.Nope/things?api-version=2024-11-01", rg_id("rg")),
        format!("/subscriptions/{SUB}/providers/Microsoft.Nope?api-version=2024-11-01"),
        format!("/subscriptions/{SUB}/providers/Microsoft.Nope/things?api-version=2024-11-01"),
    ] {
        assert_error(&f.send("GET", &path, None), 400, "InvalidResourceNamespace");
    }
}

// ---------------------------------------------------------------------------------------
// 5. Body limit, over the socket
// ---------------------------------------------------------------------------------------

/// One HTTP/1.1 request over a fresh TLS connection with hyper's client.
async fn https(
    tls: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, Vec<(String, String)>, Bytes) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let len = body.len();
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("localhost:{}", addr.port()))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("content-length", len)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    drop(sender);
    let _ = tokio::time::timeout(Duration::from_secs(5), driver).await;
    (status, headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_over_tls_gets_413_and_the_server_keeps_answering() {
    let ca = Ca::generate().unwrap();
    let server_tls = ca.server_config(&["localhost"], &["127.0.0.1".parse().unwrap()]).unwrap();
    let client_tls = ca.client_config().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let signer = Arc::new(TokenSigner::generate().unwrap());
    let token = arm_token(&signer, 3600);
    let arm =
        Arc::new(Arm::new(Store::in_memory(), signer, ArmConfig::new(format!("https://localhost:{}", addr.port()))));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mock_azure::arm::serve(listener, server_tls, arm.clone(), async move {
        let _ = stopped.await;
    }));

    let work = async {
        // A valid resource-group body, padded inside a tag to one byte over the limit: were
        // the limit not enforced, this PUT would create the group.
        let (head, tail) = (r#"{"location":"westeurope","tags":{"pad":""#, r#""}}"#);
        let pad = MAX_BODY + 1 - head.len() - tail.len();
        let body = format!("{head}{}{tail}", "x".repeat(pad)).into_bytes();
        assert_eq!(body.len(), MAX_BODY + 1);
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
        let rg = format!("{}?api-version=2024-11-01", rg_id("big"));
        let (status, _, resp) = https(&client_tls, addr, "PUT", &rg, &token, body).await;
        let err: Value = serde_json::from_slice(&resp).unwrap_or(Value::Null);
        assert_eq!((status, err["error"]["code"].as_str()), (413, Some("RequestEntityTooLarge")), "{}", text(&resp));
        assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("4 MB")), "{err}");
        assert_eq!(client_resources(&arm.store), 0, "the oversized PUT created something");

        // The server still answers, and a body at the limit's side of it is accepted.
        let (status, headers, resp) = https(&client_tls, addr, "GET", SUB_PATH, &token, Vec::new()).await;
        let sub: Value = serde_json::from_slice(&resp).unwrap();
        assert_eq!((status, sub["subscriptionId"].as_str()), (200, Some(SUB)), "{}", text(&resp));
        assert!(headers.iter().any(|(k, _)| k == "x-ms-request-id"), "{headers:?}");
        let small = br#"{"location":"westeurope"}"#.to_vec();
        let (status, _, resp) = https(&client_tls, addr, "PUT", &rg, &token, small).await;
        assert_eq!(status, 201, "{}", text(&resp));
        assert_eq!(client_resources(&arm.store), 1);
    };
    tokio::time::timeout(Duration::from_secs(60), work).await.expect("the socket test took over 60 s");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("serve did not stop").unwrap();
}

#[test]
fn oversized_body_handed_to_handle_directly_gets_413() {
    let f = Fixture::new();
    let req = f.req("PUT", &format!("{}?api-version=2024-11-01", rg_id("big")));
    let r = f.arm.handle(&with_body(req, &vec![b' '; MAX_BODY + 1]));
    assert_error(&r, 413, "RequestEntityTooLarge");
    assert_eq!(client_resources(&f.arm.store), 0);
    // Exactly at the limit is fine (all whitespace: an empty object).
    let req = f.req("PUT", &format!("{}?api-version=2024-11-01", rg_id("big")));
    let mut body = vec![b' '; MAX_BODY];
    body[..25].copy_from_slice(br#"{"location":"westeurope"}"#);
    let r = f.arm.handle(&with_body(req, &body));
    assert_eq!(r.status, 201, "{}", text(&r.body));
}

// ---------------------------------------------------------------------------------------
// 6. Azure rules that live in ARM
// ---------------------------------------------------------------------------------------

#[test]
fn resource_in_a_missing_resource_group_gets_resource_group_not_found() {
    let f = Fixture::new();
    f.ok("PUT", &format!("{}?api-version=2024-11-01", rg_id("rg")), Some(&json!({"location": "westeurope"})));
    let r = f.send("GET", &format!("{}/providers/Microsoft.Web/sites/app?api-version=2024-11-01", rg_id("nope")), None);
    let message = assert_error(&r, 404, "ResourceGroupNotFound");
    assert!(message.contains("'nope'"), "{message}");
    // The group itself, and a PUT into it.
    assert_error(
        &f.send("GET", &format!("{}?api-version=2024-11-01", rg_id("nope")), None),
        404,
        "ResourceGroupNotFound",
    );
    let r = f.send(
        "PUT",
        &format!("{}/providers/Microsoft.Network/virtualNetworks/v?api-version=2024-05-01", rg_id("nope")),
        Some(&json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})),
    );
    assert_error(&r, 404, "ResourceGroupNotFound");
    assert_eq!(client_resources(&f.arm.store), 1);
}

#[test]
fn missing_resource_gets_resource_not_found() {
    let f = Fixture::new();
    f.ok("PUT", &format!("{}?api-version=2024-11-01", rg_id("rg")), Some(&json!({"location": "westeurope"})));
    let r = f.send("GET", &format!("{}/providers/Microsoft.Web/sites/ghost?api-version=2024-11-01", rg_id("rg")), None);
    let message = assert_error(&r, 404, "ResourceNotFound");
    assert!(message.contains("'Microsoft.Web/sites/ghost'") && message.contains("'rg'"), "{message}");
    // A child of a missing parent names the parent.
    let r = f.send(
        "GET",
        &format!(
            "{}/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/l?api-version=2024-06-01",
            rg_id("rg")
        ),
        None,
    );
    let message = assert_error(&r, 404, "ResourceNotFound");
    assert!(message.contains("Microsoft.Network/privateDnsZones/privatelink.azurecr.io"), "{message}");
    // PATCH of a missing resource is a 404 too, not a create.
    let r = f.send(
        "PATCH",
        &format!("{}/providers/Microsoft.ContainerRegistry/registries/ghostacr?api-version=2023-07-01", rg_id("rg")),
        Some(&json!({"properties": {"adminUserEnabled": true}})),
    );
    assert_error(&r, 404, "ResourceNotFound");
    assert_eq!(client_resources(&f.arm.store), 1);
}

#[test]
fn disabling_public_access_on_a_basic_registry_gets_disabling_public_network_access_not_supported() {
    let f = Fixture::new();
    f.ok("PUT", &format!("{}?api-version=2024-11-01", rg_id("rg")), Some(&json!({"location": "westeurope"})));
    let before = f.store_state();
    for sku in ["Basic", "Standard"] {
        let r = f.send(
            "PUT",
            &format!("{}/providers/Microsoft.ContainerRegistry/registries/acr{sku}01?api-version=2023-07-01", rg_id("rg")),
            Some(&json!({"location": "westeurope", "sku": {"name": sku}, "properties": {"publicNetworkAccess": "Disabled"}})),
        );
        let message = assert_error(&r, 400, "DisablingPublicNetworkAccessNotSupported");
        assert_eq!(
            message,
            format!(
                "Disabling public network access is not supported for the SKU {sku}. For more information, please visit https://aka.ms/acr/private-link."
            )
        );
    }
    assert_eq!(f.store_state(), before);
    // Premium may; and a Basic registry that exists cannot be switched by PATCH either.
    f.ok(
        "PUT",
        &format!("{}/providers/Microsoft.ContainerRegistry/registries/acrpremium01?api-version=2023-07-01", rg_id("rg")),
        Some(&json!({"location": "westeurope", "sku": {"name": "Premium"}, "properties": {"publicNetworkAccess": "Disabled"}})),
    );
    let basic =
        format!("{}/providers/Microsoft.ContainerRegistry/registries/acrbasic01?api-version=2023-07-01", rg_id("rg"));
    f.ok("PUT", &basic, Some(&json!({"location": "westeurope", "sku": {"name": "Basic"}})));
    let r = f.send("PATCH", &basic, Some(&json!({"properties": {"publicNetworkAccess": "Disabled"}})));
    let message = assert_error(&r, 400, "DisablingPublicNetworkAccessNotSupported");
    assert!(message.contains("SKU Basic."), "{message}");
}

#[test]
fn deleting_a_private_dns_zone_with_a_virtual_network_link_gets_cannot_delete_resource() {
    let f = Fixture::new();
    let rg = rg_id("rg");
    f.ok("PUT", &format!("{rg}?api-version=2024-11-01"), Some(&json!({"location": "westeurope"})));
    let vnet = format!("{rg}/providers/Microsoft.Network/virtualNetworks/vnet");
    f.ok(
        "PUT",
        &format!("{vnet}?api-version=2024-05-01"),
        Some(&json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})),
    );
    let zone = format!("{rg}/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io");
    f.ok("PUT", &format!("{zone}?api-version=2024-06-01"), Some(&json!({"location": "global"})));
    let link = format!("{zone}/virtualNetworkLinks/vnet-link");
    f.ok(
        "PUT",
        &format!("{link}?api-version=2024-06-01"),
        Some(&json!({"location": "global", "properties": {"virtualNetwork": {"id": vnet}, "registrationEnabled": false}})),
    );

    let before = f.store_state();
    let r = f.send("DELETE", &format!("{zone}?api-version=2024-06-01"), None);
    let message = assert_error(&r, 409, "CannotDeleteResource");
    assert_eq!(
        message,
        "Cannot delete resource while nested resources exist. Some existing nested resource IDs include: 'Microsoft.Network/privateDnsZones/privatelink.azurecr.io/virtualNetworkLinks/vnet-link'. Please delete all nested resources before deleting this resource."
    );
    assert_eq!(f.store_state(), before, "the refused DELETE changed the store");
    f.ok("GET", &format!("{link}?api-version=2024-06-01"), None);

    // Links first, then the zone (docs/azure.md A9).
    f.ok("DELETE", &format!("{link}?api-version=2024-06-01"), None);
    f.ok("DELETE", &format!("{zone}?api-version=2024-06-01"), None);
    assert_error(&f.send("GET", &format!("{zone}?api-version=2024-06-01"), None), 404, "ResourceNotFound");
}

// ---------------------------------------------------------------------------------------
// Deeply nested `providers`: resource IDs are parsed recursively
// ---------------------------------------------------------------------------------------

/// `serve` runs `handle` on tokio worker threads, whose stacks are 2 MiB by default (the
/// pullsim binary builds its runtime with the default).
const WORKER_STACK: usize = 2 * 1024 * 1024;

fn on_a_worker_sized_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(WORKER_STACK).spawn(f).unwrap().join().unwrap()
}

/// GETs `/subscriptions/{SUB}` followed by `n` `/providers` segments, and PUTs a site whose
/// `serverFarmId` is that path; returns both answers as `(status, code)`.
fn nested_providers(n: usize) -> [(u16, String); 2] {
    on_a_worker_sized_stack(move || {
        let f = Fixture::new();
        f.ok("PUT", &format!("{}?api-version=2024-11-01", rg_id("rg")), Some(&json!({"location": "westeurope"})));
        let nested = format!("/subscriptions/{SUB}{}", "/providers".repeat(n));
        let get = f.send("GET", &format!("{nested}?api-version=2024-11-01"), None);
        let put = f.send(
            "PUT",
            &format!("{}/providers/Microsoft.Web/sites/app?api-version=2024-11-01", rg_id("rg")),
            Some(&json!({"location": "westeurope", "properties": {"serverFarmId": nested}})),
        );
        let code = |r: &ArmResponse| r.json_body()["error"]["code"].as_str().unwrap_or_default().to_string();
        [(get.status, code(&get)), (put.status, code(&put))]
    })
}

#[test]
fn path_with_a_hundred_providers_segments_gets_invalid_request_uri() {
    let [get, put] = nested_providers(100);
    assert_eq!(get, (404, "InvalidRequestUri".to_string()));
    assert_eq!(put, (400, "LinkedInvalidPropertyId".to_string()));
}

/// Regression: a 10 KB URL of `providers` segments once recursed once per segment in the
/// ID parser and overflowed the worker thread's stack, killing the whole server.
#[test]
fn path_with_a_thousand_providers_segments_gets_invalid_request_uri_not_a_stack_overflow() {
    let [get, put] = nested_providers(1000);
    assert_eq!(get, (404, "InvalidRequestUri".to_string()));
    assert_eq!(put, (400, "LinkedInvalidPropertyId".to_string()));
}

// ---------------------------------------------------------------------------------------
// 7. Property: no request makes ARM panic or answer 5xx
// ---------------------------------------------------------------------------------------

/// The tokens a generated request may carry, all for the world's signer unless forged.
struct Tokens {
    valid: String,
    expired: String,
    no_expiry: String,
    wrong_audience: String,
    other_tenant: String,
    forged: String,
}

impl Tokens {
    fn new(signer: &TokenSigner) -> Tokens {
        let t = now();
        Tokens {
            valid: arm_token(signer, 6 * 3600),
            expired: arm_token(signer, -30),
            no_expiry: sign(signer, json!({"aud": ARM_AUDIENCE, "tid": TENANT, "iat": t})),
            wrong_audience: sign(
                signer,
                json!({"aud": "https://containerregistry.azure.net/", "tid": TENANT, "exp": t + 6 * 3600}),
            ),
            other_tenant: sign(signer, json!({"aud": ARM_AUDIENCE, "tid": "common", "exp": t + 6 * 3600})),
            forged: arm_token(&TokenSigner::generate().unwrap(), 6 * 3600),
        }
    }
}

#[derive(Debug, Clone)]
enum Auth {
    Valid,
    ValidLowerScheme,
    ValidPadded,
    Missing,
    BasicScheme,
    Expired,
    NoExpiry,
    WrongAudience,
    OtherTenant,
    Forged,
    Garbage(String),
}

impl Auth {
    fn header(&self, t: &Tokens) -> Option<String> {
        Some(match self {
            Auth::Valid => format!("Bearer {}", t.valid),
            Auth::ValidLowerScheme => format!("bearer {}", t.valid),
            Auth::ValidPadded => format!("Bearer   {}  ", t.valid),
            Auth::Missing => return None,
            Auth::BasicScheme => "Basic dXNlcjpwYXNz".into(),
            Auth::Expired => format!("Bearer {}", t.expired),
            Auth::NoExpiry => format!("Bearer {}", t.no_expiry),
            Auth::WrongAudience => format!("Bearer {}", t.wrong_audience),
            Auth::OtherTenant => format!("Bearer {}", t.other_tenant),
            Auth::Forged => format!("Bearer {}", t.forged),
            Auth::Garbage(g) => format!("Bearer {g}"),
        })
    }

    /// The ARM error code a request with this header gets, `None` if it authenticates.
    fn expected_code(&self) -> Option<&'static str> {
        match self {
            Auth::Valid | Auth::ValidLowerScheme | Auth::ValidPadded => None,
            Auth::Missing | Auth::BasicScheme => Some("AuthenticationFailed"),
            Auth::Expired => Some("ExpiredAuthenticationToken"),
            Auth::NoExpiry => Some("InvalidAuthenticationToken"),
            Auth::WrongAudience => Some("InvalidAuthenticationTokenAudience"),
            Auth::OtherTenant | Auth::Forged | Auth::Garbage(_) => Some("InvalidAuthenticationToken"),
        }
    }
}

fn auth_strategy() -> impl Strategy<Value = Auth> {
    prop_oneof![
        80 => Just(Auth::Valid),
        4 => Just(Auth::ValidLowerScheme),
        2 => Just(Auth::ValidPadded),
        3 => Just(Auth::Missing),
        1 => Just(Auth::BasicScheme),
        2 => prop_oneof![Just(Auth::Expired), Just(Auth::NoExpiry)],
        2 => prop_oneof![Just(Auth::WrongAudience), Just(Auth::OtherTenant)],
        2 => Just(Auth::Forged),
        2 => "\\PC{0,40}".prop_map(Auth::Garbage),
    ]
}

/// A request the generator starts from: a valid method, path, api-version and body.
struct Target {
    method: &'static str,
    path: String,
    api: &'static str,
    body: Body,
}

#[derive(Clone)]
enum Body {
    None,
    Json(Value),
    /// Form-encoded, for the token endpoint.
    Raw(String),
}

struct Ids {
    rg: String,
    vnet: String,
    vnet2: String,
    subnet_pe: String,
    subnet_int: String,
    plan: String,
    site: String,
    registry: String,
    pe: String,
    zone: String,
    link: String,
    uami: String,
}

impl Ids {
    fn new() -> Ids {
        let rg = rg_id("rg");
        let net = format!("{rg}/providers/Microsoft.Network");
        let vnet = format!("{net}/virtualNetworks/vnet");
        let zone = format!("{net}/privateDnsZones/privatelink.azurecr.io");
        Ids {
            subnet_pe: format!("{vnet}/subnets/pe"),
            subnet_int: format!("{vnet}/subnets/int"),
            vnet2: format!("{net}/virtualNetworks/vnet2"),
            plan: format!("{rg}/providers/Microsoft.Web/serverfarms/plan"),
            site: format!("{rg}/providers/Microsoft.Web/sites/app"),
            registry: format!("{rg}/providers/Microsoft.ContainerRegistry/registries/acrpullsim"),
            pe: format!("{net}/privateEndpoints/pe"),
            link: format!("{zone}/virtualNetworkLinks/l"),
            uami: format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami"),
            rg,
            vnet,
            zone,
        }
    }
}

fn put(path: String, api: &'static str, body: Value) -> Target {
    Target { method: "PUT", path, api, body: Body::Json(body) }
}

fn op(method: &'static str, path: String, api: &'static str, body: Option<Value>) -> Target {
    Target { method, path, api, body: body.map_or(Body::None, Body::Json) }
}

/// The small App Service + ACR-over-private-endpoint topology of docs/azure.md A, in creation
/// order. The role assignment, which needs the identity's principal, comes last.
fn topology(ids: &Ids) -> Vec<Target> {
    let loc = "westeurope";
    vec![
        put(ids.rg.clone(), "2024-11-01", json!({"location": loc, "tags": {"env": "test"}})),
        put(
            ids.vnet.clone(),
            "2024-05-01",
            json!({"location": loc, "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [
                    {"name": "pe", "properties": {"addressPrefix": "10.0.1.0/24"}},
                    {"name": "int", "properties": {"addressPrefix": "10.0.2.0/24",
                        "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}},
                ],
            }}),
        ),
        put(
            ids.vnet2.clone(),
            "2024-05-01",
            json!({"location": loc, "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                "dhcpOptions": {"dnsServers": ["10.1.0.4"]}}}),
        ),
        put(
            ids.plan.clone(),
            "2024-11-01",
            json!({"location": loc, "kind": "linux", "sku": {"name": "P1v3", "capacity": 1}, "properties": {"reserved": true}}),
        ),
        put(
            ids.registry.clone(),
            "2023-07-01",
            json!({"location": loc, "sku": {"name": "Premium"}, "properties": {
                "adminUserEnabled": true, "dataEndpointEnabled": true, "networkRuleBypassOptions": "AzureServices",
                "networkRuleSet": {"defaultAction": "Allow", "ipRules": [{"action": "Allow", "value": "203.0.113.0/24"}]},
            }}),
        ),
        put(
            ids.site.clone(),
            "2024-11-01",
            json!({"location": loc, "kind": "app,linux,container", "identity": {"type": "SystemAssigned"}, "properties": {
                "serverFarmId": ids.plan, "httpsOnly": true, "virtualNetworkSubnetId": ids.subnet_int,
                "outboundVnetRouting": {"imagePullTraffic": true, "applicationTraffic": true},
                "siteConfig": {
                    "linuxFxVersion": "DOCKER|acrpullsim.azurecr.io/app:v1", "vnetRouteAllEnabled": true,
                    "appSettings": [{"name": "WEBSITE_PULL_IMAGE_OVER_VNET", "value": "true"},
                                    {"name": "DOCKER_REGISTRY_SERVER_URL", "value": "https://acrpullsim.azurecr.io"}],
                },
            }}),
        ),
        put(
            ids.pe.clone(),
            "2024-05-01",
            json!({"location": loc, "properties": {
                "subnet": {"id": ids.subnet_pe},
                "privateLinkServiceConnections": [{"name": "acr", "properties": {
                    "privateLinkServiceId": ids.registry, "groupIds": ["registry"]}}],
            }}),
        ),
        put(ids.zone.clone(), "2024-06-01", json!({"location": "global"})),
        put(
            ids.link.clone(),
            "2024-06-01",
            json!({"location": "global", "properties": {"virtualNetwork": {"id": ids.vnet}, "registrationEnabled": false,
                "resolutionPolicy": "Default"}}),
        ),
        put(
            format!("{}/privateDnsZoneGroups/g", ids.pe),
            "2024-05-01",
            json!({"properties": {"privateDnsZoneConfigs": [{"name": "acr", "properties": {"privateDnsZoneId": ids.zone}}]}}),
        ),
        put(
            format!("{}/A/extra", ids.zone),
            "2024-06-01",
            json!({"properties": {"ttl": 300, "aRecords": [{"ipv4Address": "10.0.1.50"}]}}),
        ),
        put(
            format!("{}/virtualNetworkPeerings/to-vnet2", ids.vnet),
            "2024-05-01",
            json!({"properties": {"remoteVirtualNetwork": {"id": ids.vnet2}, "allowForwardedTraffic": true}}),
        ),
        put(ids.uami.clone(), "2023-01-31", json!({"location": loc})),
    ]
}

fn role_assignment(ids: &Ids, principal: &str) -> Target {
    put(
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/0f5b8c1e-1d2a-4c3b-9a8d-7e6f5a4b3c2d",
            ids.registry
        ),
        "2022-04-01",
        json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"),
            "principalId": principal, "principalType": "ServicePrincipal"}}),
    )
}

/// Every target: the topology's PUTs, then changes, actions, deletes and reads on it.
fn targets(ids: &Ids, principal: &str) -> Vec<Target> {
    let loc = "westeurope";
    let sub = format!("/subscriptions/{SUB}");
    let mut t = topology(ids);
    t.push(role_assignment(ids, principal));
    t.extend([
        // Changes.
        put(format!("{}/subnets/extra", ids.vnet), "2024-05-01", json!({"properties": {"addressPrefix": "10.0.3.0/24"}})),
        put(
            format!("{}/subnets/delegated", ids.vnet2),
            "2024-05-01",
            json!({"properties": {"addressPrefixes": ["10.1.1.0/26"], "privateEndpointNetworkPolicies": "Enabled",
                "delegations": [{"name": "d", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}}),
        ),
        put(
            format!("{}/config/web", ids.site),
            "2024-11-01",
            json!({"properties": {"vnetRouteAllEnabled": "true", "linuxFxVersion": "DOCKER|acrpullsim.azurecr.io/app:v2",
                "acrUseManagedIdentityCreds": false, "alwaysOn": true}}),
        ),
        op("PATCH", format!("{}/config/web", ids.site), "2022-03-01", Some(json!({"properties": {"vnetRouteAllEnabled": true}}))),
        put(
            format!("{}/config/appsettings", ids.site),
            "2024-11-01",
            json!({"properties": {"DOCKER_REGISTRY_SERVER_URL": "https://acrpullsim.azurecr.io",
                "DOCKER_REGISTRY_SERVER_USERNAME": "acrpullsim", "WEBSITE_VNET_ROUTE_ALL": "1"}}),
        ),
        put(
            format!("{}/config/slotConfigNames", ids.site),
            "2024-11-01",
            json!({"properties": {"appSettingNames": ["WEBSITE_PULL_IMAGE_OVER_VNET"]}}),
        ),
        op(
            "PATCH",
            ids.site.clone(),
            "2024-11-01",
            Some(json!({"properties": {"outboundVnetRouting": {"imagePullTraffic": false, "allTraffic": true}}})),
        ),
        put(
            format!("{}/providers/Microsoft.Web/sites/app2", ids.rg),
            "2022-03-01",
            json!({"location": loc, "identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {ids.uami.clone(): {}}},
                "properties": {"serverFarmId": ids.plan, "vnetImagePullEnabled": true, "vnetRouteAllEnabled": true,
                "dnsConfiguration": {"dnsServers": ["10.1.0.4"]},
                "siteConfig": {"linuxFxVersion": "DOCKER|acrpullsim.azurecr.io/app:v1", "acrUseManagedIdentityCreds": true,
                    "acrUserManagedIdentityID": "11111111-2222-4333-8444-555555555555"}}}),
        ),
        put(
            format!("{}/providers/Microsoft.Web/serverfarms/free", ids.rg),
            "2024-11-01",
            json!({"location": loc, "sku": {"name": "F1"}}),
        ),
        put(
            format!("{}/providers/Microsoft.ContainerRegistry/registries/acrbasic01", ids.rg),
            "2023-07-01",
            json!({"location": loc, "sku": {"name": "Basic"}, "properties": {"publicNetworkAccess": "Disabled"}}),
        ),
        op("PATCH", ids.registry.clone(), "2019-12-01-preview", Some(json!({"properties": {"adminUserEnabled": false}}))),
        put(
            format!("{}/providers/Microsoft.Network/privateEndpoints/pe2", ids.rg),
            "2024-05-01",
            json!({"location": loc, "properties": {"subnet": {"id": ids.subnet_pe},
                "manualPrivateLinkServiceConnections": [{"name": "m", "properties": {
                    "privateLinkServiceId": ids.registry, "groupIds": ["registry"], "requestMessage": "please"}}]}}),
        ),
        put(
            format!("{}/virtualNetworkLinks/l2", ids.zone),
            "2024-06-01",
            json!({"location": "global", "properties": {"virtualNetwork": {"id": ids.vnet2}, "resolutionPolicy": "NxDomainRedirect"}}),
        ),
        put(
            format!("{}/CNAME/alias", ids.zone),
            "2024-06-01",
            json!({"properties": {"ttl": 60, "cnameRecord": {"cname": "acrpullsim.privatelink.azurecr.io"}}}),
        ),
        put(format!("{}/TXT/note", ids.zone), "2024-06-01", json!({"properties": {"txtRecords": [{"value": ["hi"]}]}})),
        put(
            format!("{}/providers/Microsoft.Authorization/roleAssignments/5e2c7a10-3b4d-4e5f-8a6b-7c8d9e0f1a2b", ids.rg),
            "2022-04-01",
            json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
                "principalId": principal}}),
        ),
        put(
            format!("{}/privateEndpointConnections/conn", ids.registry),
            "2023-07-01",
            json!({"properties": {"privateLinkServiceConnectionState": {"status": "Rejected", "description": "no"}}}),
        ),
        // Actions.
        op("POST", format!("{}/listCredentials", ids.registry), "2023-07-01", None),
        op("POST", format!("{}/regenerateCredential", ids.registry), "2023-07-01", Some(json!({"name": "password2"}))),
        op("POST", format!("{}/listUsages", ids.registry), "2023-07-01", None),
        op("POST", format!("{}/config/appsettings/list", ids.site), "2024-11-01", None),
        op("POST", format!("{}/restart", ids.site), "2024-11-01", None),
        op("POST", format!("{}/publishxml", ids.site), "2024-11-01", Some(json!({"format": "WebDeploy"}))),
        op("POST", format!("{}/containerlogs", ids.site), "2024-11-01", None),
        op(
            "POST",
            format!("{sub}/providers/Microsoft.Web/checknameavailability"),
            "2024-11-01",
            Some(json!({"name": "app", "type": "Microsoft.Web/sites"})),
        ),
        op(
            "POST",
            format!("{sub}/providers/Microsoft.ContainerRegistry/checkNameAvailability"),
            "2023-07-01",
            Some(json!({"name": "acrpullsim", "type": "Microsoft.ContainerRegistry/registries"})),
        ),
        // Deletes (several are refused by a rule).
        op("DELETE", ids.zone.clone(), "2024-06-01", None),
        op("DELETE", ids.link.clone(), "2024-06-01", None),
        op("DELETE", ids.subnet_pe.clone(), "2024-05-01", None),
        op("DELETE", ids.subnet_int.clone(), "2024-05-01", None),
        op("DELETE", ids.vnet.clone(), "2024-05-01", None),
        op("DELETE", ids.plan.clone(), "2024-11-01", None),
        op("DELETE", ids.pe.clone(), "2024-05-01", None),
        op("DELETE", format!("{}/privateDnsZoneGroups/g", ids.pe), "2024-05-01", None),
        op("DELETE", format!("{}/config/web", ids.site), "2024-11-01", None),
        op("DELETE", format!("{}/SOA/@", ids.zone), "2024-06-01", None),
        op("DELETE", ids.site.clone(), "2024-11-01", None),
        op("DELETE", ids.registry.clone(), "2023-07-01", None),
        op("DELETE", ids.rg.clone(), "2024-11-01", None),
        // Reads.
        op("GET", "/subscriptions".into(), "2022-12-01", None),
        op("GET", "/tenants".into(), "2022-12-01", None),
        op("GET", sub.clone(), "2022-12-01", None),
        op("GET", format!("{sub}/resourcegroups"), "2024-11-01", None),
        op("GET", format!("{sub}/locations"), "2022-12-01", None),
        op("GET", format!("{sub}/resources"), "2024-11-01", None),
        op("GET", format!("{}/resources", ids.rg), "2024-11-01", None),
        op("GET", format!("{sub}/providers"), "2024-11-01", None),
        op("GET", format!("{sub}/providers/Microsoft.Web"), "2024-11-01", None),
        op("GET", format!("{sub}/providers/Microsoft.Web/sites"), "2024-11-01", None),
        op("GET", format!("{sub}/providers/Microsoft.Authorization/roleAssignments"), "2022-04-01", None),
        op(
            "GET",
            format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"),
            "2022-04-01",
            None,
        ),
        op("GET", format!("{}/providers/Microsoft.Network/virtualNetworks", ids.rg), "2024-05-01", None),
        op("GET", format!("{}/providers/Microsoft.Authorization/roleAssignments", ids.registry), "2022-04-01", None),
        op("GET", format!("{}/providers/Microsoft.Authorization/roleDefinitions", ids.registry), "2022-04-01", None),
        op("GET", format!("{}/ALL", ids.zone), "2024-06-01", None),
        op("GET", format!("{}/virtualNetworkLinks", ids.zone), "2024-06-01", None),
        op("GET", format!("{}/subnets", ids.vnet), "2024-05-01", None),
        op("GET", format!("{}/config", ids.site), "2024-11-01", None),
        op("GET", format!("{}/privateEndpointConnections", ids.registry), "2023-07-01", None),
        op("GET", ids.site.clone(), "2021-02-01", None),
        op("GET", ids.registry.clone(), "2019-05-01", None),
        op("GET", ids.pe.clone(), "2024-05-01", None),
        op("HEAD", ids.rg.clone(), "2024-11-01", None),
        op("GET", "/metadata/endpoints".into(), "2022-09-01", None),
        op("GET", format!("/{TENANT}/v2.0/.well-known/openid-configuration"), "", None),
        op("GET", "/common/discovery/v2.0/keys".into(), "", None),
        Target {
            method: "POST",
            path: format!("/{TENANT}/oauth2/v2.0/token"),
            api: "",
            body: Body::Raw(
                "grant_type=client_credentials&client_id=11111111-0000-4000-8000-00000000a11c&client_secret=pullsim-secret&scope=https%3A%2F%2Fmanagement.azure.com%2F.default".into(),
            ),
        },
    ]);
    t
}

/// Words ARM paths are made of, for random and replaced segments.
const VOCABULARY: &[&str] = &[
    "subscriptions",
    SUB,
    "00000000-0000-0000-0000-000000000000",
    "resourceGroups",
    "resourcegroups",
    "rg",
    "RG",
    "providers",
    "Microsoft.Web",
    "Microsoft.Network",
    "microsoft.network",
    "Microsoft.ContainerRegistry",
    "Microsoft.Authorization",
    "Microsoft.ManagedIdentity",
    "Microsoft.Resources",
    "Microsoft.Storage",
    "sites",
    "app",
    "app2",
    "config",
    "web",
    "appsettings",
    "list",
    "serverfarms",
    "plan",
    "virtualNetworks",
    "vnet",
    "vnet2",
    "subnets",
    "pe",
    "int",
    "virtualNetworkPeerings",
    "privateDnsZones",
    "privatelink.azurecr.io",
    "virtualNetworkLinks",
    "l",
    "A",
    "CNAME",
    "SOA",
    "@",
    "ALL",
    "privateEndpoints",
    "privateDnsZoneGroups",
    "g",
    "networkInterfaces",
    "registries",
    "acrpullsim",
    "listCredentials",
    "privateEndpointConnections",
    "roleAssignments",
    "roleDefinitions",
    ACR_PULL,
    "userAssignedIdentities",
    "uami",
    "locations",
    "resources",
    "tenants",
    "metadata",
    "endpoints",
    TENANT,
    "common",
    "oauth2",
    "v2.0",
    "token",
    ".well-known",
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(VOCABULARY).prop_map(String::from),
        3 => "[A-Za-z0-9._~-]{1,16}",
        1 => "\\PC{1,8}",
        1 => "(%[0-9A-Fa-f]{2}){1,4}",
        1 => "%[0-9A-Za-z%]{0,3}",
        1 => select(&["..", ".", "%2e%2e", "%2F", "%00", "~", "*", "'", "\"", "{}", "\\"][..]).prop_map(String::from),
        1 => (200usize..6000).prop_map(|n| "x".repeat(n)),
        1 => (1usize..200).prop_map(|n| "é🦀".repeat(n)),
    ]
}

#[derive(Debug, Clone)]
enum PathMut {
    Replace(usize, String),
    Insert(usize, String),
    Remove(usize),
    DoubleSlash(usize),
    Truncate(usize),
    TrailingSlash,
    Encode(usize),
    Upper,
    Lower,
}

fn path_mut() -> impl Strategy<Value = PathMut> {
    prop_oneof![
        6 => (any::<usize>(), segment()).prop_map(|(i, s)| PathMut::Replace(i, s)),
        3 => (any::<usize>(), segment()).prop_map(|(i, s)| PathMut::Insert(i, s)),
        2 => any::<usize>().prop_map(PathMut::Remove),
        2 => any::<usize>().prop_map(PathMut::DoubleSlash),
        2 => any::<usize>().prop_map(PathMut::Truncate),
        1 => Just(PathMut::TrailingSlash),
        1 => any::<usize>().prop_map(PathMut::Encode),
        1 => Just(PathMut::Upper),
        1 => Just(PathMut::Lower),
    ]
}

#[derive(Debug, Clone)]
enum PathGen {
    Target(Vec<PathMut>),
    Random(Vec<String>),
}

fn path_gen() -> impl Strategy<Value = PathGen> {
    prop_oneof![
        8 => Just(PathGen::Target(Vec::new())),
        6 => vec(path_mut(), 1..4).prop_map(PathGen::Target),
        1 => vec(segment(), 0..12).prop_map(PathGen::Random),
    ]
}

fn percent_encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn apply_path(path: &str, muts: &[PathMut]) -> String {
    let mut segs: Vec<String> = path.split('/').skip(1).map(String::from).collect();
    let mut case = None;
    for m in muts {
        let n = segs.len();
        match m {
            PathMut::Replace(i, s) if n > 0 => segs[i % n] = s.clone(),
            PathMut::Insert(i, s) => segs.insert(i % (n + 1), s.clone()),
            PathMut::Remove(i) if n > 0 => {
                segs.remove(i % n);
            }
            PathMut::DoubleSlash(i) => segs.insert(i % (n + 1), String::new()),
            PathMut::Truncate(i) => segs.truncate(i % (n + 1)),
            PathMut::TrailingSlash => segs.push(String::new()),
            PathMut::Encode(i) if n > 0 => segs[i % n] = percent_encode_all(&segs[i % n]),
            PathMut::Upper => case = Some(true),
            PathMut::Lower => case = Some(false),
            _ => {}
        }
    }
    let p = format!("/{}", segs.join("/"));
    match case {
        Some(true) => p.to_uppercase(),
        Some(false) => p.to_lowercase(),
        None => p,
    }
}

const VALID_VERSIONS: &[&str] = &[
    "2024-11-01",
    "2024-05-01",
    "2024-06-01",
    "2023-07-01",
    "2022-04-01",
    "2022-03-01",
    "2024-04-01",
    "2021-09-01",
    "2020-12-01",
    "2020-06-01",
    "2019-08-01",
    "2019-12-01-preview",
    "2018-09-01",
    "2016-08-01",
    "2014-04-01",
    "2026-09-01-preview",
    "2099-12-31",
];

const INVALID_VERSIONS: &[&str] = &[
    "latest",
    "2021-13-01",
    "2021-00-10",
    "2021-01-32",
    "2013-12-31",
    "2021-1-01",
    "21-01-01",
    "2021-01-01preview",
    "2021-01-01-",
    "2021-01-01-pré",
    "",
    " 2021-01-01",
    "2021/01/01",
    "２０２１-01-01",
];

#[derive(Debug, Clone)]
enum ApiGen {
    Missing,
    Natural,
    Other(String),
}

#[derive(Debug, Clone)]
struct QueryGen {
    api: ApiGen,
    key: &'static str,
    encode: bool,
    api_last: bool,
    filter: Option<String>,
    extra: Vec<(String, String)>,
}

const FILTERS: &[&str] = &[
    "resourceType eq 'Microsoft.Network/privateDnsZones/virtualNetworkLinks'",
    "resourceGroup eq 'rg' and name eq 'app'",
    "resourceGroup eq 'RG' AND resourceType eq 'Microsoft.Web/sites'",
    "location eq 'westeurope'",
    "name eq 'privatelink.azurecr.io/l'",
    "principalId eq '11111111-2222-4333-8444-555555555555'",
    "atScope()",
    "roleName eq 'AcrPull'",
    "tagName eq 'env'",
    "name eq 'x' or name eq 'y'",
    "name eq 'unterminated",
    "eq",
    "",
    "  ",
    "name  eq  ''",
];

fn query_gen() -> impl Strategy<Value = QueryGen> {
    let api = prop_oneof![
        16 => Just(ApiGen::Natural),
        5 => select(VALID_VERSIONS).prop_map(|v| ApiGen::Other(v.into())),
        2 => select(INVALID_VERSIONS).prop_map(|v| ApiGen::Other(v.into())),
        1 => "\\PC{0,14}".prop_map(ApiGen::Other),
        1 => Just(ApiGen::Missing),
    ];
    let filter =
        prop::option::weighted(0.15, prop_oneof![3 => select(FILTERS).prop_map(String::from), 1 => "\\PC{0,30}"]);
    let extra = prop_oneof![
        6 => Just(Vec::new()),
        1 => vec(("[a-z$%=-]{0,8}", "[^&#]{0,10}"), 1..3),
    ];
    (api, select(&["api-version", "API-VERSION", "Api-Version"][..]), any::<bool>(), any::<bool>(), filter, extra)
        .prop_map(|(api, key, encode, api_last, filter, extra)| QueryGen {
            api,
            key,
            encode: encode && key == "api-version",
            api_last,
            filter,
            extra,
        })
}

impl QueryGen {
    fn build(&self, natural: &str) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (k, v) in &self.extra {
            parts.push(format!("{k}={v}"));
        }
        if let Some(f) = &self.filter {
            parts.push(format!("$filter={}", percent_encode(f)));
        }
        let version = match &self.api {
            ApiGen::Missing => None,
            ApiGen::Natural if natural.is_empty() => None,
            ApiGen::Natural => Some(natural.to_string()),
            ApiGen::Other(v) => Some(v.clone()),
        };
        if let Some(v) = version {
            let v = if self.encode { percent_encode_all(&v) } else { percent_encode(&v) };
            let piece = format!("{}={v}", self.key);
            if self.api_last { parts.push(piece) } else { parts.insert(0, piece) }
        }
        parts.join("&")
    }
}

/// Property names, for keys added to bodies.
const KEYS: &[&str] = &[
    "location",
    "properties",
    "sku",
    "name",
    "tags",
    "kind",
    "identity",
    "type",
    "id",
    "addressSpace",
    "addressPrefixes",
    "addressPrefix",
    "subnets",
    "delegations",
    "serviceName",
    "dhcpOptions",
    "dnsServers",
    "publicNetworkAccess",
    "networkRuleSet",
    "defaultAction",
    "ipRules",
    "value",
    "adminUserEnabled",
    "dataEndpointEnabled",
    "serverFarmId",
    "siteConfig",
    "linuxFxVersion",
    "vnetRouteAllEnabled",
    "vnetImagePullEnabled",
    "outboundVnetRouting",
    "virtualNetworkSubnetId",
    "appSettings",
    "subnet",
    "privateLinkServiceConnections",
    "manualPrivateLinkServiceConnections",
    "privateLinkServiceId",
    "groupIds",
    "privateDnsZoneConfigs",
    "privateDnsZoneId",
    "virtualNetwork",
    "registrationEnabled",
    "resolutionPolicy",
    "ttl",
    "aRecords",
    "ipv4Address",
    "cnameRecord",
    "roleDefinitionId",
    "principalId",
    "userAssignedIdentities",
    "_pullsim",
    "",
];

/// String values with meaning somewhere in the model.
fn interesting_strings() -> Vec<String> {
    let ids = Ids::new();
    let mut v: Vec<String> = [
        "10.0.0.0/33",
        "10.0.0.1/24",
        "300.1.1.1/8",
        "10.0.0.0/8",
        "0.0.0.0/0",
        "10.0.1.0/24",
        "10.0.4.0/30",
        "10.0.1.128/25",
        "::1/128",
        "10.0.0.4",
        "Disabled",
        "Enabled",
        "Premium",
        "Basic",
        "Standard",
        "Deny",
        "Allow",
        "true",
        "false",
        "True",
        "",
        "westeurope",
        "West Europe",
        "global",
        "nowhere",
        "F1",
        "Y1",
        "P1v3",
        "SystemAssigned",
        "UserAssigned",
        "SystemAssigned, UserAssigned",
        "None",
        "registry",
        "DOCKER|",
        "DOCKER|acrpullsim.azurecr.io/app:v1",
        "NODE|20-lts",
        "Microsoft.Web/serverFarms",
        "Microsoft.Nope/x",
        "NxDomainRedirect",
        "/subscriptions/x",
        "/subscriptions",
        "not/an/id",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend([
        ids.rg.clone(),
        ids.vnet.clone(),
        ids.vnet2.clone(),
        ids.subnet_pe.clone(),
        ids.subnet_int.clone(),
        ids.plan.clone(),
        ids.site.clone(),
        ids.registry.clone(),
        ids.pe.clone(),
        ids.zone.clone(),
        ids.link.clone(),
        ids.uami.clone(),
        format!("{}/subnets/missing", ids.vnet),
        format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"),
    ]);
    v
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        2 => "\\PC{0,16}".prop_map(Value::String),
        4 => select(interesting_strings()).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((select(KEYS).prop_map(String::from), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

#[derive(Debug, Clone)]
enum JsonMut {
    Set(usize, Value),
    Remove(usize),
    Add(usize, String, Value),
}

fn json_mut() -> impl Strategy<Value = JsonMut> {
    prop_oneof![
        3 => (any::<usize>(), json_value()).prop_map(|(i, v)| JsonMut::Set(i, v)),
        2 => any::<usize>().prop_map(JsonMut::Remove),
        2 => (any::<usize>(), prop_oneof![select(KEYS).prop_map(String::from), "\\PC{0,8}"], json_value())
            .prop_map(|(i, k, v)| JsonMut::Add(i, k, v)),
    ]
}

/// JSON pointers of every node of `v`, root first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointers(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply_json(v: &mut Value, muts: &[JsonMut]) {
    for m in muts {
        let mut ptrs = Vec::new();
        pointers(v, String::new(), &mut ptrs);
        let pick = |i: &usize| ptrs[i % ptrs.len()].clone();
        match m {
            JsonMut::Set(i, x) => {
                if let Some(node) = v.pointer_mut(&pick(i)) {
                    *node = x.clone();
                }
            }
            JsonMut::Remove(i) => {
                let p = pick(i);
                let Some((parent, last)) = p.rsplit_once('/') else { continue };
                let key = last.replace("~1", "/").replace("~0", "~");
                match v.pointer_mut(parent) {
                    Some(Value::Object(o)) => {
                        o.remove(&key);
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < a.len()
                        {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
            JsonMut::Add(i, k, x) => match v.pointer_mut(&pick(i)) {
                Some(Value::Object(o)) => {
                    o.insert(k.clone(), x.clone());
                }
                Some(Value::Array(a)) => a.push(x.clone()),
                _ => {}
            },
        }
    }
}

#[derive(Debug, Clone)]
enum BodyGen {
    /// The target's own body, mutated.
    Natural(Vec<JsonMut>),
    /// Another target's body, mutated.
    Other(usize, Vec<JsonMut>),
    Json(Value),
    Bytes(Vec<u8>),
    /// The target's body cut short.
    Truncated(usize),
    Empty,
}

fn body_gen() -> impl Strategy<Value = BodyGen> {
    prop_oneof![
        10 => Just(BodyGen::Natural(Vec::new())),
        8 => vec(json_mut(), 1..4).prop_map(BodyGen::Natural),
        2 => (any::<usize>(), vec(json_mut(), 0..3)).prop_map(|(i, m)| BodyGen::Other(i, m)),
        2 => json_value().prop_map(BodyGen::Json),
        1 => vec(any::<u8>(), 0..64).prop_map(BodyGen::Bytes),
        1 => any::<usize>().prop_map(BodyGen::Truncated),
        1 => Just(BodyGen::Empty),
    ]
}

fn body_value(b: &Body) -> Value {
    match b {
        Body::None => json!({}),
        Body::Json(v) => v.clone(),
        Body::Raw(s) => Value::String(s.clone()),
    }
}

fn body_bytes(v: &Value) -> Vec<u8> {
    match v {
        // A raw (form) body travels as is.
        Value::String(s) => s.clone().into_bytes(),
        v => v.to_string().into_bytes(),
    }
}

#[derive(Debug, Clone)]
enum MethodGen {
    Natural,
    Fixed(&'static str),
    Random(String),
}

fn method_gen() -> impl Strategy<Value = MethodGen> {
    prop_oneof![
        14 => Just(MethodGen::Natural),
        6 => select(&["GET", "PUT", "PATCH", "DELETE", "POST", "HEAD", "OPTIONS"][..]).prop_map(MethodGen::Fixed),
        1 => "[A-Za-z-]{0,10}|\\PC{1,6}".prop_map(MethodGen::Random),
    ]
}

/// What the generator chose, before it becomes a request.
#[derive(Debug, Clone)]
struct CaseGen {
    target: usize,
    method: MethodGen,
    path: PathGen,
    query: QueryGen,
    auth: Auth,
    headers: Vec<(String, String)>,
    body: BodyGen,
}

fn case_gen(n_targets: usize) -> impl Strategy<Value = CaseGen> {
    let headers = prop_oneof![
        4 => Just(Vec::new()),
        1 => vec(
            prop_oneof![
                ("x-ms-correlation-request-id", "\\PC{0,24}").prop_map(|(k, v)| (k.to_string(), v)),
                select(&["application/json", "text/plain", "application/x-www-form-urlencoded", ""][..])
                    .prop_map(|v| ("content-type".to_string(), v.to_string())),
                ("[a-z-]{1,10}", "\\PC{0,10}"),
            ],
            1..3
        ),
    ];
    (0..n_targets, method_gen(), path_gen(), query_gen(), auth_strategy(), headers, body_gen()).prop_map(
        |(target, method, path, query, auth, headers, body)| CaseGen {
            target,
            method,
            path,
            query,
            auth,
            headers,
            body,
        },
    )
}

/// One generated request, ready for `handle`, with the generator's choices for the report.
struct Case {
    spec: CaseGen,
    req: ArmRequest,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.req;
        writeln!(f, "{} {}?{}", r.method, text(r.path.as_bytes()), text(r.query.as_bytes()))?;
        writeln!(f, "auth: {:?}", self.spec.auth)?;
        let others: Vec<_> = r.headers.iter().filter(|(k, _)| k != "authorization").collect();
        writeln!(f, "headers: {others:?}")?;
        writeln!(f, "body: {}", text(&r.body))?;
        write!(f, "generated from: {:?}", self.spec)
    }
}

fn build_case(spec: CaseGen, targets: &[Target], tokens: &Tokens) -> Case {
    let t = &targets[spec.target];
    let method = match &spec.method {
        MethodGen::Natural => t.method.to_string(),
        MethodGen::Fixed(m) => m.to_string(),
        MethodGen::Random(m) => m.clone(),
    };
    let path = match &spec.path {
        PathGen::Target(muts) => apply_path(&t.path, muts),
        PathGen::Random(segs) => format!("/{}", segs.join("/")),
    };
    let body = match &spec.body {
        BodyGen::Natural(muts) => {
            let mut v = body_value(&t.body);
            if muts.is_empty() && matches!(t.body, Body::None) {
                Vec::new()
            } else {
                apply_json(&mut v, muts);
                body_bytes(&v)
            }
        }
        BodyGen::Other(i, muts) => {
            let mut v = body_value(&targets[i % targets.len()].body);
            apply_json(&mut v, muts);
            body_bytes(&v)
        }
        BodyGen::Json(v) => v.to_string().into_bytes(),
        BodyGen::Bytes(b) => b.clone(),
        BodyGen::Truncated(i) => {
            let full = body_bytes(&body_value(&t.body));
            full[..i % (full.len() + 1)].to_vec()
        }
        BodyGen::Empty => Vec::new(),
    };
    let mut headers = Vec::new();
    if let Some(h) = spec.auth.header(tokens) {
        headers.push(("authorization".to_string(), h));
    }
    headers.extend(spec.headers.iter().cloned());
    let req = ArmRequest { method, path, query: spec.query.build(t.api), headers, body: Bytes::from(body) };
    Case { spec, req }
}

/// The ARM the property test runs against: one instance whose state accumulates across
/// cases, re-created (and re-seeded) when random deletes have taken the topology apart.
struct World {
    signer: Arc<TokenSigner>,
    tokens: Tokens,
    ids: Ids,
    arm: RefCell<Arc<Arm>>,
    since_reset: Cell<usize>,
    resets: Cell<usize>,
}

/// Re-create the world at least this often, so the store stays small and fast.
const RESET_EVERY: usize = 2500;

impl World {
    fn new() -> (World, String) {
        let signer = Arc::new(TokenSigner::generate().unwrap());
        let tokens = Tokens::new(&signer);
        let ids = Ids::new();
        let arm = Arc::new(Arm::new(Store::in_memory(), signer.clone(), ArmConfig::new("https://127.0.0.1:1")));
        let principal = seed(&arm, &tokens.valid, &ids);
        let w = World { signer, tokens, ids, arm: RefCell::new(arm), since_reset: Cell::new(0), resets: Cell::new(0) };
        (w, principal)
    }

    fn arm(&self) -> Arc<Arm> {
        let n = self.since_reset.get() + 1;
        self.since_reset.set(n);
        let arm = self.arm.borrow().clone();
        let ids = &self.ids;
        let intact =
            [&ids.rg, &ids.vnet, &ids.subnet_pe, &ids.subnet_int, &ids.site, &ids.registry, &ids.pe, &ids.zone]
                .iter()
                .all(|id| arm.store.get_key(&id.to_ascii_lowercase()).is_some());
        if intact && n < RESET_EVERY {
            return arm;
        }
        let fresh = Arc::new(Arm::new(Store::in_memory(), self.signer.clone(), ArmConfig::new("https://127.0.0.1:1")));
        seed(&fresh, &self.tokens.valid, ids);
        *self.arm.borrow_mut() = fresh.clone();
        self.since_reset.set(0);
        self.resets.set(self.resets.get() + 1);
        fresh
    }
}

/// Creates the topology through ARM requests (each must succeed); returns the managed
/// identity's principal.
fn seed(arm: &Arm, token: &str, ids: &Ids) -> String {
    let send = |t: &Target| {
        let mut req = ArmRequest::new(t.method, &format!("{}?api-version={}", t.path, t.api))
            .header("authorization", &format!("Bearer {token}"));
        if let Body::Json(b) = &t.body {
            req = req.json(b);
        }
        let r = arm.handle(&req);
        assert!(matches!(r.status, 200 | 201), "seeding {} {}: {} {}", t.method, t.path, r.status, text(&r.body));
        r.json_body()
    };
    let mut principal = String::new();
    for t in topology(ids) {
        let v = send(&t);
        if t.path == ids.uami {
            principal = v["properties"]["principalId"].as_str().unwrap().to_string();
        }
    }
    send(&role_assignment(ids, &principal));
    principal
}

fn first_segment(path: &str) -> String {
    path.split('/').find(|s| !s.is_empty()).unwrap_or_default().to_ascii_lowercase()
}

/// Everything a response to any request must satisfy.
fn check(case: &Case, resp: &ArmResponse, seq_before: u64, seq_after: u64) -> Result<(), TestCaseError> {
    let req = &case.req;
    let status = resp.status;
    let shown = text(&resp.body);
    prop_assert!((200..500).contains(&status), "status {} (body {})", status, shown);
    prop_assert!(header(resp, "x-ms-request-id").is_some_and(|v| !v.is_empty()), "no x-ms-request-id");
    let json: Option<Value> = serde_json::from_slice(&resp.body).ok();
    if header(resp, "content-type").is_some_and(|c| c.starts_with("application/json")) {
        prop_assert!(json.is_some(), "JSON content type, body is not JSON: {}", shown);
    }
    let first = first_segment(&req.path);
    let arm_api = matches!(first.as_str(), "subscriptions" | "tenants" | "providers");
    // Paths that start with a tenant are the Entra ID endpoints, with Entra's error shape.
    let entra = !arm_api && first != "metadata" && !first.is_empty();
    let code = json.as_ref().and_then(|j| j["error"]["code"].as_str()).unwrap_or_default().to_string();
    if status >= 400 {
        let Some(j) = &json else {
            return Err(TestCaseError::fail(format!("{status} without a JSON body: {shown}")));
        };
        if entra {
            prop_assert!(
                j["error"].is_string() && j["error_description"].as_str().is_some_and(|d| d.starts_with("AADSTS")),
                "Entra error without error/error_description: {}",
                shown
            );
        } else {
            prop_assert!(
                !code.is_empty() && j["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{} without error.code and error.message: {}",
                status,
                shown
            );
        }
        prop_assert_eq!(seq_before, seq_after, "a {} answer changed the store: {}", status, shown);
    }
    if status == 401 && !entra {
        prop_assert!(
            header(resp, "www-authenticate").is_some_and(|c| c.starts_with("Bearer ")),
            "401 without a Bearer challenge"
        );
    }
    let method = req.method.as_str();
    if matches!(method, "GET" | "HEAD") {
        prop_assert_eq!(seq_before, seq_after, "a {} changed the store", method);
    }
    if !["GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"].contains(&method) {
        prop_assert!(status >= 400, "method {:?} got {}", method, status);
    }
    // A role assignment's DELETE answers the deleted assignment, as Azure's does.
    let assignment = req.path.to_ascii_lowercase().contains("/providers/microsoft.authorization/roleassignments/");
    if status < 300 && (method == "HEAD" || (method == "DELETE" && arm_api && !assignment)) {
        prop_assert!(resp.body.is_empty(), "{} {} with a body: {}", method, status, shown);
    }
    if status < 300 && arm_api && matches!(method, "PUT" | "PATCH") {
        let j = json.clone().unwrap_or_default();
        prop_assert!(
            j["id"].is_string() && j["name"].is_string() && j["type"].is_string(),
            "{} {} without id/name/type: {}",
            method,
            status,
            shown
        );
        prop_assert!(j.get("_pullsim").is_none(), "private fields leaked: {}", shown);
    }
    if arm_api {
        // Authentication comes first, then the api-version.
        match case.spec.auth.expected_code() {
            Some(expected) => {
                prop_assert_eq!((status, code.as_str()), (401, expected), "body {}", shown);
            }
            None => match req.query_param("api-version") {
                None => {
                    prop_assert_eq!((status, code.as_str()), (400, "MissingApiVersionParameter"));
                }
                Some(v) if ApiVersion::parse(&v).is_err() => {
                    prop_assert_eq!((status, code.as_str()), (400, "InvalidApiVersionParameter"), "version {:?}", v);
                }
                Some(_) => {}
            },
        }
    }
    Ok(())
}

#[test]
fn random_requests_never_panic_answer_5xx_or_break_the_error_envelope() {
    const CASES: u32 = 10_000;
    let (world, principal) = World::new();
    let targets = targets(&world.ids, &principal);
    let config = ProptestConfig {
        cases: CASES,
        // Regressions would be written next to this file; the shrunk case is printed instead.
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    };
    let ran = Cell::new(0u32);
    let statuses = RefCell::new(BTreeMap::<u16, u32>::new());
    let deep_writes = Cell::new(0u32);
    let start = Instant::now();
    let result = TestRunner::new(config).run(&case_gen(targets.len()), |spec| {
        ran.set(ran.get() + 1);
        let case = build_case(spec, &targets, &world.tokens);
        let arm = world.arm();
        let before = arm.store.seq();
        let resp = arm.handle(&case.req);
        let after = arm.store.seq();
        *statuses.borrow_mut().entry(resp.status).or_default() += 1;
        if after > before && case.req.method != "POST" {
            deep_writes.set(deep_writes.get() + 1);
        }
        check(&case, &resp, before, after).map_err(|e| TestCaseError::fail(format!("{e}\nrequest: {case:?}")))
    });
    let elapsed = start.elapsed();
    if let Err(e) = result {
        panic!("{e}");
    }
    let statuses = statuses.into_inner();
    eprintln!(
        "{} cases in {:.2?} ({} world resets, {} committed writes); statuses: {statuses:?}",
        ran.get(),
        elapsed,
        world.resets.get(),
        deep_writes.get()
    );
    assert!(ran.get() >= CASES, "only {} cases ran", ran.get());
    // The generator must reach past authentication and validation, or the property says
    // little: a good share of answers are successes and many of them commit writes.
    let ok: u32 = statuses.iter().filter(|(s, _)| (200..300).contains(*s)).map(|(_, n)| n).sum();
    assert!(ok >= CASES / 5, "only {ok} of {CASES} requests succeeded: {statuses:?}");
    assert!(deep_writes.get() >= CASES / 20, "only {} requests committed a write", deep_writes.get());
}
