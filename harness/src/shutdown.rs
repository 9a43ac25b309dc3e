//! The one way pullsim stops: a [`CancellationToken`] that Ctrl-C or SIGTERM cancels.
//! `run`, `serve`, `shell` and the docker backend's components all hold a clone of the
//! token [`on_signals`] returns and stop (cleaning up what they made) when it is
//! cancelled; nothing else listens for signals.

use tokio_util::sync::CancellationToken;

/// A token cancelled by the first Ctrl-C (SIGINT) or SIGTERM this process receives
/// (SIGTERM is what `docker stop` and CI runners send; a container's PID 1 ignores it
/// unless it is handled). Must be called inside a Tokio runtime.
pub fn on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        signalled().await;
        cancel.cancel();
    });
    token
}

/// Completes on Ctrl-C or SIGTERM.
async fn signalled() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        // No SIGTERM handler could be installed: Ctrl-C still stops us.
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops pullsim");
            let _ = ctrl_c.await;
        }
    }
}
