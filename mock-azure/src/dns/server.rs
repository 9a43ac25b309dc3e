//! Serving: a hickory `RequestHandler` per socket role, and a server over sockets the
//! caller bound (STYLE rule 2), to which sockets can be added while it runs (the
//! environment binds a custom server's sockets when a scenario adds the server).
//!
//! Protocol choices, each what DNS says for a server that is recursive for Azure's names
//! and nothing else:
//! - a message hickory cannot parse: FORMERR (hickory answers it before the handler);
//!   shorter than a header, or a response: no answer;
//! - EDNS version above 0: BADVERS; the UDP size offered back is the client's, clamped to
//!   512..=1232, and longer answers are truncated (TC) so the client retries over TCP;
//! - an opcode other than QUERY: NOTIMP; not exactly one question: FORMERR;
//! - class other than IN: REFUSED; question type OPT/TSIG/TKEY (not questions): FORMERR;
//!   AXFR/IXFR: REFUSED (no zone transfers); MAILA/MAILB (obsolete): NOTIMP;
//! - SERVFAIL only for a server-side failure (a custom server's forwarding found no
//!   answer, a CNAME loop in a zone), never for a client's mistake.
//!
//! UDP is hickory's own loop. TCP is accepted here, under the listener limits of
//! [`crate::listen`] (hickory's TCP loop has no connection cap and retries a failed
//! `accept` at once, spinning when descriptors run out), then framed and answered with
//! hickory's pieces exactly as its loop would: a message whose header does not parse
//! gets no answer, one whose body does not parse gets FORMERR, a response is ignored.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use hickory_server::Server;
use hickory_server::net::runtime::iocompat::AsyncIoTokioAsStd;
use hickory_server::net::runtime::{Time, TokioTime};
use hickory_server::net::tcp::TcpStream as DnsTcpStream;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandle, ResponseHandler, ResponseInfo, TimeoutStream};
use hickory_server::zone_handler::{MessageResponseBuilder, Queries};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::custom::{self, Forwarding};
use super::error::DnsError;
use super::log::Raw;
use super::resolve::{Answers, Resolution, View, view_for};
use super::role::Role;
use super::service::AzureDns;
use crate::listen::{Acceptor, Limits};
use crate::netplan::{Modeled, Plan};

/// How long a TCP connection may stay idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// Responses a TCP connection may have queued.
const TCP_RESPONSE_BUFFER: usize = 64;

/// How long a graceful shutdown may take before the tasks are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The largest UDP payload pullsim's DNS sends (the DNS flag day value).
const MAX_UDP_PAYLOAD: u16 = 1232;

/// The handler of one socket pair: the shared DNS state and the socket's role.
struct RoleHandler {
    dns: Arc<AzureDns>,
    role: Role,
}

/// What goes back (sections shared with the answer cache and the log), and the view
/// that answered (`None` for a custom server).
struct Reply {
    body: Arc<Resolution>,
    view: Option<View>,
}

impl Reply {
    fn new(rcode: ResponseCode, answers: Vec<Record>, authority: Vec<Record>, notes: Vec<String>) -> Reply {
        let body = Resolution { view: View::Public, rcode, answers, authority, sources: notes };
        Reply { body: Arc::new(body), view: None }
    }

    fn error(rcode: ResponseCode, why: &str) -> Reply {
        Reply::new(rcode, Vec::new(), Vec::new(), vec![why.to_string()])
    }
}

// `RequestHandler` is an `#[async_trait]` trait; this is the signature that macro gives
// it, written out so mock-azure needs no macro crate for one impl.
impl RequestHandler for RoleHandler {
    fn handle_request<'life0, 'life1, 'async_trait, R, T>(
        &'life0 self,
        request: &'life1 Request,
        response_handle: R,
    ) -> Pin<Box<dyn Future<Output = ResponseInfo> + Send + 'async_trait>>
    where
        R: 'async_trait + ResponseHandler,
        T: 'async_trait + Time,
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.handle(request, response_handle))
    }
}

