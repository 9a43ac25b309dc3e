//! The worker's stub resolver: a real DNS query over UDP (TCP when truncated), sent from
//! the real address that stands for the route's source, so the DNS server sees which
//! VNET asks — as the App Service platform's resolver does.

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};

/// How long one query may take (App Service's default DNS timeout is 3 s; RULES.md C).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// What a resolver said about a name.
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
    /// No answer in time.
    Timeout,
}

/// A local failure (not an answer): the socket could not even be set up.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Binding the source address or sending failed.
    #[error("DNS query for {name} from {source_addr} to {server}: {err}")]
    Io {
        /// The name asked.
        name: String,
        /// The real source address.
        source_addr: std::net::IpAddr,
        /// The real server address.
        server: SocketAddr,
        /// The I/O error.
        err: std::io::Error,
    },
    /// The name is not a DNS name.
    #[error("'{0}' is not a valid DNS name")]
    BadName(String),
}

/// Asks `server` for the A records of `name`, from `source` (a real address).
pub async fn query_a(source: std::net::IpAddr, server: SocketAddr, name: &str) -> Result<Answer, ResolveError> {
    let qname =
        Name::from_str(&format!("{}.", name.trim_end_matches('.'))).map_err(|_| ResolveError::BadName(name.into()))?;
    let mut msg = Message::new(rand_id(name), MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname.clone(), RecordType::A));
    let bytes = msg.to_vec().map_err(|_| ResolveError::BadName(name.into()))?;
    let io = |err| ResolveError::Io { name: name.into(), source_addr: source, server, err };

    let sock = UdpSocket::bind(SocketAddr::new(source, 0)).await.map_err(io)?;
    sock.send_to(&bytes, server).await.map_err(io)?;
    let mut buf = vec![0u8; 4096];
    let reply = loop {
        let got = tokio::time::timeout(QUERY_TIMEOUT, sock.recv_from(&mut buf)).await;
        let (n, from) = match got {
            Err(_) => return Ok(Answer::Timeout),
            // ICMP port unreachable surfaces as a receive error: nobody serves there.
            Ok(Err(_)) => return Ok(Answer::Timeout),
            Ok(Ok(x)) => x,
        };
        if from != server {
            continue;
        }
        match Message::from_vec(&buf[..n]) {
            Ok(m) if m.metadata.id == msg.metadata.id => break m,
            _ => continue,
        }
    };
    let reply = if reply.metadata.truncation { query_tcp(source, server, &bytes, name).await? } else { Some(reply) };
    let Some(reply) = reply else { return Ok(Answer::Timeout) };
    Ok(interpret(&reply, &qname))
}

async fn query_tcp(
    source: std::net::IpAddr,
    server: SocketAddr,
    bytes: &[u8],
    name: &str,
) -> Result<Option<Message>, ResolveError> {
    let io = |err| ResolveError::Io { name: name.into(), source_addr: source, server, err };
    let sock = TcpSocket::new_v4().map_err(io)?;
    sock.bind(SocketAddr::new(source, 0)).map_err(io)?;
    let exchange = async {
        let mut stream = sock.connect(server).await?;
        stream.write_all(&(bytes.len() as u16).to_be_bytes()).await?;
        stream.write_all(bytes).await?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    match tokio::time::timeout(QUERY_TIMEOUT, exchange).await {
        Ok(Ok(buf)) => Ok(Message::from_vec(&buf).ok()),
        _ => Ok(None),
    }
}

fn interpret(reply: &Message, qname: &Name) -> Answer {
    let mut chain = Vec::new();
    let mut current = qname.clone();
    // Follow the chain inside the answer section; servers put it there in order, but
    // do not rely on the order.
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

/// A query ID; not security-relevant here, only distinct per name.
fn rand_id(name: &str) -> u16 {
    let d = crate::model::net::digest(&["dns-id", name, &format!("{:?}", std::time::Instant::now())]);
    u16::from_be_bytes([d[0], d[1]])
}
