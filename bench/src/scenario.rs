//! Section 1 (scenarios on the embedded backend) and the layer half of section 7.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use mock_azure::acr::generate_image;
use pullsim::embedded::{Env, EnvOptions};

use pullsim::scenario::Scenario;

use crate::recipe::{self, Recipe};
use crate::stats::{Better, Figure};
use crate::{Cfg, ms};

const S1: &str = "1 scenarios (embedded)";
const S7: &str = "7 growth";

/// The seed image of the recipe: 3 layers of 4 KiB (as `worker_seed.rs`).
const LAYERS: usize = 3;
const LAYER_SIZE: usize = 4096;

/// One full scenario, its setup alone, and a reused environment's pull.
pub async fn single(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let (warm, samples) = (3, cfg.n(40, 8));
    let (mut total, mut arm, mut push, mut pull, mut start, mut calls) = (vec![], vec![], vec![], vec![], vec![], 0);
    for i in 0..warm + samples {
        let t0 = Instant::now();
        let env = Env::start(EnvOptions::default()).await?;
        let started = t0.elapsed();
        let t = Instant::now();
        let image = generate_image(i as u64, LAYERS, LAYER_SIZE);
        let (r, times) = recipe::build(&env, i, &image).await?;
        let p = recipe::pull(&env, &r).await?;
        let all = t.elapsed();
        env.stop().await;
        if i >= warm {
            total.push(ms(all));
            arm.push(ms(times.arm));
            push.push(ms(times.push));
            pull.push(ms(p));
            start.push(ms(started));
        }
        calls = times.calls;
    }
    // One recipe's site pulled again and again: the environment and the setup reused.
    let env = Env::start(EnvOptions::default()).await?;
    let (site, _) = recipe::build(&env, 0, &generate_image(0, LAYERS, LAYER_SIZE)).await?;
    recipe::pull(&env, &site).await?;
    let mut again = vec![];
    for _ in 0..cfg.n(60, 10) {
        again.push(ms(recipe::pull(&env, &site).await?));
    }
    let resources = env.store.len();
    env.stop().await;

    let how = format!(
        "Each sample starts a fresh environment (Env::start, in-memory store; timed apart as scenario.part.env_start), \
         then — timed — builds the July 2021 recipe ({calls} ARM calls through Arm::handle in process: RG, VNET with \
         2 subnets, Premium registry with public access disabled, private DNS zone + VNET link, private endpoint + \
         zone group, plan, listCredentials, site with VNET integration, route-all and WEBSITE_PULL_IMAGE_OVER_VNET; \
         {resources} resources), pushes a generated image ({LAYERS} layers × {LAYER_SIZE} B) straight into the ACR's \
         memory store, and pulls it with the App Service worker (token + 3 ARM reads over HTTPS, DNS from the \
         integration subnet's address, TLS to the private endpoint, admin token, manifest, 307 to the data endpoint \
         per blob, sha256 verify). {warm} warm-up scenarios first."
    );
    let call = "pullsim-bench run --only scenarios (recipe::build + Env::pull, Epoch::E2021_07)";
    let med_total = median(&total);
    let med_again = median(&again);
    out.push(
        Figure::new(S1, "scenario.full", "ms", Better::Lower, total)
            .method(how.clone(), call)
            .peer(
                "the same scenario's setup alone (ARM calls only)",
                "the ARM calls of the same samples, timed apart",
                arm.clone(),
                "full scenario time / its ARM setup time: how many times the setup the whole run costs",
            )
            .goal("median embedded scenario ≤ 5 ms", med_total, 5.0, false),
    );
    out.push(
        Figure::new(S1, "scenario.part.arm_setup", "ms", Better::Lower, arm)
            .method("The ARM calls of each sample above, timed apart.", call),
    );
    out.push(
        Figure::new(S1, "scenario.part.image_push", "ms", Better::Lower, push).method(
            "Pushing the image of each sample above (no HTTP: push_image straight into the memory store).",
            call,
        ),
    );
    out.push(
        Figure::new(S1, "scenario.part.pull", "ms", Better::Lower, pull)
            .method("The pull of each sample above (Env::pull: reconcile listeners, then Worker::pull).", call),
    );
    out.push(Figure::new(S1, "scenario.part.env_start", "ms", Better::Lower, start).method(
        "Env::start of each sample above (CA, token key, DNS block and sockets, ARM listener); not in scenario.full.",
        call,
    ));
    out.push(
        Figure::new(S1, "scenario.pull_reused", "ms", Better::Lower, again)
            .method(
                format!(
                    "One recipe's site ({resources} resources in the store) pulled again and again in the same \
                     environment (setup and listeners reused); one warm-up pull."
                ),
                "Env::pull(site, Epoch::E2021_07) in a loop",
            )
            .goal("median embedded scenario ≤ 5 ms (pull alone, environment reused)", med_again, 5.0, false),
    );
    Ok(())
}

