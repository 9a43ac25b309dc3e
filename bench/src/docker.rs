//! Section 6: the docker backend — the environment up with the component image cached,
//! and the time per scenario of the seed suite in one reused environment, beside the same
//! scenarios on the embedded backend in the same run.

use std::time::Instant;

use pullsim::backend::Backend;
use pullsim::docker::host::DockerBackend;
use pullsim::docker::host::env::DockerEnv;

use crate::stats::{Better, Figure};
use crate::{Cfg, ms};

/// Starts and stops the environment `n` times (after a warm-up that builds the image if
/// needed), then runs the seed suite on one environment and on the embedded backend.
pub async fn run(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let docker = pullsim::docker::host::run::connect().await?;
    let warm = DockerEnv::start(docker.clone(), &cfg.pullsim).await?;
    warm.stop().await?;
    let n = cfg.n(5, 2);
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        let env = DockerEnv::start(docker.clone(), &cfg.pullsim).await?;
        up.push(ms(t.elapsed()));
        let t = Instant::now();
        env.stop().await?;
        down.push(ms(t.elapsed()));
    }
    let med_up = crate::stats::Summary::of(&up).median;
    let med_down = crate::stats::Summary::of(&down).median;
    out.push(
        Figure::new("6 docker backend", "docker.environment_up", "ms", Better::Lower, up)
            .method(
                format!(
                    "DockerEnv::start with the component image cached: the public network, the state directory \
                     (CA, token key), and ARM, Azure DNS, the ACR and the worker created and started in parallel, \
                     each awaited until it prints that it is ready. {n} samples after one warm-up."
                ),
                "pullsim::docker::host::env::DockerEnv::start(docker, target/release/pullsim)",
            )
            .note(format!(
                "Stopping it (containers, networks, state directory removed) took a median {med_down:.0} ms."
            ))
            .goal("docker environment ≤ 5 s", med_up, 5000.0, false),
    );

    let scenarios = crate::scenario::seed_suite()?;
    let backend = DockerBackend::new(DockerEnv::start(docker.clone(), &cfg.pullsim).await?, false);
    let mut on_docker = Vec::new();
    let mut result = Ok(());
    for (i, s) in scenarios.iter().enumerate() {
        if i > 0
            && let Err(e) = backend.reset().await
        {
            result = Err(e);
            break;
        }
        let t = Instant::now();
        let r = pullsim::runner::scenario::run(&backend, s, t).await;
        on_docker.push(ms(t.elapsed()));
        if let Some(e) = r.error {
            result = Err(pullsim::backend::BackendError::new(
                "docker",
                pullsim::backend::Operation::Pull,
                anyhow::anyhow!("{e}"),
            ));
            break;
        }
    }
    Box::new(backend).stop().await?;
    result?;
    let mut embedded = Vec::new();
    for s in &scenarios {
        embedded.push(pullsim::runner::scenario::run_embedded(s).await?.duration_ms);
    }
    let med = crate::stats::Summary::of(&on_docker).median;
    out.push(
        Figure::new("6 docker backend", "docker.per_scenario", "ms", Better::Lower, on_docker)
            .method(
                format!(
                    "Each of the {} seed scenarios in one docker environment, one after the other: reset (ARM's \
                     store, the components' addresses, the blobs), the topology through ARM over HTTPS, the images \
                     written to the ACR's blob directory, networks laid out and components synced, the pull by the \
                     worker container; wall time per scenario (ScenarioResult.duration_ms).",
                    scenarios.len()
                ),
                "pullsim::runner::scenario::run(&docker_backend, &scenario, …) for each scenario of scenarios/seed, reset between them (no app container)",
            )
            .peer(
                "the same scenarios on the embedded backend (a fresh environment each), same run",
                "pullsim::runner::scenario::run_embedded(&scenario)",
                embedded,
                "docker / embedded, per scenario",
            )
            .goal("≤ 1 s per scenario", med, 1000.0, false),
    );
    Ok(())
}
