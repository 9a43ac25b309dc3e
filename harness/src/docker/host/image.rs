//! The component image: `FROM scratch`, pullsim's binary at `/pullsim` and, when the
//! binary is dynamically linked, the shared libraries it loads (as `ldd` lists them) at
//! their own paths. Nothing is pulled: the engine has no registry to pull from.
//!
//! The tag is a content hash of everything copied in, so the image is rebuilt only when
//! the binary (or a library) changed, and reused by every run in between.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bollard::Docker;
use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt;

use super::run::{LABEL_APP, LABEL_HASH, call};
use crate::docker::protocol::state::{BUSYBOX, IP_BINARY, PULLSIM_BINARY, REGISTRY_BINARY};

/// Repository of the component image.
pub const REPOSITORY: &str = "pullsim-component";

/// The busybox applets the image links.
const APPLETS: [&str; 5] = ["sh", "nslookup", "wget", "cat", "ls"];

/// Files of the image: path inside the image → contents.
pub struct BuildContext {
    files: Vec<(String, Vec<u8>, u32)>,
    hash: String,
}

impl BuildContext {
    /// The context for this pullsim binary and the libraries it loads.
    pub fn for_binary(bin: &Path) -> anyhow::Result<BuildContext> {
        let binary = std::fs::read(bin).with_context(|| format!("reading {}", bin.display()))?;
        let mut files = vec![(PULLSIM_BINARY.trim_start_matches('/').to_string(), binary, 0o755)];
        // iproute2's `ip`: a component puts its modeled addresses on its interfaces.
        let ip = Path::new(IP_BINARY);
        let ip_bytes = std::fs::read(ip).with_context(|| {
            format!("reading {} (the docker backend needs iproute2: apt-get install iproute2)", ip.display())
        })?;
        files.push((IP_BINARY.trim_start_matches('/').to_string(), ip_bytes, 0o755));
        // The CNCF distribution registry (Debian's docker-registry): the ACR's storage.
        let registry = Path::new(REGISTRY_BINARY);
        let registry_bytes = std::fs::read(registry).with_context(|| {
            format!("reading {} (the docker backend needs apt-get install docker-registry)", registry.display())
        })?;
        files.push((REGISTRY_BINARY.trim_start_matches('/').to_string(), registry_bytes, 0o755));
        // busybox (static), when the host has it: `pullsim shell` runs sh and nslookup.
        if let Ok(bytes) = std::fs::read(BUSYBOX) {
            files.push((BUSYBOX.trim_start_matches('/').to_string(), bytes, 0o755));
        }
        let mut libs = shared_libraries(bin)?;
        libs.extend(shared_libraries(ip)?);
        libs.extend(shared_libraries(registry)?);
        libs.sort();
        libs.dedup();
        for lib in libs {
            let bytes = std::fs::read(&lib).with_context(|| format!("reading {}", lib.display()))?;
            let path = lib.to_string_lossy().trim_start_matches('/').to_string();
            files.push((path, bytes, 0o755));
        }
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        for (path, bytes, _) in &files {
            digest.update(path.as_bytes());
            digest.update(&(bytes.len() as u64).to_le_bytes());
            digest.update(bytes);
        }
        let hash: String = digest.finish().as_ref().iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(BuildContext { files, hash })
    }

    /// The content hash (16 hex digits).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The image's tag (`pullsim-component:<hash>`).
    pub fn tag(&self) -> String {
        format!("{REPOSITORY}:{}", self.hash)
    }

    /// The tar build context: a Dockerfile and `rootfs/`.
    pub fn tar(&self) -> anyhow::Result<Vec<u8>> {
        let lib_dirs: Vec<String> = {
            let mut dirs: Vec<String> = self
                .files
                .iter()
                .skip(1)
                .filter_map(|(p, _, _)| Path::new(p).parent().map(|d| format!("/{}", d.display())))
                .collect();
            dirs.sort();
            dirs.dedup();
            dirs
        };
        let mut dockerfile = String::from("FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin:/usr/sbin\n");
        if !lib_dirs.is_empty() {
            dockerfile.push_str(&format!("ENV LD_LIBRARY_PATH={}\n", lib_dirs.join(":")));
        }
        dockerfile.push_str("ENTRYPOINT [\"/pullsim\"]\n");
        let mut tar = tar::Builder::new(Vec::new());
        append(&mut tar, "Dockerfile", dockerfile.as_bytes(), 0o644)?;
        for (path, bytes, mode) in &self.files {
            append(&mut tar, &format!("rootfs/{path}"), bytes, *mode)?;
        }
        if self.files.iter().any(|(p, _, _)| p == BUSYBOX.trim_start_matches('/')) {
            for applet in APPLETS {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                h.set_mtime(0);
                tar.append_link(&mut h, format!("rootfs/bin/{applet}"), "busybox")
                    .with_context(|| format!("adding bin/{applet}"))?;
            }
        }
        tar.into_inner().context("finishing the build context")
    }
}

