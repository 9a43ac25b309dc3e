//! One A query from inside a container, printed as `dig +short` prints it (a client
//! container of the tests, the app's stand-in process).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use hickory_proto::rr::{Name, RData, RecordType};
use mock_azure::dns::client;

/// Asks `server` for the A records of `name` with pullsim's DNS client (UDP, TCP when
/// truncated; three tries, 2 s each); returns `dig +short`'s output, or `status:
/// NXDOMAIN` and the like.
pub async fn a_records(server: SocketAddr, name: &str) -> anyhow::Result<String> {
    let qname = Name::from_str(name).with_context(|| format!("{name:?} is not a DNS name"))?;
    let from = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    for _ in 0..3 {
        let answer = match client::query(from, server, &qname, RecordType::A, Duration::from_secs(2)).await {
            Ok(a) => a,
            Err(client::QueryError::Timeout { .. }) => continue,
            Err(e) => return Err(e).with_context(|| format!("asking {server}")),
        };
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