impl RoleHandler {
    /// One message from a TCP client, as hickory's own loop treats it.
    async fn handle_tcp_message(&self, bytes: Vec<u8>, src: std::net::SocketAddr, mut response: ResponseHandle) {
        let Ok(header) = Header::read(&mut BinDecoder::new(&bytes)) else { return };
        let request = match Request::from_bytes(bytes, src, Protocol::Tcp) {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(%src, %error, "DNS message does not parse: FORMERR");
                // Zero questions read from nothing: hickory's own FORMERR answers carry none.
                let Ok(queries) = Queries::read(&mut BinDecoder::new(&[]), 0) else { return };
                let reply =
                    MessageResponseBuilder::new(&queries, None).error_msg(&header.metadata, ResponseCode::FormErr);
                let _ = response.send_response(reply).await;
                return;
            }
        };
        if request.metadata.message_type == MessageType::Response {
            return;
        }
        let _ = self.handle_request::<_, TokioTime>(&request, response).await;
    }

    async fn handle<R: ResponseHandler>(&self, request: &Request, mut response_handle: R) -> ResponseInfo {
        let src = request.src();
        let source_modeled = self.dns.fabric().map.modeled(src.ip());
        let response_edns = request.edns.as_ref().map(|e| {
            let mut edns = Edns::new();
            edns.set_max_payload(e.max_payload().clamp(512, MAX_UDP_PAYLOAD));
            edns.set_version(0);
            edns
        });
        let query = request.queries.queries().first();
        let qname = query.map(|q| {
            let n = q.name().to_string();
            n.strip_suffix('.').map(str::to_string).unwrap_or(n)
        });
        let qtype = query.map(|q| q.query_type());

        let reply = if request.edns.as_ref().is_some_and(|e| e.version() > 0) {
            Reply::error(ResponseCode::BADVERS, "EDNS version above 0")
        } else if request.metadata.op_code != OpCode::Query {
            Reply::error(ResponseCode::NotImp, "opcode other than QUERY")
        } else if request.queries.len() != 1 {
            Reply::error(ResponseCode::FormErr, "not exactly one question")
        } else if let (Some(q), Some(name), Some(qtype)) = (query, qname.as_deref(), qtype) {
            match question_error(q.query_class(), qtype) {
                Some(reply) => reply,
                None => match self.answer(source_modeled.as_ref(), name, qtype).await {
                    Some(reply) => reply,
                    None => {
                        // No custom server here: nothing answers, as at an address of nothing.
                        self.log(request, &source_modeled, None, qname.clone(), qtype);
                        return no_answer(&request.metadata);
                    }
                },
            }
        } else {
            Reply::error(ResponseCode::FormErr, "no question")
        };
        self.log(request, &source_modeled, Some(&reply), qname, qtype.unwrap_or(RecordType::ZERO));

        let mut metadata = Metadata::response_from_request(&request.metadata);
        // Azure DNS and the forwarders are recursive for the names they serve.
        metadata.recursion_available = true;
        metadata.response_code = reply.body.rcode;
        let builder = MessageResponseBuilder::new(&request.queries, response_edns.as_ref());
        let response = builder.build(metadata, reply.body.answers.iter(), reply.body.authority.iter(), [], []);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::debug!(%error, %src, "DNS answer not sent");
                no_answer(&request.metadata)
            }
        }
    }

    /// The answer of this socket's server, `None` when no server is defined there.
    async fn answer(&self, source: Option<&Modeled>, name: &str, qtype: RecordType) -> Option<Reply> {
        match &self.role {
            Role::AzureDns => {
                let answers = Answers::of(self.dns.store());
                let view = view_for(&answers.snap, source);
                let body = answers.resolve(&view, name, qtype);
                Some(Reply { body, view: Some(view) })
            }
            Role::PublicResolver(_) => {
                // An internet resolver: Azure's public names as anyone on the internet sees
                // them (rule dns.public-resolver).
                let answers = Answers::of(self.dns.store());
                Some(Reply { body: answers.resolve(&View::Public, name, qtype), view: Some(View::Public) })
            }
            Role::Custom(me) => {
                // A VM in a VNET: only what can reach its address gets an answer (rule
                // net.private, as for every private address); from anywhere else the
                // query goes unanswered, as at an address of nothing.
                let asker = source.cloned().unwrap_or_else(|| Modeled::public(std::net::Ipv4Addr::UNSPECIFIED));
                if Plan::of(self.dns.store()).reachable(&asker, me).is_err() {
                    return None;
                }
                // Each forward has its own deadline; a chain of them gets one too, so a
                // client waiting on this server always hears back.
                let timeout = self.dns.forward_timeout();
                let limit = timeout.saturating_mul(2);
                let fwd = Forwarding { store: self.dns.store(), fabric: self.dns.fabric(), timeout };
                match tokio::time::timeout(limit, custom::answer(&fwd, me, name, qtype)).await {
                    Ok(f) => {
                        let f = f?;
                        Some(Reply::new(f.rcode, f.answers, f.authority, f.notes))
                    }
                    Err(_) => Some(Reply::error(ResponseCode::ServFail, &format!("forwarding took over {limit:?}"))),
                }
            }
        }
    }

    fn log(
        &self,
        request: &Request,
        source_modeled: &Option<crate::netplan::Modeled>,
        reply: Option<&Reply>,
        qname: Option<String>,
        qtype: RecordType,
    ) {
        self.dns.log().push_raw(Raw {
            elapsed_ms: self.dns.elapsed_ms(),
            role: self.role.clone(),
            protocol: request.protocol(),
            source: request.src(),
            source_modeled: source_modeled.clone(),
            view: reply.and_then(|r| r.view.clone()),
            qname: qname.unwrap_or_default(),
            qtype,
            reply: reply.map(|r| r.body.clone()),
        });
    }
}