pub(crate) fn append(tar: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes).with_context(|| format!("adding {path} to the build context"))
}

/// The shared libraries (and the loader) a binary needs, as `ldd` resolves them here;
/// none for a static binary.
fn shared_libraries(bin: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = std::process::Command::new("ldd").arg(bin).output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        // `ldd` fails on a static binary ("not a dynamic executable").
        Ok(_) => return Ok(vec![]),
        Err(e) => bail!("running ldd on {}: {e} (needed for a dynamically linked pullsim)", bin.display()),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("statically linked") {
        return Ok(vec![]);
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`.
        let target = line.split("=>").last().unwrap_or(line).trim();
        let path = target.split(" (").next().unwrap_or("").trim();
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

/// Builds the component image for `bin` unless an image with its tag exists; returns the
/// tag.
pub async fn ensure(docker: &Docker, bin: &Path) -> anyhow::Result<String> {
    let ctx = BuildContext::for_binary(bin)?;
    let tag = ctx.tag();
    if docker.inspect_image(&tag).await.is_ok() {
        tracing::debug!(%tag, "component image cached");
        return Ok(tag);
    }
    build(docker, &ctx).await?;
    Ok(tag)
}

/// The base of the app images built from pulled layers: the component image's files
/// under `/.platform` (generated layers have a `/pullsim` directory of their own) and
/// its process as the entrypoint (`pullsim component app`). Built once per component
/// image; returns its tag.
pub async fn ensure_platform(docker: &Docker, component: &str) -> anyhow::Result<String> {
    let hash = component.rsplit(':').next().unwrap_or_default();
    let tag = format!("pullsim-platform:{hash}");
    if docker.inspect_image(&tag).await.is_ok() {
        return Ok(tag);
    }
    let dockerfile = format!(
        "FROM {component} AS platform\nFROM scratch\nCOPY --from=platform /pullsim /.platform/pullsim\n\
         COPY --from=platform /lib /lib\nCOPY --from=platform /lib64 /lib64\nCOPY --from=platform /bin /bin\n\
         ENV PATH=/bin\nENTRYPOINT [\"/.platform/pullsim\", \"component\", \"app\"]\n"
    );
    let mut tar = tar::Builder::new(Vec::new());
    append(&mut tar, "Dockerfile", dockerfile.as_bytes(), 0o644)?;
    let body = tar.into_inner().context("finishing the platform's build context")?;
    let labels = HashMap::from([(LABEL_APP.to_string(), "1".to_string()), (LABEL_HASH.to_string(), hash.to_string())]);
    build_tar(docker, &tag, labels, body).await?;
    Ok(tag)
}

/// Builds the image of `ctx` (labelled `pullsim=1`, `pullsim.hash=<hash>`).
pub async fn build(docker: &Docker, ctx: &BuildContext) -> anyhow::Result<()> {
    let tag = ctx.tag();
    let body = ctx.tar()?;
    eprintln!("pullsim: building {tag} ({} MB context)", body.len() / 1_000_000);
    let labels =
        HashMap::from([(LABEL_APP.to_string(), "1".to_string()), (LABEL_HASH.to_string(), ctx.hash().to_string())]);
    build_tar(docker, &tag, labels, body).await
}

/// Builds `tag` from a tar build context (a Dockerfile and what it copies), labelled
/// with `labels`; fails with the builder's message.
pub async fn build_tar(
    docker: &Docker,
    tag: &str,
    labels: HashMap<String, String>,
    body: Vec<u8>,
) -> anyhow::Result<()> {
    let opts = BuildImageOptions {
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        labels: Some(labels),
        ..Default::default()
    };
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut stream = docker.build_image(opts, None, Some(bollard::body_full(body.into())));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .with_context(|| format!("building {tag}: not done within 10 minutes"))?;
        let Some(info) = next else { break };
        let info = info.with_context(|| format!("building {tag}"))?;
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            bail!("building {tag}: {detail}");
        }
        if let Some(line) = info.stream {
            let line = line.trim_end();
            tracing::debug!(target: "pullsim::docker::build", "{line}");
            // `Step 2/4 : COPY rootfs/ /`: a one-line progress on a terminal.
            if progress && let Some(step) = line.strip_prefix("Step ") {
                let shown: String = step.chars().take(70).collect();
                eprint!("\r\x1b[2Kpullsim: building {tag}: step {shown}");
            }
        }
    }
    if progress {
        eprintln!("\r\x1b[2Kpullsim: built {tag}");
    }
    call(|| format!("inspecting the image {tag} just built"), docker.inspect_image(tag)).await?;
    Ok(())
}
