//! What every handler of the login server shares: response builders, the error
//! answer, reading small request bodies with a deadline, and listing pages (`n`, `last`).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;

use super::body::Body;
use super::errors::RegistryError;
use super::storage::StorageError;

/// One page of a listing, and the `n` and `last` of the next page if there is one.
pub(super) type Page = (Vec<String>, Option<(usize, String)>);

/// How much of an oversized body is read (and dropped) so the client gets the answer
/// rather than a reset connection.
pub(super) const MAX_DRAIN: u64 = 64 * 1024 * 1024;

/// Largest token-endpoint form.
pub(super) const MAX_FORM: usize = 64 * 1024;

/// A request body chunk that does not arrive within this time ends the request.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn builder(status: u16) -> http::response::Builder {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("docker-distribution-api-version", "registry/2.0")
}

pub(super) fn finish(b: http::response::Builder, body: Body) -> Response<Body> {
    b.body(body).unwrap_or_else(|_| {
        // Only reachable with a header value holding a newline, which no code path builds.
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

pub(super) fn json_response(status: u16, v: &Value) -> Response<Body> {
    finish(builder(status).header("content-type", "application/json; charset=utf-8"), Body::bytes(v.to_string()))
}

/// The HTTP answer for a registry error.
pub fn error_response(e: &RegistryError) -> Response<Body> {
    let mut b = builder(e.status).header("content-type", "application/json; charset=utf-8");
    if let Some(c) = &e.challenge {
        b = b.header("www-authenticate", c);
    }
    finish(b, Body::bytes(e.body().to_string()))
}

pub(super) fn internal(e: &StorageError) -> RegistryError {
    tracing::warn!(error = %e, "ACR storage failed");
    RegistryError::internal(&e.to_string())
}

/// How reading a whole small body ended.
pub(super) enum Read {
    Done(Bytes),
    TooLarge,
    Broken,
}

pub(super) async fn read_limited<B>(body: &mut B, limit: usize) -> Read
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let mut buf = BytesMut::new();
    loop {
        match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.frame()).await {
            Err(_) | Ok(Some(Err(_))) => return Read::Broken,
            Ok(None) => return Read::Done(buf.freeze()),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > limit {
                        drain(body, MAX_DRAIN).await;
                        return Read::TooLarge;
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Reads and drops up to `cap` bytes so the answer reaches the client.
pub(super) async fn drain<B>(body: &mut B, cap: u64)
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let mut seen = 0u64;
    while seen < cap {
        match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.frame()).await {
            Ok(Some(Ok(f))) => seen += f.data_ref().map_or(0, |d| d.len() as u64),
            _ => return,
        }
    }
}

/// Applies `n` and `last` to a sorted listing.
pub(super) fn page(query: &[(String, String)], all: Vec<String>) -> Result<Page, RegistryError> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let n = match get("n") {
        None | Some("") => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| RegistryError::pagination_invalid(v))?),
    };
    let mut items: Vec<String> = match get("last") {
        Some(last) if !last.is_empty() => all.into_iter().filter(|t| t.as_str() > last).collect(),
        _ => all,
    };
    match n {
        Some(n) if items.len() > n => {
            items.truncate(n);
            let next = items.last().cloned().map(|l| (n, l));
            Ok((items, next))
        }
        _ => Ok((items, None)),
    }
}