fn median(v: &[f64]) -> f64 {
    crate::stats::Summary::of(v).median
}

/// Pulls every recipe with `conc` concurrent tasks; the wall time.
async fn pull_all(env: &Arc<Env>, recipes: &Arc<Vec<Recipe>>, conc: usize) -> anyhow::Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..conc {
        let (env, recipes, next) = (env.clone(), recipes.clone(), next.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(r) = recipes.get(i) else { return Ok::<_, anyhow::Error>(()) };
                recipe::pull(&env, r).await?;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.context("a pull task panicked")??;
    }
    Ok(t.elapsed())
}

/// Batches of 64 and 256 recipes sharing one environment (distinct names), to show how
/// the cost of one pull grows with what the store holds.
pub async fn shared(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let sizes: Vec<usize> = if !cfg.batch_sizes.is_empty() {
        cfg.batch_sizes.clone()
    } else if cfg.quick {
        vec![16, 64]
    } else {
        vec![64, 256]
    };
    let samples = cfg.batch_samples.unwrap_or(cfg.n(5, 2));
    // Warm-up: one small batch.
    run_batch(8).await?;
    for &n in &sizes {
        let (mut setup, mut first, mut c1, mut c2, mut wall) = (vec![], vec![], vec![], vec![], vec![]);
        let mut resources = 0;
        for s in 0..samples {
            let b = run_batch_sample(n, s % 2 == 1).await?;
            resources = b.resources;
            setup.push(ms(b.setup));
            first.push(ms(b.first));
            wall.push(ms(b.setup + b.first));
            c1.push(ms(b.c1));
            c2.push(ms(b.c2));
        }
        let per = |v: &[f64]| v.iter().map(|x| x / n as f64).collect::<Vec<f64>>();
        let how = format!(
            "A fresh environment per sample holding {n} distinct copies of the July 2021 recipe (own resource group, \
             VNET, registry, private endpoint, zone, site each; {resources} resources): build all {n} through ARM in \
             process and push their images, bind the endpoints (Env::reconcile once), then pull all {n} with 2 \
             concurrent tasks (the first pass: pays the per-host certificate issuance). Wall time = setup + first pass. \
             {samples} samples, one warm-up batch of 8 first."
        );
        let cmd = format!("pullsim-bench run --only shared (batch of {n})");
        let mut f = Figure::new(S1, &format!("shared_env.{n}.wall"), "ms", Better::Lower, wall.clone())
            .method(how.clone(), cmd.clone())
            .peer(
                "the setup alone (ARM calls + image pushes)",
                "the same samples, setup timed apart",
                setup.clone(),
                "wall / setup",
            );
        if n == sizes[sizes.len() - 1] {
            f = f.note(
                "Not run at 1,024 in one environment: one pull costs time proportional to the whole store \
                 (see the profile in the report), so one sample would take minutes; the 1,024 matrix is measured \
                 with a fresh environment per scenario (matrix.1024), as `pullsim run` runs scenarios.",
            );
        }
        out.push(f);
        out.push(
            Figure::new(S1, &format!("shared_env.{n}.per_scenario"), "ms", Better::Lower, per(&wall))
                .method(format!("shared_env.{n}.wall divided by {n}."), cmd.clone()),
        );
        out.push(
            Figure::new(S1, &format!("shared_env.{n}.speedup_2_tasks"), "×", Better::Higher, ratios(&c1, &c2))
                .method(
                    format!(
                        "Pull phase only, in the same environment after the first pass (certificates cached): all {n} \
                         pulls one after another (1 task) vs 2 concurrent tasks on the 2-worker runtime; the two passes \
                         alternate in order between samples. Sample = t(1 task) / t(2 tasks) of the same sample."
                    ),
                    cmd.clone(),
                )
                .peer("1 task (sequential) pull pass, ms", cmd.clone(), c1.clone(), "see samples: per-sample speed-up")
                .note(format!("pull pass medians: 1 task {:.0} ms, 2 tasks {:.0} ms", median(&c1), median(&c2))),
        );
        if let Some(f) = out.last_mut() {
            // The ratio of this figure is the speed-up itself, not the peer's unit.
            f.ratio = Some(median(&c1) / median(&c2));
            f.ratio_meaning = Some("median t(1 task) / median t(2 tasks)".into());
        }
    }
    Ok(())
}

fn ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

struct BatchTimes {
    setup: Duration,
    first: Duration,
    c1: Duration,
    c2: Duration,
    resources: usize,
}

async fn run_batch(n: usize) -> anyhow::Result<BatchTimes> {
    run_batch_sample(n, false).await
}

