//! Serving the fake ACR over HTTPS (HTTP/1.1) on listeners the caller binds.
//!
//! One rustls configuration serves every endpoint: its certificate resolver issues (and
//! caches) a certificate from pullsim's CA for each TLS server name that names a
//! registry in the store — `<reg>.azurecr.io` or `<reg>.<region>.data.azurecr.io` — and
//! refuses every other name, including none (clients that connect by address alone).
//! Listeners arrive through a channel, so the environment can add one whenever a private
//! endpoint (and so a new address) appears while the server runs. Each listener is
//! accepted under the limits of [`crate::listen`]; the server also drops upload sessions
//! left idle (see [`UploadLimits`](super::UploadLimits)).

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::Acr;
use crate::listen::{Acceptor, Limits, Slot};

/// A client that accepts no byte of the answer for this long (it stopped reading a
/// blob) loses the connection.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Hands listeners to a running [`serve`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ListenerHandle {
    tx: mpsc::UnboundedSender<TcpListener>,
}

impl ListenerHandle {
    /// Starts accepting on `listener`; gives it back if the server has stopped.
    pub fn add(&self, listener: TcpListener) -> Result<(), TcpListener> {
        self.tx.send(listener).map_err(|e| e.0)
    }
}

/// The receiving side [`serve`] takes.
#[derive(Debug)]
pub struct Listeners {
    rx: mpsc::UnboundedReceiver<TcpListener>,
}

/// A channel of listeners: add with the handle, serve the other end.
pub fn listeners() -> (ListenerHandle, Listeners) {
    let (tx, rx) = mpsc::unbounded_channel();
    (ListenerHandle { tx }, Listeners { rx })
}

/// Serves `acr` on every listener received, with the default [`Limits`], until
/// `shutdown` completes; open connections are closed when it returns. Dropping every
/// [`ListenerHandle`] only stops new listeners from arriving.
pub async fn serve(listeners: Listeners, acr: Arc<Acr>, shutdown: impl Future<Output = ()>) {
    serve_with(listeners, acr, Limits::default(), shutdown).await
}

/// [`serve`] under these limits (each listener has its own connection cap).
pub async fn serve_with(mut listeners: Listeners, acr: Arc<Acr>, limits: Limits, shutdown: impl Future<Output = ()>) {
    let acceptor = TlsAcceptor::from(acr.tls_config());
    let (conn_tx, mut conn_rx) = mpsc::channel::<(TcpStream, SocketAddr, Slot)>(64);
    let mut accepts = JoinSet::new();
    let mut conns = JoinSet::new();
    let mut open = true;
    // Expired upload sessions are dropped at a quarter of their idle limit (at least
    // every minute), so what they held is given back soon after they expire.
    let idle = acr.upload_limits().session_idle;
    let mut reap = tokio::time::interval((idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(60)));
    reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            l = listeners.rx.recv(), if open => match l {
                Some(l) => {
                    let tx = conn_tx.clone();
                    accepts.spawn(accept_loop(Acceptor::new(l, &limits, "ACR"), tx));
                }
                None => open = false,
            },
            Some((tcp, peer, slot)) = conn_rx.recv() => {
                conns.spawn(connection(acr.clone(), acceptor.clone(), tcp, peer, slot, limits));
            }
            _ = reap.tick() => {
                acr.purge_idle_uploads();
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    accepts.shutdown().await;
    conns.shutdown().await;
}

async fn accept_loop(listener: Acceptor, tx: mpsc::Sender<(TcpStream, SocketAddr, Slot)>) {
    loop {
        if tx.send(listener.accept().await).await.is_err() {
            return;
        }
    }
}

async fn connection(
    acr: Arc<Acr>,
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    limits: Limits,
) {
    let _slot = slot;
    let _ = tcp.set_nodelay(true);
    let Ok(local) = tcp.local_addr() else { return };
    let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "ACR TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    let sni = tls.get_ref().1.server_name().unwrap_or_default().to_string();
    let info = Arc::new(acr.conn_info(local, peer, &sni));
    let svc = service_fn(move |req| {
        let acr = acr.clone();
        let info = info.clone();
        async move { Ok::<_, std::convert::Infallible>(acr.handle(&info, req).await) }
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(WriteTimeout::new(tls, WRITE_STALL_TIMEOUT)), svc)
        .await
    {
        tracing::debug!(%peer, error = %e, "ACR connection ended with an error");
    }
}

/// Fails writes that make no progress for `limit`. Only writes: while hyper streams a long
/// answer it keeps a read pending on purpose, and idle reads are bounded by the header
/// timeout ([`Limits::header_timeout`]) and the body timeouts instead.
struct WriteTimeout<T> {
    inner: T,
    limit: Duration,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteTimeout<T> {
    fn new(inner: T, limit: Duration) -> WriteTimeout<T> {
        WriteTimeout { inner, limit, stall: None }
    }

    fn pending<R>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<R>> {
        let limit = self.limit;
        let timer = self.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(ErrorKind::TimedOut, "client stopped reading"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stall = None;
                ready
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stall = None;
                ready
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => self.pending(cx),
            ready => ready,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stall = None;
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
