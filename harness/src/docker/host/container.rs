//! Helpers over one container: readiness (a line it prints, never a sleep) and its output.

use std::time::Duration;

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, LogsOptions, StartContainerOptions};
use futures_util::StreamExt;

use super::run::call;
use crate::docker::protocol::state::READY;

/// Creates the container `name` from `body` and starts it; returns its ID.
pub async fn create_and_start(docker: &Docker, name: &str, body: ContainerCreateBody) -> anyhow::Result<String> {
    let opts = CreateContainerOptions { name: Some(name.to_string()), ..Default::default() };
    let created = call(|| format!("creating the container {name}"), docker.create_container(Some(opts), body)).await?;
    call(|| format!("starting {name}"), docker.start_container(&created.id, None::<StartContainerOptions>)).await?;
    Ok(created.id)
}

/// Waits until the container prints [`READY`]; fails with its output if it
/// exits first or the deadline passes.
pub async fn wait_ready(docker: &Docker, id: &str, within: Duration) -> anyhow::Result<()> {
    wait_for(docker, id, READY, within).await
}

/// Waits until the container prints `line`; fails with its output if it exits first or
/// the deadline passes.
pub async fn wait_for(docker: &Docker, id: &str, line: &str, within: Duration) -> anyhow::Result<()> {
    let opts = LogsOptions { follow: true, stdout: true, stderr: true, ..Default::default() };
    let mut stream = docker.logs(id, Some(opts));
    let mut seen = String::new();
    let found = tokio::time::timeout(within, async {
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { return false };
            seen.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            if seen.contains(line) {
                return true;
            }
        }
        false
    })
    .await;
    match found {
        Ok(true) => Ok(()),
        Ok(false) => bail!("the container {id} stopped before it was ready:\n{seen}"),
        Err(_) => bail!("the container {id} was not ready within {within:?}:\n{seen}"),
    }
}

/// A container's output so far: stdout and stderr.
pub async fn logs(docker: &Docker, id: &str) -> anyhow::Result<(String, String)> {
    let opts = LogsOptions { stdout: true, stderr: true, ..Default::default() };
    let mut stream = docker.logs(id, Some(opts));
    let (mut out, mut err) = (String::new(), String::new());
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .with_context(|| format!("reading the output of {id}"))?
    {
        match chunk.with_context(|| format!("reading the output of {id}"))? {
            bollard::container::LogOutput::StdErr { message } => err.push_str(&String::from_utf8_lossy(&message)),
            other => out.push_str(&String::from_utf8_lossy(&other.into_bytes())),
        }
    }
    Ok((out, err))
}
