//! The bare peer: hyper + rustls with the same TLS settings as pullsim (a certificate
//! from pullsim's CA, ECDSA P-256, the ring provider, HTTP/1.1 kept alive, TCP_NODELAY),
//! answering `hello world` — or, when given content, the bytes of a path from memory
//! (the registry ceiling of bench/README.md).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use mock_azure::tls::Ca;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Paths served from memory; every other path answers `hello world`.
pub type Content = Arc<HashMap<String, Bytes>>;

/// Serves on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, content: Content) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let acceptor = acceptor.clone();
        let content = content.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                let body = content.get(req.uri().path()).cloned();
                async move {
                    let resp = match body {
                        Some(b) => {
                            Response::builder().header("content-type", "application/octet-stream").body(Full::new(b))
                        }
                        None => Response::builder()
                            .header("content-type", "text/plain")
                            .body(Full::new(Bytes::from_static(b"hello world"))),
                    };
                    Ok::<_, std::convert::Infallible>(resp.unwrap_or_default())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}

/// `pullsim-bench hello-server`: the bare peer as a process of its own, as `pullsim
/// serve` is. With `--ca-dir` it uses (or, like `serve`, creates) the CA kept there.
#[derive(Debug, clap::Args)]
pub struct HelloArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Directory of the CA (`ca.pem`, `ca-key.pem`), created if empty.
    #[arg(long)]
    pub ca_dir: PathBuf,
    /// Written (atomically) with `{"url": ...}` once listening.
    #[arg(long)]
    pub ready_file: PathBuf,
}

/// Runs the hello server until SIGTERM/SIGINT.
pub fn main(args: HelloArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let ca = Ca::load_or_generate(&args.ca_dir).context("the CA")?;
        let listener = TcpListener::bind(args.bind).await?;
        let addr = listener.local_addr()?;
        let tls = ca.server_config(&["localhost"], &[addr.ip()])?;
        let ready = serde_json::json!({"url": format!("https://{addr}/"), "pid": std::process::id()});
        mock_azure::tls::write_atomic(&args.ready_file, ready.to_string().as_bytes())?;
        let server = tokio::spawn(serve(listener, tls, Arc::new(HashMap::new())));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        server.abort();
        let _ = std::fs::remove_file(&args.ready_file);
        Ok(())
    })
}
