//! One DNS query to another server, sent from a chosen source address: what a custom DNS
//! server does when it forwards. UDP first, TCP when the answer comes back truncated,
//! both inside one deadline.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};

/// The UDP payload size a forwarder advertises (the DNS flag day value).
const PAYLOAD: u16 = 1232;

/// Why a forwarded query got no usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    /// No answer within the deadline.
    #[error("no answer from {to} within {timeout:?}")]
    Timeout {
        /// Server asked.
        to: SocketAddr,
        /// The deadline.
        timeout: Duration,
    },
    /// A socket operation failed (for example the port is closed: nothing serves there).
    #[error("{op} {to}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// Server asked.
        to: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The query could not be encoded, or the answer not decoded.
    #[error("{to}: malformed DNS message: {message}")]
    Malformed {
        /// Server asked.
        to: SocketAddr,
        /// Decoder message.
        message: String,
    },
}

/// Asks `to` for `name`/`qtype` from `from` (any port), recursion desired.
pub(crate) async fn query(
    from: IpAddr,
    to: SocketAddr,
    name: &Name,
    qtype: RecordType,
    timeout: Duration,
) -> Result<Message, ForwardError> {
    match tokio::time::timeout(timeout, exchange(from, to, name, qtype)).await {
        Ok(r) => r,
        Err(_) => Err(ForwardError::Timeout { to, timeout }),
    }
}

async fn exchange(from: IpAddr, to: SocketAddr, name: &Name, qtype: RecordType) -> Result<Message, ForwardError> {
    let io = |op| move |source| ForwardError::Io { op, to, source };
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name.clone(), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(PAYLOAD);
    msg.set_edns(edns);
    let bytes = msg.to_vec().map_err(|e| ForwardError::Malformed { to, message: e.to_string() })?;
    let sock = UdpSocket::bind(SocketAddr::new(from, 0)).await.map_err(io("bind"))?;
    // Connected: only the server's datagrams arrive, and a closed port fails fast.
    sock.connect(to).await.map_err(io("connect"))?;
    sock.send(&bytes).await.map_err(io("send to"))?;
    let mut buf = vec![0u8; usize::from(PAYLOAD).max(4096)];
    loop {
        let n = sock.recv(&mut buf).await.map_err(io("receive from"))?;
        let Some(reply) = buf.get(..n).and_then(|b| Message::from_vec(b).ok()) else {
            continue;
        };
        if !answers(&msg, &reply) {
            continue;
        }
        if reply.metadata.truncation {
            return exchange_tcp(from, to, &msg, &bytes).await;
        }
        return Ok(reply);
    }
}

/// Whether `reply` answers `query` (same ID, a response, the same question).
fn answers(query: &Message, reply: &Message) -> bool {
    reply.metadata.id == query.metadata.id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.len() == query.queries.len()
        && reply.queries.iter().zip(&query.queries).all(|(a, b)| {
            a.query_type() == b.query_type() && a.name().to_ascii().eq_ignore_ascii_case(&b.name().to_ascii())
        })
}

async fn exchange_tcp(from: IpAddr, to: SocketAddr, query: &Message, bytes: &[u8]) -> Result<Message, ForwardError> {
    let io = |op| move |source| ForwardError::Io { op, to, source };
    let sock = match from {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(io("socket for"))?;
    sock.bind(SocketAddr::new(from, 0)).map_err(io("bind for"))?;
    let mut stream = sock.connect(to).await.map_err(io("connect over TCP to"))?;
    let len = u16::try_from(bytes.len())
        .map_err(|_| ForwardError::Malformed { to, message: "query longer than 65535 bytes".into() })?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.map_err(io("write over TCP to"))?;
    loop {
        let n = stream.read_u16().await.map_err(io("read over TCP from"))?;
        let mut buf = vec![0u8; usize::from(n)];
        stream.read_exact(&mut buf).await.map_err(io("read over TCP from"))?;
        let reply = Message::from_vec(&buf).map_err(|e| ForwardError::Malformed { to, message: e.to_string() })?;
        if answers(query, &reply) {
            return Ok(reply);
        }
    }
}
