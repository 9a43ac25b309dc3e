//! Running many scenarios: as many environments as jobs (at most what the backend
//! allows at once), each taking the next scenario, reset between scenarios; results
//! handed out in input order as they complete. A scenario that does not finish within
//! the time allowed is an errored result and its environment is reset. Cancellation
//! (Ctrl-C, SIGTERM) stops every environment, removing what it made.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::result::ScenarioResult;
use super::scenario;
use crate::backend::BackendError;
use crate::backends::{Kind, StartOptions};
use crate::scenario::Scenario;

/// How a suite runs.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// The backend.
    pub kind: Kind,
    /// Environments at once (the backend may allow fewer).
    pub jobs: usize,
    /// How the backend starts.
    pub start: StartOptions,
    /// The most one scenario may take.
    pub timeout: Duration,
}

/// Why a suite could not run: the harness, not a scenario.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// An environment could not be started, reset or stopped.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

/// Runs `scenarios`; `each` sees every result in input order as soon as it and those
/// before it are done.
pub async fn run(
    scenarios: Vec<Scenario>,
    opts: &SuiteOptions,
    cancel: &CancellationToken,
    mut each: impl FnMut(&ScenarioResult),
) -> Result<Vec<ScenarioResult>, SuiteError> {
    let started = Instant::now();
    let total = scenarios.len();
    let workers = opts.jobs.max(1).min(opts.kind.max_parallel()).min(total);
    let scenarios = Arc::new(scenarios);
    let next = Arc::new(AtomicUsize::new(0));
    // Workers stop at the first harness failure of any of them, or on cancellation.
    let stop = cancel.child_token();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (scenarios, next, stop, tx, opts) =
            (scenarios.clone(), next.clone(), stop.clone(), tx.clone(), opts.clone());
        tasks.spawn(async move {
            let outcome = worker(&scenarios, &next, &opts, &stop, started, &tx).await;
            if outcome.is_err() {
                stop.cancel();
            }
            outcome
        });
    }
    drop(tx);
    let mut slots: Vec<Option<ScenarioResult>> = (0..total).map(|_| None).collect();
    let mut shown = 0;
    while let Some((i, r)) = rx.recv().await {
        slots[i] = Some(r);
        while let Some(Some(r)) = slots.get(shown) {
            each(r);
            shown += 1;
        }
    }
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            // A worker stopped because another failed: the other's error is the one.
            Ok(Ok(())) | Ok(Err(SuiteError::Interrupted)) => {}
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => {
                failure = failure.or(Some(SuiteError::Backend(BackendError::new(
                    opts.kind.name(),
                    crate::backend::Operation::Stop,
                    anyhow::anyhow!("a worker task failed: {e}"),
                ))))
            }
        }
    }
    if cancel.is_cancelled() {
        return Err(SuiteError::Interrupted);
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if stop.is_cancelled() {
        return Err(SuiteError::Interrupted);
    }
    Ok(slots.into_iter().flatten().collect())
}

/// One environment taking scenarios until none is left; stopped (cleaned up) at the
/// end, on error and on cancellation.
async fn worker(
    scenarios: &[Scenario],
    next: &AtomicUsize,
    opts: &SuiteOptions,
    stop: &CancellationToken,
    started: Instant,
    tx: &tokio::sync::mpsc::UnboundedSender<(usize, ScenarioResult)>,
) -> Result<(), SuiteError> {
    let backend = opts.kind.start(&opts.start, stop).await?;
    let work = async {
        let mut fresh = true;
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(s) = scenarios.get(i) else { return Ok::<(), SuiteError>(()) };
            if !fresh {
                backend.reset().await?;
            }
            fresh = false;
            let at = started.elapsed().as_secs_f64() * 1000.0;
            let r = match tokio::time::timeout(opts.timeout, scenario::run(backend.as_ref(), s, started)).await {
                Ok(r) => r,
                Err(_) => scenario::timed_out(s, backend.name(), opts.timeout, at),
            };
            if tx.send((i, r)).is_err() {
                return Ok(());
            }
        }
    };
    let outcome = tokio::select! {
        r = work => r,
        _ = stop.cancelled() => Err(SuiteError::Interrupted),
    };
    let stopped = backend.stop().await;
    outcome?;
    stopped?;
    Ok(())
}
