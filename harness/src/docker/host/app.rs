//! The app container: after a successful pull on the docker backend, the image the worker
//! pulled (its layers, read by digest from the ACR's storage: the bytes the worker
//! verified) is unpacked in order and committed as an image of the engine, and started
//! on the site's integration
//! network, with the site's app settings as its environment — never
//! `DOCKER_REGISTRY_SERVER_*` (docs/azure.md E) — and Azure DNS as its resolver.
//!
//! pullsim's generated images hold files but no program, so the container's process is
//! pullsim's own (`pullsim component app`, from the platform image the layers are added
//! onto, under `/.platform`): it reports its environment and what the registry's name
//! resolves to from inside, then idles like a web app until the next scenario
//! ([`crate::docker::component`]).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use bollard::models::ContainerConfig;
use bollard::models::{ContainerCreateBody, EndpointIpamConfig, EndpointSettings, NetworkingConfig};
use bollard::query_parameters::{CommitContainerOptions, CreateContainerOptions, UploadToContainerOptions};
use mock_azure::acr::Repo;
use mock_azure::acr::oci::{Digest, Reference, RepoName};
use mock_azure::appservice::site::SiteView;
use mock_azure::appservice::worker::PullReport;
use mock_azure::arm::ArmRequest;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::container;
use super::env::DockerEnv;
use super::run::{call, remove_container};
use crate::backend::AppOutcome;
use crate::docker::protocol::state::{APP_READY, withheld};

/// Builds the pulled image and starts it as `site_id`'s app; waits for its report.
pub async fn start(env: &DockerEnv, site_id: &str, report: &PullReport) -> anyhow::Result<AppOutcome> {
    let t0 = std::time::Instant::now();
    let digest = report.manifest_digest.as_deref().context("the pull has no manifest digest")?;
    let site = read_site(env, site_id).await?;
    let image = site.image().context("the site has no DOCKER| image")??;
    let registry = image.host.split('.').next().unwrap_or_default();
    let name = RepoName::parse(&image.repo).with_context(|| format!("'{}' is not a repository", image.repo))?;
    let repo = Repo::new(registry, name).with_context(|| format!("'{registry}' is not a registry name"))?;
    let layers = read_layers(env, &repo, digest).await?;

    // The layers unpacked, in order, onto the platform image (the app's stand-in process)
    // in a container that never runs, committed as the app's image.
    let platform = super::image::ensure_platform(env.docker(), env.image()).await?;
    let repo_tag = format!("{}-{}", env.run_id(), &digest.trim_start_matches("sha256:")[..12]);
    let tag = format!("pullsim-app:{repo_tag}");
    let labels: HashMap<String, String> = env.labels();
    let docker = env.docker();
    let staging = call(
        || "creating the app's staging container".to_string(),
        docker.create_container(
            None::<CreateContainerOptions>,
            ContainerCreateBody {
                image: Some(platform.clone()),
                labels: Some(labels.clone()),
                network_disabled: Some(true),
                ..Default::default()
            },
        ),
    )
    .await?
    .id;
    let built = async {
        for (i, bytes) in layers.into_iter().enumerate() {
            call(
                || format!("unpacking layer {i} into {staging}"),
                docker.upload_to_container(
                    &staging,
                    Some(UploadToContainerOptions { path: "/".to_string(), ..Default::default() }),
                    bollard::body_full(bytes.into()),
                ),
            )
            .await?;
        }
        let opts = CommitContainerOptions {
            container: Some(staging.clone()),
            repo: Some("pullsim-app".to_string()),
            tag: Some(repo_tag.clone()),
            pause: false,
            ..Default::default()
        };
        let config = ContainerConfig { labels: Some(labels.clone()), ..Default::default() };
        call(|| format!("committing {tag}"), docker.commit_container(opts, config)).await
    }
    .await;
    remove_container(docker, &staging).await?;
    built?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "app: image committed");

    let settings: Vec<(String, String)> = site.settings.into_iter().filter(|(k, _)| !withheld(k)).collect();
    let (network, ip, dns) = env.place_of(site.subnet_id.as_deref()).await?;
    let body = ContainerCreateBody {
        image: Some(tag.clone()),
        env: Some(settings.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels),
        cmd: Some(vec!["--dns".into(), dns.to_string(), "--registry".into(), image.host.clone()]),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(
                [(
                    network.clone(),
                    EndpointSettings {
                        ipam_config: Some(EndpointIpamConfig {
                            ipv4_address: Some(ip.to_string()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )]
                .into_iter()
                .collect(),
            ),
        }),
        ..Default::default()
    };
    let name = env.run_name(&format!("app-{}", site.name.to_ascii_lowercase()));
    // The previous scenario's app goes first (one app per site name and run).
    env.remove_apps().await?;
    let id = super::container::create_and_start(docker, &name, body).await?;
    env.track_app(&id, &tag).await;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "app: container created");
    let ready = container::wait_for(docker, &id, APP_READY, Duration::from_secs(30)).await;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "app: ready");
    let (output, _) = container::logs(docker, &id).await?;
    Ok(AppOutcome {
        started: ready.is_ok(),
        image: tag,
        settings: settings.into_iter().map(|(k, _)| k).collect(),
        output: output.trim_end().to_string(),
    })
}

/// The site as the platform reads it: through ARM.
async fn read_site(env: &DockerEnv, site_id: &str) -> anyhow::Result<SiteView> {
    let auth = format!("Bearer {}", env.cfg().client_token(env.signer(), 600));
    let get = async |method: &str, path: String| -> anyhow::Result<Value> {
        let req = ArmRequest::new(method, &format!("{path}?api-version=2024-11-01")).header("authorization", &auth);
        let r = env.arm(&req).await?;
        if r.status != 200 {
            bail!("{method} {path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        }
        Ok(r.json_body())
    };
    let [a, b, c] = SiteView::reads(site_id);
    Ok(SiteView::from_arm(&get(a.0, a.1).await?, &get(b.0, b.1).await?, &get(c.0, c.1).await?))
}

/// The layers of the image `digest` names (the linux/amd64 one of an index).
async fn read_layers(env: &DockerEnv, repo: &Repo, digest: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let blobs = env.blobs();
    let blobs = blobs.as_ref();
    let get = async |d: &str| -> anyhow::Result<Value> {
        let digest = Digest::parse(d).with_context(|| format!("'{d}' is not a digest"))?;
        let m =
            blobs.get_manifest(repo, &Reference::Digest(digest)).await?.with_context(|| format!("no manifest {d}"))?;
        serde_json::from_slice(&m.bytes).context("reading the manifest")
    };
    let mut manifest = get(digest).await?;
    if let Some(list) = manifest["manifests"].as_array() {
        let amd64 = list
            .iter()
            .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
            .and_then(|m| m["digest"].as_str())
            .context("the index has no linux/amd64 image")?
            .to_string();
        manifest = get(&amd64).await?;
    }
    let mut out = Vec::new();
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        let d = layer["digest"].as_str().and_then(Digest::parse).context("a layer without a digest")?;
        let mut r = blobs.open_blob(repo, &d, None).await?.with_context(|| format!("no layer {d}"))?;
        let mut bytes = Vec::with_capacity(r.size as usize);
        r.reader.read_to_end(&mut bytes).await.with_context(|| format!("reading the layer {d}"))?;
        out.push(bytes);
    }
    Ok(out)
}
