//! A small HTTPS client for pullsim's own components (the worker reading ARM and
//! pulling from the ACR): one kept-alive HTTP/1.1 connection over TLS, opened from a
//! chosen source address, every step under a timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

/// Connect, handshake and each request must finish within this.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// TCP connect failed (refused, unreachable).
    #[error("connect {to} from {from:?}: {err}")]
    Connect {
        /// Destination.
        to: SocketAddr,
        /// Source address bound, if any.
        from: Option<IpAddr>,
        /// The error.
        err: std::io::Error,
    },
    /// TLS handshake failed (wrong certificate, name).
    #[error("TLS with {name} at {to}: {err}")]
    Tls {
        /// Server name sent as SNI.
        name: String,
        /// Destination.
        to: SocketAddr,
        /// The error.
        err: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("HTTP {what}: {source}")]
    Http {
        /// What was being done.
        what: String,
        /// The error (hyper's, or the request builder's).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A step took longer than [`TIMEOUT`].
    #[error("timed out: {0}")]
    Timeout(String),
}

/// An open connection to one host.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

/// A response with its body read.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

impl Resp {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` if not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl Conn {
    /// Opens a TLS connection to `to` presenting `server_name`, from `from` if given.
    pub async fn open(
        from: Option<IpAddr>,
        to: SocketAddr,
        server_name: &str,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Conn, HttpError> {
        let connect = async {
            let sock = if to.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }?;
            if let Some(ip) = from {
                sock.bind(SocketAddr::new(ip, 0))?;
            }
            let s = sock.connect(to).await?;
            let _ = s.set_nodelay(true);
            Ok::<_, std::io::Error>(s)
        };
        let tcp = tokio::time::timeout(TIMEOUT, connect)
            .await
            .map_err(|_| HttpError::Timeout(format!("connect {to}")))?
            .map_err(|err| HttpError::Connect { to, from, err })?;
        let name = rustls::pki_types::ServerName::try_from(server_name.to_string()).map_err(|e| HttpError::Tls {
            name: server_name.into(),
            to,
            err: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        })?;
        let tls = tokio::time::timeout(TIMEOUT, tokio_rustls::TlsConnector::from(tls).connect(name, tcp))
            .await
            .map_err(|_| HttpError::Timeout(format!("TLS handshake with {server_name}")))?
            .map_err(|err| HttpError::Tls { name: server_name.into(), to, err })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| HttpError::Http { what: "handshake".into(), source: Box::new(e) })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { sender, host: server_name.to_string() })
    }

    /// Sends a request and reads the whole response.
    pub async fn send(
        &mut self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Resp, HttpError> {
        let what = format!("{method} https://{}{path_and_query}", self.host);
        let mut b = Request::builder().method(method).uri(path_and_query).header("host", &self.host);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(body)).map_err(|e| HttpError::Http { what: what.clone(), source: Box::new(e) })?;
        let exchange = async {
            self.sender.ready().await?;
            let resp = self.sender.send_request(req).await?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Resp { status, headers, body })
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| HttpError::Timeout(what.clone()))?
            .map_err(|e| HttpError::Http { what, source: Box::new(e) })
    }
}
