//! Serving [`Arm`] over HTTPS on a listener the caller bound, under the listener limits
//! of [`crate::listen`] (connection cap, handshake and header timeouts, back-off when
//! descriptors run out).

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::error::ArmError;
use super::http::{ArmRequest, ArmResponse};
use super::service::{Arm, MAX_BODY};
use crate::listen::{Acceptor, Limits};

/// Serves ARM on `listener` with TLS and the default [`Limits`] until `shutdown`
/// completes; open connections are closed when it returns.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    arm: Arc<Arm>,
    shutdown: impl Future<Output = ()>,
) {
    serve_with(listener, tls, arm, Limits::default(), shutdown).await
}

/// [`serve`] under these limits.
pub async fn serve_with(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    arm: Arc<Arm>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let listener = Acceptor::new(listener, &limits, "ARM");
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer, slot) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let acceptor = acceptor.clone();
        let arm = arm.clone();
        conns.spawn(async move {
            let _slot = slot;
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let svc = service_fn(move |req| {
                let arm = arm.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&arm, req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), svc)
                .await
            {
                tracing::debug!(%peer, error = %e, "ARM connection ended with an error");
            }
        });
    }
    conns.shutdown().await;
}

async fn answer(arm: &Arm, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let resp: ArmResponse = if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                ArmError::too_large(MAX_BODY).into()
            } else {
                ArmError::invalid_content("the request body could not be read").into()
            };
            return to_hyper(resp);
        }
    };
    let areq = ArmRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body,
    };
    let resp = arm.handle(&areq);
    tracing::debug!(method = %areq.method, path = %areq.path, query = %areq.query, status = resp.status, "ARM");
    to_hyper(resp)
}

fn to_hyper(resp: ArmResponse) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        b = b.header(k, v);
    }
    b.body(Full::new(resp.body)).unwrap_or_else(|_| {
        // Only reachable if a header value held a newline; answer without headers.
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