/// The answer to a question pullsim does not look up, by class and type.
fn question_error(class: DNSClass, qtype: RecordType) -> Option<Reply> {
    if class != DNSClass::IN {
        return Some(Reply::error(ResponseCode::Refused, "class other than IN"));
    }
    match u16::from(qtype) {
        // OPT, TKEY, TSIG are records, not questions.
        41 | 249 | 250 => Some(Reply::error(ResponseCode::FormErr, "not a question type")),
        // IXFR, AXFR.
        251 | 252 => Some(Reply::error(ResponseCode::Refused, "zone transfers are not offered")),
        // MAILB, MAILA.
        253 | 254 => Some(Reply::error(ResponseCode::NotImp, "obsolete question type")),
        _ => None,
    }
}

/// What the handler reports to hickory when nothing was sent.
fn no_answer(request: &Metadata) -> ResponseInfo {
    let mut metadata = Metadata::new(request.id, MessageType::Response, request.op_code);
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header { metadata, counts: HeaderCounts::default() })
}

/// A socket pair to serve and what it is.
struct Endpoint {
    role: Role,
    udp: UdpSocket,
    tcp: TcpListener,
}

/// Adds sockets to a [`DnsServer`], before or while it runs. Cheap to clone.
#[derive(Clone)]
pub struct DnsHandle {
    tx: mpsc::UnboundedSender<Endpoint>,
}

impl DnsHandle {
    /// Serves `role` on a UDP socket and a TCP listener the caller bound (same address
    /// and port by convention: `fabric.dns_addr(&modeled)`).
    pub fn add(&self, role: Role, udp: UdpSocket, tcp: TcpListener) -> Result<(), DnsError> {
        let addr = udp.local_addr().map(|a| a.to_string()).unwrap_or_default();
        self.tx.send(Endpoint { role, udp, tcp }).map_err(|e| DnsError::Stopped { role: e.0.role, addr })
    }
}

