//! One A query from inside a container, printed as `dig +short` prints it (a client
//! container of the tests, the app's stand-in process).

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use hickory_proto::op::{Message, MessageType, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;

/// Asks `server` for the A records of `name` over UDP (three tries, 2 s each); returns
/// `dig +short`'s output, or `status: NXDOMAIN` and the like.
pub async fn a_records(server: SocketAddr, name: &str) -> anyhow::Result<String> {
    let qname = Name::from_str(name).with_context(|| format!("{name:?} is not a DNS name"))?;
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    let id = msg.metadata.id;
    msg.add_query(Query::query(qname, RecordType::A));
    let bytes = msg.to_vec().context("encoding the query")?;
    let sock = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))).await.context("binding UDP")?;
    let mut buf = vec![0u8; 4096];
    for _ in 0..3 {
        sock.send_to(&bytes, server).await.with_context(|| format!("sending to {server}"))?;
        let Ok(got) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await else {
            continue;
        };
        let (n, _) = got.with_context(|| format!("receiving from {server}"))?;
        let answer = Message::from_vec(&buf[..n]).context("decoding the answer")?;
        if answer.metadata.id != id || answer.metadata.message_type != MessageType::Response {
            continue;
        }
        let code = answer.metadata.response_code;
        if code != hickory_proto::op::ResponseCode::NoError {
            return Ok(format!("status: {code}\n"));
        }
        let mut out = String::new();
        for r in &answer.answers {
            if let RData::A(a) = &r.data {
                out.push_str(&format!("{}\n", a.0));
            }
        }
        return Ok(out);
    }
    bail!("no answer from {server} within 3 tries of 2 s")
}
