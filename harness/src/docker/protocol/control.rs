//! The host's control channel to the component containers: one JSON request per line
//! over TCP (port [`PORT`] of a component's own address), one JSON answer per line. It is
//! pullsim's management side, beside the emulated Azure APIs (as pebble keeps one), never
//! reached by the modeled clients: the worker's traffic goes to the ACR and DNS only.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The control port of every component.
pub const PORT: u16 = 7000;

/// What the host asks a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Read the network layout again and serve every address the store now needs.
    Sync,
    /// Forget the scenario: empty the store (ARM), drop the addresses configured for it.
    Reset,
    /// (Worker) pull a site's image under an epoch; answers the `PullReport`.
    Pull {
        /// The site's resource ID.
        site: String,
        /// The rules epoch (`2021-07`…).
        epoch: String,
    },
    /// (ARM) store a custom DNS server (`Pullsim.Dns/customServers`).
    CustomDns {
        /// Its name.
        name: String,
        /// Its specification, as stored.
        server: mock_azure::dns::CustomServer,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    value: Value,
    #[serde(default)]
    error: String,
}

/// A component's handler: a request in, a JSON value or an error message out.
pub type Handler =
    Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>> + Send + Sync + 'static>;

/// Serves the control channel on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, handler: Handler) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let handler = handler.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let answer = match serde_json::from_str::<Request>(&line) {
                    Ok(req) => match handler(req).await {
                        Ok(value) => Answer { ok: true, value, error: String::new() },
                        Err(error) => Answer { ok: false, value: Value::Null, error },
                    },
                    Err(e) => Answer { ok: false, value: Value::Null, error: format!("bad request: {e}") },
                };
                let mut out = serde_json::to_vec(&answer).unwrap_or_default();
                out.push(b'\n');
                if write.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Sends one request to the component at `addr` and waits (up to `within`) for its answer.
pub async fn call(addr: SocketAddr, req: &Request, within: Duration) -> anyhow::Result<Value> {
    let what = || format!("{req:?} to the component at {addr}");
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.with_context(what)?;
        let mut line = serde_json::to_vec(req)?;
        line.push(b'\n');
        stream.write_all(&line).await.with_context(what)?;
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).await.with_context(what)?;
        let a: Answer = serde_json::from_str(&answer).with_context(|| format!("{}: answer {answer:?}", what()))?;
        if !a.ok {
            bail!("{}: {}", what(), a.error);
        }
        Ok(a.value)
    };
    tokio::time::timeout(within, exchange).await.with_context(|| format!("{}: no answer within {within:?}", what()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_gets_its_answer_and_a_refusal_carries_the_reason() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(|req| {
            Box::pin(async move {
                match req {
                    Request::Pull { site, .. } => Ok(serde_json::json!({ "site": site })),
                    _ => Err("not here".to_string()),
                }
            })
        });
        let task = tokio::spawn(serve(listener, handler));
        let pull = Request::Pull { site: "/s/x".into(), epoch: "2021-07".into() };
        let v = call(addr, &pull, Duration::from_secs(5)).await.unwrap();
        assert_eq!(v["site"], "/s/x");
        let err = call(addr, &Request::Sync, Duration::from_secs(5)).await.unwrap_err();
        assert!(format!("{err:#}").contains("not here"), "{err:#}");
        task.abort();
    }
}