/// Accepts DNS clients on a TCP listener until the task is dropped.
async fn serve_tcp(listener: Acceptor, handler: Arc<RoleHandler>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            (tcp, src, slot) = listener.accept() => {
                let handler = handler.clone();
                conns.spawn(async move {
                    let _slot = slot;
                    tcp_connection(tcp, src, &handler).await;
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Answers one TCP client's messages in order until it goes quiet for [`TCP_IDLE`].
async fn tcp_connection(tcp: TcpStream, src: std::net::SocketAddr, handler: &RoleHandler) {
    let (stream, handle) = DnsTcpStream::from_stream_with_buffer_size(AsyncIoTokioAsStd(tcp), src, TCP_RESPONSE_BUFFER);
    let mut messages = TimeoutStream::new(stream, TCP_IDLE);
    while let Some(next) = messages.next().await {
        let Ok(message) = next else { return };
        let (bytes, src) = message.into_parts();
        // One at a time, as hickory does: a client cannot make the server work for it
        // in parallel over one connection.
        handler.handle_tcp_message(bytes, src, ResponseHandle::new(src, handle.clone(), Protocol::Tcp)).await;
    }
}

/// The DNS server: every socket pair added gets a handler of its role; all share one
/// [`AzureDns`].
pub struct DnsServer {
    dns: Arc<AzureDns>,
    tx: mpsc::UnboundedSender<Endpoint>,
    rx: mpsc::UnboundedReceiver<Endpoint>,
    limits: Limits,
}

impl DnsServer {
    /// A server answering with `dns`; add sockets, then [`DnsServer::run`] it.
    pub fn new(dns: Arc<AzureDns>) -> DnsServer {
        let (tx, rx) = mpsc::unbounded_channel();
        DnsServer { dns, tx, rx, limits: Limits::default() }
    }

    /// The same server with these TCP listener limits (the connection cap; TCP clients
    /// idle for [`TCP_IDLE`] are closed whatever the limits say).
    pub fn with_limits(mut self, limits: Limits) -> DnsServer {
        self.limits = limits;
        self
    }

    /// A handle to add sockets with, also after `run` has taken the server.
    pub fn handle(&self) -> DnsHandle {
        DnsHandle { tx: self.tx.clone() }
    }

    /// Serves `role` on these sockets (see [`DnsHandle::add`]).
    pub fn add(&self, role: Role, udp: UdpSocket, tcp: TcpListener) -> Result<(), DnsError> {
        self.handle().add(role, udp, tcp)
    }

    /// Serves every socket added, before or during the run, until `shutdown` completes;
    /// then stops them gracefully. Fails with the first serving task that failed.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), DnsError> {
        let DnsServer { dns, tx, mut rx, limits } = self;
        // Handles given out keep adding; this one only keeps the channel open.
        let _keep_open = tx;
        let mut servers: Vec<(Role, Server<RoleHandler>)> = Vec::new();
        let mut tcp = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                endpoint = rx.recv() => {
                    let Some(Endpoint { role, udp, tcp: listener }) = endpoint else { break };
                    tracing::debug!(%role, udp = ?udp.local_addr().ok(), "serving DNS");
                    let mut server = Server::new(RoleHandler { dns: dns.clone(), role: role.clone() });
                    server.register_socket(udp);
                    let handler = Arc::new(RoleHandler { dns: dns.clone(), role: role.clone() });
                    tcp.spawn(serve_tcp(Acceptor::new(listener, &limits, "DNS"), handler));
                    servers.push((role, server));
                }
            }
        }
        tcp.shutdown().await;
        let mut result = Ok(());
        for (role, mut server) in servers {
            let outcome = tokio::time::timeout(SHUTDOWN_GRACE, server.shutdown_gracefully()).await;
            if let Ok(Err(e)) = outcome
                && result.is_ok()
            {
                result = Err(DnsError::Serve { role, message: e.to_string() });
            }
        }
        result
    }
}

/// Serves these socket pairs with `dns` until `shutdown` completes. To add sockets while
/// it runs, use [`DnsServer`] and its [`DnsHandle`] instead.
pub async fn serve(
    sockets: Vec<(Role, UdpSocket, TcpListener)>,
    dns: Arc<AzureDns>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DnsError> {
    let server = DnsServer::new(dns);
    for (role, udp, tcp) in sockets {
        server.add(role, udp, tcp)?;
    }
    server.run(shutdown).await
}
