//! The one DNS client of pullsim's components: a query sent from a chosen source address
//! (the server sees who asks, which is what picks a VNET's view), UDP first with EDNS,
//! TCP when the answer comes back truncated, all inside one deadline.
//!
//! A custom DNS server forwards with [`query`]; the App Service worker's stub resolver
//! and the vantage-point proxies ask with [`query_a`], which reads the answer as a stub
//! resolver does ([`Answer`]); the docker backend's `pullsim component dig` asks with
//! [`query`] from inside a container.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};

/// The UDP payload size the client advertises (the DNS flag day value).
pub const PAYLOAD: u16 = 1232;

/// How long a stub resolver waits for one server (App Service's default DNS timeout is
/// 3 s; docs/azure.md C).
pub const STUB_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a query got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// No answer within the deadline.
    #[error("no answer from {to} within {timeout:?}")]
    Timeout {
        /// Server asked.
        to: SocketAddr,
        /// The deadline.
        timeout: Duration,
    },
    /// The query could not be sent: the asker's own socket failed (bind, connect, send).
    #[error("{op} {to}: {source}")]
    Send {
        /// What was being done.
        op: &'static str,
        /// Server asked.
        to: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The exchange broke after the query left (nothing serves there: the port is
    /// closed; the TCP retry failed).
    #[error("{op} {to}: {source}")]
    Exchange {
        /// What was being done.
        op: &'static str,
        /// Server asked.
        to: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The query could not be encoded.
    #[error("{to}: the query could not be encoded: {source}")]
    Encode {
        /// Server asked.
        to: SocketAddr,
        /// The codec's error.
        source: hickory_proto::ProtoError,
    },
    /// The answer could not be decoded.
    #[error("{to}: malformed DNS message: {source}")]
    Malformed {
        /// Server asked.
        to: SocketAddr,
        /// The decoder's error.
        source: hickory_proto::serialize::binary::DecodeError,
    },
    /// A query longer than TCP's 65,535-byte frame.
    #[error("{to}: a query of {len} bytes does not fit a TCP frame")]
    TooLong {
        /// Server asked.
        to: SocketAddr,
        /// Its length.
        len: usize,
    },
}

impl QueryError {
    /// Whether the query never left (the asker's failure, not the server's silence).
    pub fn is_local(&self) -> bool {
        matches!(self, QueryError::Send { .. } | QueryError::Encode { .. } | QueryError::TooLong { .. })
    }
}

/// Asks `to` for `name`/`qtype` from `from` (any port), recursion desired, within
/// `timeout`.
pub async fn query(
    from: IpAddr,
    to: SocketAddr,
    name: &Name,
    qtype: RecordType,
    timeout: Duration,
) -> Result<Message, QueryError> {
    match tokio::time::timeout(timeout, exchange(from, to, name, qtype)).await {
        Ok(r) => r,
        Err(_) => Err(QueryError::Timeout { to, timeout }),
    }
}

async fn exchange(from: IpAddr, to: SocketAddr, name: &Name, qtype: RecordType) -> Result<Message, QueryError> {
    let send = |op| move |source| QueryError::Send { op, to, source };
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name.clone(), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(PAYLOAD);
    msg.set_edns(edns);
    let bytes = msg.to_vec().map_err(|source| QueryError::Encode { to, source })?;
    let sock = UdpSocket::bind(SocketAddr::new(from, 0)).await.map_err(send("bind"))?;
    // Connected: only the server's datagrams arrive, and a closed port fails fast.
    sock.connect(to).await.map_err(send("connect"))?;
    sock.send(&bytes).await.map_err(send("send to"))?;
    let mut buf = vec![0u8; usize::from(PAYLOAD).max(4096)];
    loop {
        let n = sock.recv(&mut buf).await.map_err(|source| QueryError::Exchange { op: "receive from", to, source })?;
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

/// Whether `reply` answers `query` (same ID, a response, the same question; a name asked
/// without its final dot is the same name).
fn answers(query: &Message, reply: &Message) -> bool {
    let name = |q: &Query| q.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
    reply.metadata.id == query.metadata.id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.len() == query.queries.len()
        && reply.queries.iter().zip(&query.queries).all(|(a, b)| a.query_type() == b.query_type() && name(a) == name(b))
}

async fn exchange_tcp(from: IpAddr, to: SocketAddr, query: &Message, bytes: &[u8]) -> Result<Message, QueryError> {
    let send = |op| move |source| QueryError::Send { op, to, source };
    let broken = |op| move |source| QueryError::Exchange { op, to, source };
    let sock = match from {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(send("socket for"))?;
    sock.bind(SocketAddr::new(from, 0)).map_err(send("bind for"))?;
    let mut stream = sock.connect(to).await.map_err(broken("connect over TCP to"))?;
    let len = u16::try_from(bytes.len()).map_err(|_| QueryError::TooLong { to, len: bytes.len() })?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.map_err(broken("write over TCP to"))?;
    loop {
        let n = stream.read_u16().await.map_err(broken("read over TCP from"))?;
        let mut buf = vec![0u8; usize::from(n)];
        stream.read_exact(&mut buf).await.map_err(broken("read over TCP from"))?;
        let reply = Message::from_vec(&buf).map_err(|source| QueryError::Malformed { to, source })?;
        if answers(query, &reply) {
            return Ok(reply);
        }
    }
}

/// What a stub resolver makes of an answer to an A query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Addresses, after following the CNAME chain (`chain` holds each hop's target).
    Addresses {
        /// CNAME targets in order.
        chain: Vec<String>,
        /// A records of the last name.
        addrs: Vec<Ipv4Addr>,
    },
    /// The name does not exist.
    NxDomain {
        /// CNAME targets followed before the missing name.
        chain: Vec<String>,
    },
    /// The name exists without an address.
    NoAddress {
        /// CNAME targets followed.
        chain: Vec<String>,
    },
    /// The server failed or refused.
    Failed(ResponseCode),
    /// No answer in time (or nothing serves at the address).
    Timeout,
}

impl Answer {
    /// Reads `reply` to an A query for `qname`: the CNAME chain inside the answer section
    /// (in any order), then the A records of its last name.
    pub fn of(reply: &Message, qname: &Name) -> Answer {
        let mut chain = Vec::new();
        let mut current = qname.clone();
        for _ in 0..16 {
            let next = reply.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(c) if r.name == current => Some(c.0.clone()),
                _ => None,
            });
            match next {
                Some(n) => {
                    chain.push(n.to_string().trim_end_matches('.').to_string());
                    current = n;
                }
                None => break,
            }
        }
        let addrs: Vec<Ipv4Addr> = reply
            .answers
            .iter()
            .filter(|r| r.name == current)
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect();
        match reply.metadata.response_code {
            ResponseCode::NoError if !addrs.is_empty() => Answer::Addresses { chain, addrs },
            ResponseCode::NoError => Answer::NoAddress { chain },
            ResponseCode::NXDomain => Answer::NxDomain { chain },
            other => Answer::Failed(other),
        }
    }
}

/// A stub resolver's query that could not even be made.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The query could not be sent from the source address.
    #[error("DNS query for {name} from {source_addr}: {source}")]
    Send {
        /// The name asked.
        name: String,
        /// The real source address.
        source_addr: IpAddr,
        /// What failed.
        source: QueryError,
    },
    /// The name is not a DNS name.
    #[error("'{name}' is not a valid DNS name: {source}")]
    BadName {
        /// The name asked.
        name: String,
        /// The parser's error.
        source: hickory_proto::ProtoError,
    },
}

/// Asks `server` for the A records of `name` from `source` (a real address), as a stub
/// resolver does: a server that does not answer in [`STUB_TIMEOUT`] (or has nothing
/// listening, or answers garbage) is [`Answer::Timeout`]; only a query that could not be
/// sent at all is an error.
pub async fn query_a(source: IpAddr, server: SocketAddr, name: &str) -> Result<Answer, ResolveError> {
    let qname = Name::from_str(&format!("{}.", name.trim_end_matches('.')))
        .map_err(|source| ResolveError::BadName { name: name.into(), source })?;
    match query(source, server, &qname, RecordType::A, STUB_TIMEOUT).await {
        Ok(reply) => Ok(Answer::of(&reply, &qname)),
        Err(e) if e.is_local() => Err(ResolveError::Send { name: name.into(), source_addr: source, source: e }),
        Err(_) => Ok(Answer::Timeout),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A server that answers every query once with NOERROR and no record, writing the
    /// question back as servers do: fully qualified.
    async fn one_answer_server() -> SocketAddr {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let (n, from) = sock.recv_from(&mut buf).await.unwrap();
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut reply = Message::new(q.metadata.id, MessageType::Response, q.metadata.op_code);
            for question in &q.queries {
                let mut fq = question.clone();
                let mut name = fq.name().clone();
                name.set_fqdn(true);
                fq.set_name(name);
                reply.add_query(fq);
            }
            sock.send_to(&reply.to_vec().unwrap(), from).await.unwrap();
        });
        addr
    }

    #[tokio::test]
    async fn a_name_asked_without_its_final_dot_still_gets_its_answer() {
        let server = one_answer_server().await;
        let name = Name::from_str("secureacr2021.azurecr.io").unwrap();
        assert!(!name.is_fqdn(), "the case `pullsim component dig` sends");
        let reply = query("127.0.0.1".parse().unwrap(), server, &name, RecordType::A, Duration::from_secs(2)).await;
        assert_eq!(reply.unwrap().metadata.response_code, ResponseCode::NoError);
    }

    #[tokio::test]
    async fn nothing_listening_is_no_answer_not_a_local_failure() {
        let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let answer = query_a("127.0.0.1".parse().unwrap(), closed, "x.azurecr.io").await.unwrap();
        assert_eq!(answer, Answer::Timeout);
    }
}