async fn run_batch_sample(n: usize, swap: bool) -> anyhow::Result<BatchTimes> {
    let env = Arc::new(Env::start(EnvOptions::default()).await?);
    let t = Instant::now();
    let mut recipes = Vec::with_capacity(n);
    for i in 0..n {
        let image = generate_image(i as u64, LAYERS, LAYER_SIZE);
        let (r, _) = recipe::build(&env, i, &image).await?;
        recipes.push(r);
    }
    // Concurrent pulls would race to bind a new endpoint in Env::reconcile (check, then
    // bind): bind them all once, before pulling.
    env.reconcile().await?;
    let setup = t.elapsed();
    let recipes = Arc::new(recipes);
    let first = pull_all(&env, &recipes, 2).await?;
    let (c1, c2) = if swap {
        let c2 = pull_all(&env, &recipes, 2).await?;
        (pull_all(&env, &recipes, 1).await?, c2)
    } else {
        let c1 = pull_all(&env, &recipes, 1).await?;
        (c1, pull_all(&env, &recipes, 2).await?)
    };
    let resources = env.store.len();
    drop(recipes);
    match Arc::try_unwrap(env) {
        Ok(env) => env.stop().await,
        Err(_) => anyhow::bail!("the environment is still shared"),
    }
    Ok(BatchTimes { setup, first, c1, c2, resources })
}

/// Embedded pull time with images of 1, 64 and 512 layers.
pub async fn layers(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let env = Env::start(EnvOptions::default()).await?;
    let counts = [1usize, 64, 512];
    let mut recipes = Vec::new();
    for (i, &k) in counts.iter().enumerate() {
        let image = generate_image(1000 + i as u64, k, LAYER_SIZE);
        let (r, _) = recipe::build(&env, i, &image).await?;
        recipe::pull(&env, &r).await?; // warm-up
        recipes.push(r);
    }
    let n = cfg.n(15, 5);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    for _ in 0..n {
        for (j, r) in recipes.iter().enumerate() {
            samples[j].push(ms(recipe::pull(&env, r).await?));
        }
    }
    env.stop().await;
    for (j, &k) in counts.iter().enumerate() {
        let mut f = Figure::new(S7, &format!("growth.pull_layers.{k}"), "ms", Better::Lower, samples[j].clone())
            .method(
                format!(
                    "Embedded pull (Env::pull, July 2021 recipe, environment reused) of an image of {k} layers × \
                 {LAYER_SIZE} B; the three images live in one environment, pulls interleaved, one warm-up each, {n} \
                 samples."
                ),
                "pullsim-bench run --only layers",
            );
        if k != 1 {
            f = f.peer(
                "the same pull with a 1-layer image",
                "growth.pull_layers.1",
                samples[0].clone(),
                "t(k layers) / t(1 layer)",
            );
            let per_layer =
                (f.summary.as_ref().map(|s| s.median).unwrap_or(0.0) - median(&samples[0])) / (k - 1) as f64;
            f = f
                .note(format!("≈ {per_layer:.3} ms per extra layer (one blob GET + 307 + data-endpoint GET + sha256)"));
        }
        out.push(f);
    }
    Ok(())
}

/// The seed suite (`scenarios/seed`) as `pullsim run` loads it.
pub fn seed_suite() -> anyhow::Result<Vec<Scenario>> {
    let files = pullsim::runner::select::scenario_files(&[std::path::PathBuf::from("scenarios/seed")])?;
    pullsim::runner::select::load_all(&files, &[], false).map_err(|e| anyhow::anyhow!("{}", e.rendered))
}

/// Each seed scenario on its own fresh environment (`pullsim::runner::scenario::run_embedded`, what
/// `pullsim run` does): per-scenario median over rounds, and the suite's spread.
pub async fn seed(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let suite = seed_suite()?;
    let rounds = cfg.n(5, 2);
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); suite.len()];
    let mut failed = std::collections::BTreeSet::new();
    for round in 0..=rounds {
        for (i, s) in suite.iter().enumerate() {
            let t = Instant::now();
            let r = pullsim::runner::scenario::run_embedded(s).await.with_context(|| format!("scenario {}", s.name))?;
            let d = ms(t.elapsed());
            if !r.passed {
                failed.insert(s.name.clone());
            }
            if round > 0 {
                per[i].push(d);
            }
        }
    }
    let medians: Vec<f64> = per.iter().map(|v| median(v)).collect();
    let all: Vec<f64> = per.iter().flatten().copied().collect();
    let (slowest_i, slowest) = medians
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.partial_cmp(b.1).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(i, m)| (i, *m))
        .unwrap_or((0, f64::NAN));
    let med = median(&medians);
    let mut f = Figure::new(S1, "seed.per_scenario", "ms", Better::Lower, medians)
        .method(
            format!(
                "The seed suite ({} scenarios from scenarios/seed, matrices expanded, loaded with pullsim::runner::select::load_all), \
                 each run with pullsim::runner::scenario::run_embedded — a fresh embedded environment (Env::start), the topology \
                 built through ARM, images pushed, the pull(s) and steps, expectations checked, Env::stop — one at a \
                 time. One warm-up round, then {rounds} rounds; a sample is one scenario's median over the rounds, so \
                 the median and p95 are across the suite's scenarios. Slowest: '{}' at {slowest:.1} ms. All {} \
                 individual runs: median {:.2} ms, p95 {:.2} ms.",
                suite.len(),
                suite[slowest_i].name,
                all.len(),
                median(&all),
                crate::stats::Summary::of(&all).p95
            ),
            "pullsim::runner::scenario::run_embedded(&scenario) for each scenario of scenarios/seed",
        )
        .goal("median embedded scenario ≤ 5 ms", med, 5.0, false);
    if !failed.is_empty() {
        f = f.note(format!(
            "{} scenario(s) did not meet their expectations in this tree (timed all the same): {}.",
            failed.len(),
            failed.into_iter().collect::<Vec<_>>().join("; ")
        ));
    }
    out.push(f);
    Ok(())
}

/// A generated matrix of 64, 256 and 1,024 scenarios (the seed suite repeated), run as
/// `pullsim run` runs them: a fresh environment each, `jobs` at a time.
pub async fn matrix(cfg: &Cfg, out: &mut Vec<Figure>) -> anyhow::Result<()> {
    let suite = seed_suite()?;
    let sizes: Vec<usize> = if cfg.quick { vec![16, 64] } else { vec![64, 256, 1024] };
    let samples = cfg.n(5, 2);
    let generate = |n: usize| -> Vec<Scenario> { suite.iter().cycle().take(n).cloned().collect() };
    // Warm-up.
    run_all(generate(suite.len()), 2).await?;
    for &n in &sizes {
        let (mut j1, mut j2) = (Vec::new(), Vec::new());
        for s in 0..samples {
            // Alternate which runs first.
            for jobs in if s % 2 == 0 { [2, 1] } else { [1, 2] } {
                let t = Instant::now();
                let results = run_all(generate(n), jobs).await?;
                let d = ms(t.elapsed());
                anyhow::ensure!(results.len() == n, "ran {} of {n}", results.len());
                if jobs == 1 { j1.push(d) } else { j2.push(d) }
            }
        }
        let how = format!(
            "A generated matrix of {n} scenarios: the {} seed scenarios repeated in order, run by \
             pullsim::runner::suite::run (what `pullsim run` uses; each scenario on a fresh embedded environment) with \
             --jobs 2 (the default on 2 cores). Wall time of the whole run; {samples} samples, alternating with the \
             --jobs 1 run (the peer) in order; one warm-up run of the suite first.",
            suite.len()
        );
        let cmd = format!("pullsim::runner::suite::run(<{n} scenarios>, jobs)");
        let speed = median(&j1) / median(&j2);
        let mut f = Figure::new(S1, &format!("matrix.{n}.jobs2"), "ms", Better::Lower, j2.clone())
            .method(how, cmd.clone())
            .peer(
                "the same matrix with --jobs 1 (one scenario at a time)",
                cmd.clone(),
                j1.clone(),
                "t(jobs 2) / t(jobs 1); its inverse is the speed-up from running concurrently on 2 cores",
            )
            .note(format!(
                "Speed-up from 2 concurrent jobs: {speed:.2}×; per scenario {:.2} ms (jobs 2).",
                median(&j2) / n as f64
            ));
        if n == 1024 {
            f = f
                .goal("the 1,024-scenario matrix ≤ 10 s", median(&j2) / 1000.0, 10.0, false)
                .note("Goal compared in seconds.");
        }
        out.push(f);
        out.push(
            Figure::new(S1, &format!("matrix.{n}.speedup_2_jobs"), "×", Better::Higher, ratios(&j1, &j2))
                .method(format!("Per sample t(jobs 1) / t(jobs 2) of the matrix of {n} above."), cmd),
        );
    }
    Ok(())
}

/// `pullsim run`'s suite on the embedded backend, `jobs` at a time.
async fn run_all(
    scenarios: Vec<Scenario>,
    jobs: usize,
) -> anyhow::Result<Vec<pullsim::runner::result::ScenarioResult>> {
    let opts = pullsim::runner::suite::SuiteOptions {
        kind: pullsim::backends::Kind::Embedded,
        jobs,
        start: Default::default(),
        timeout: std::time::Duration::from_secs(600),
    };
    Ok(pullsim::runner::suite::run(scenarios, &opts, &tokio_util::sync::CancellationToken::new(), |_| {}).await?)
}
