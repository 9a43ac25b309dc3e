//! Shared support for the end-to-end tests: start `pullsim serve` as a real process,
//! talk to it over HTTPS, and drive it with the real Azure CLI.
//!
//! Every process and temporary directory made here is owned by a guard that removes it
//! on drop, so a failing test leaves nothing behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use mock_azure::arm::{Arm, ArmConfig, ArmRequest, ArmResponse};
use mock_azure::identity::TokenSigner;
use mock_azure::model::Store;
use serde_json::Value;

/// The `pullsim` binary, built if it is not there yet.
pub fn pullsim_bin() -> PathBuf {
    if let Ok(p) = std::env::var("PULLSIM_BIN") {
        return PathBuf::from(p);
    }
    // Test binaries live in target/<profile>/deps; the binary in target/<profile>.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let bin = profile_dir.join("pullsim");
    // A binary older than this test executable may predate a change: let cargo decide.
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&bin).is_none_or(|b| modified(&exe).is_some_and(|e| b < e)) {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "pullsim", "--bin", "pullsim"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build -p pullsim failed");
    }
    bin
}

/// A running `pullsim serve`, killed (and its temporary state removed) on drop.
pub struct Serve {
    child: Child,
    /// The ready file's content.
    pub endpoints: Value,
    /// The state directory (a temporary one unless given; empty when in memory).
    pub state_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Serve {
    /// Starts `pullsim serve` on a free loopback port with a fresh state directory.
    pub fn start() -> anyhow::Result<Serve> {
        let temp = tempfile::Builder::new().prefix("pullsim-test-").tempdir()?;
        let dir = temp.path().join("state");
        let mut s = Serve::start_in(&dir)?;
        s._temp = Some(temp);
        Ok(s)
    }

    /// Starts `pullsim serve` with a fresh state directory and extra arguments.
    pub fn start_with(extra: &[&str]) -> anyhow::Result<Serve> {
        let temp = tempfile::Builder::new().prefix("pullsim-test-").tempdir()?;
        let dir = temp.path().join("state");
        let mut s = Serve::spawn(&dir, extra)?;
        s._temp = Some(temp);
        Ok(s)
    }

    /// Starts `pullsim serve` keeping its state in `dir` (which the caller owns).
    pub fn start_in(dir: &Path) -> anyhow::Result<Serve> {
        Serve::spawn(dir, &[])
    }

    /// Starts `pullsim serve` keeping its state in `dir`, with extra arguments.
    pub fn start_in_with(dir: &Path, extra: &[&str]) -> anyhow::Result<Serve> {
        Serve::spawn(dir, extra)
    }

    /// Starts `pullsim serve` without a state directory (everything in memory), with
    /// extra arguments; `wrapper` runs it through another program first (`prlimit …`).
    pub fn start_in_memory(wrapper: &[&str], extra: &[&str]) -> anyhow::Result<Serve> {
        Serve::spawn_command(wrapper, None, extra)
    }

    fn spawn(dir: &Path, extra: &[&str]) -> anyhow::Result<Serve> {
        Serve::spawn_command(&[], Some(dir), extra)
    }

    fn spawn_command(wrapper: &[&str], dir: Option<&Path>, extra: &[&str]) -> anyhow::Result<Serve> {
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(pullsim_bin());
                c
            }
            None => Command::new(pullsim_bin()),
        };
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--quiet"]);
        if let Some(dir) = dir {
            cmd.arg("--state-dir").arg(dir);
        }
        let mut child = cmd
            .args(extra)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning pullsim serve")?;
        // With --quiet, serve prints its endpoints as one JSON document once it listens:
        // readiness is that document, not a sleep.
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                text.push_str(&line);
                text.push('\n');
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    let _ = tx.send(v);
                    text.clear();
                }
            }
        });
        let endpoints = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(v) => v,
            Err(_) => {
                let _ = child.kill();
                bail!("pullsim serve did not become ready within 30 s");
            }
        };
        Ok(Serve { child, endpoints, state_dir: dir.map(Path::to_path_buf).unwrap_or_default(), _temp: None })
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `https://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.endpoints["arm_url"].as_str().unwrap_or_default().trim_end_matches('/').to_string()
    }

    /// Path of the CA certificate to trust.
    pub fn ca_path(&self) -> PathBuf {
        PathBuf::from(self.endpoints["ca_cert"].as_str().unwrap_or_default())
    }

    /// A field of the ready file as a string.
    pub fn field(&self, name: &str) -> String {
        self.endpoints[name].as_str().unwrap_or_default().to_string()
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and waits for it.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// An HTTPS client trusting this server's CA.
    pub fn client(&self) -> anyhow::Result<Https> {
        Https::new(&self.ca_path(), &self.base_url())
    }
}

impl Drop for Serve {
    /// Stops serve as Ctrl-C would (SIGTERM), so it removes its temporary directory;
    /// SIGKILL only if it has not ended within 10 s.
    fn drop(&mut self) {
        // Already reaped (`kill9`): its PID may belong to another process by now.
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTPS client (one connection per request) trusting pullsim's CA.
pub struct Https {
    tls: tokio_rustls::TlsConnector,
    base: String,
    addr: String,
    rt: tokio::runtime::Runtime,
}

/// A response: status and body text.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body as text.
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Null` if not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Https {
    /// A client for `base` (`https://127.0.0.1:PORT`) trusting the CA at `ca`.
    pub fn new(ca: &Path, base: &str) -> anyhow::Result<Https> {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for der in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(der?)?;
        }
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let addr = base.trim_start_matches("https://").trim_end_matches('/').to_string();
        Ok(Https {
            tls: tokio_rustls::TlsConnector::from(Arc::new(cfg)),
            base: base.trim_end_matches('/').to_string(),
            addr,
            rt: tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        })
    }

    /// Sends one request; `path_and_query` starts with `/`.
    pub fn send(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Reply> {
        self.rt.block_on(async {
            let tcp =
                tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect(&self.addr)).await??;
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1")?.to_owned();
            let tls = tokio::time::timeout(Duration::from_secs(10), self.tls.connect(name, tcp)).await??;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
            tokio::spawn(conn);
            let mut req = Request::builder().method(method).uri(path_and_query).header("host", &self.addr);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req.body(Full::new(Bytes::copy_from_slice(body)))?;
            let resp = tokio::time::timeout(Duration::from_secs(30), sender.send_request(req)).await??;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok(Reply { status, body: String::from_utf8_lossy(&body).into_owned() })
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }
}

/// An ARM session: an HTTPS client plus a token from the fake Entra ID's
/// client-credentials flow (the same flow the Azure CLI uses).
pub struct ArmClient {
    /// The HTTPS client.
    pub http: Https,
    token: String,
    /// Subscription ID.
    pub subscription: String,
}

impl ArmClient {
    /// Logs in to `serve` as its service principal.
    pub fn login(serve: &Serve) -> anyhow::Result<ArmClient> {
        let http = serve.client()?;
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default",
            serve.field("client_id"),
            serve.field("client_secret")
        );
        let r = http.send(
            "POST",
            &format!("/{}/oauth2/v2.0/token", serve.field("tenant_id")),
            &[("content-type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )?;
        let token = r.json()["access_token"].as_str().context(format!("no token in {}", r.body))?.to_string();
        Ok(ArmClient { http, token, subscription: serve.field("subscription_id") })
    }

    /// Sends an ARM request; `path` may contain `{sub}`, `api-version` is added if absent.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Reply> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.call_raw(method, path, &bytes)
    }

    /// Sends an ARM request with a body as given (templates keep their comments and CRLFs).
    pub fn call_raw(&self, method: &str, path: &str, body: &[u8]) -> anyhow::Result<Reply> {
        let mut path = path.replace("{sub}", &self.subscription);
        if !path.contains("api-version=") {
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str("api-version=2024-11-01");
        }
        let auth = format!("Bearer {}", self.token);
        self.http.send(method, &path, &[("authorization", &auth), ("content-type", "application/json")], body)
    }
}

/// The Azure CLI, installed by `scripts/install-test-deps.sh` into a cache outside the
/// repository, run with its own configuration directory against one `pullsim serve`.
pub struct AzCli {
    az: PathBuf,
    config_dir: tempfile::TempDir,
    ca: PathBuf,
}

/// The cache `scripts/install-test-deps.sh` installs into (`$PULLSIM_CACHE`, else
/// `$XDG_CACHE_HOME/pullsim`, else `~/.cache/pullsim`).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("PULLSIM_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        base.join("pullsim")
    })
}

/// A program the install script recorded in `<cache>/<record>`. Missing is a failure,
/// never a skip: the test command installs it.
fn installed(record: &str, what: &str) -> PathBuf {
    let record = cache_dir().join(record);
    let path = std::fs::read_to_string(&record).unwrap_or_default();
    let path = PathBuf::from(path.trim());
    assert!(
        path.is_file(),
        "{what} is not installed ({} missing or stale): run `make deps` (scripts/install-test-deps.sh)",
        record.display()
    );
    path
}

/// Where the install script put `az`.
pub fn az_path() -> PathBuf {
    installed("az-path", "the Azure CLI")
}

/// The Python (a virtualenv of the cache) with `jsonschema` and `junitparser`, real
/// consumers of pullsim's JSON and JUnit reports.
pub fn python_tools() -> PathBuf {
    installed("python-tools-path", "Python with jsonschema and junitparser")
}

/// check-jsonschema: YAML read by a real parser, held to the GitHub Actions workflow and
/// GitLab CI schemas it ships.
pub fn check_jsonschema() -> PathBuf {
    installed("check-jsonschema-path", "check-jsonschema")
}

/// The Python (a virtualenv of the cache) with the Azure SDK for Python: azure-identity
/// and azure-mgmt-web/network/containerregistry/privatedns/resource.
pub fn python_sdk() -> PathBuf {
    installed("python-sdk-path", "Python with the Azure SDK (azure-mgmt-*)")
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The verdict of `pullsim run FILE [--rules E] --format json` in `dir`: (pull, route,
/// stage, code), `-` for what the outcome does not have.
pub fn verdict(dir: &Path, file: &str, rules: Option<&str>) -> (String, String, String, String) {
    let mut args = vec!["run", file, "--format", "json"];
    if let Some(r) = rules {
        args.extend(["--rules", r]);
    }
    let out = pullsim_in(dir, &args);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("run {file}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let o = &v["results"][0]["outcome"];
    let f = |k: &str| o[k].as_str().unwrap_or("-").to_string();
    (f("pull"), f("route"), f("stage"), f("code"))
}

/// Runs `pullsim ARGS` in `dir` without colours; its output.
pub fn pullsim_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(pullsim_bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running pullsim {args:?}: {e}"))
}

impl AzCli {
    /// Registers `serve` as a cloud and logs in with its service principal.
    pub fn login(serve: &Serve) -> anyhow::Result<AzCli> {
        AzCli::login_as(serve, &serve.field("client_id"), &serve.field("client_secret"))
    }

    /// Registers `serve` as a cloud and logs in as the service principal with this
    /// client ID and secret (another of `serve --principal`).
    pub fn login_as(serve: &Serve, client_id: &str, secret: &str) -> anyhow::Result<AzCli> {
        AzCli::login_to(
            &format!("{}/", serve.base_url()),
            &serve.ca_path(),
            client_id,
            secret,
            &serve.field("tenant_id"),
        )
    }

    /// Registers the fake Azure at `arm_url` (trusting the CA in `ca`) as a cloud and
    /// logs in with its service principal.
    pub fn login_to(arm_url: &str, ca: &Path, client_id: &str, secret: &str, tenant: &str) -> anyhow::Result<AzCli> {
        let config_dir = tempfile::Builder::new().prefix("pullsim-az-").tempdir()?;
        // Pre-seeding the version check keeps the CLI from looking for updates online.
        let now = time_now_for_az();
        std::fs::write(
            config_dir.path().join("versionCheck.json"),
            format!(r#"{{"versions": {{"core": {{"local": "2.91.0"}}}}, "update_time": "{now}"}}"#),
        )?;
        let az = AzCli { az: az_path(), config_dir, ca: ca.to_path_buf() };
        az.ok(&[
            "cloud",
            "register",
            "-n",
            "pullsim",
            "--endpoint-resource-manager",
            arm_url,
            "--suffix-acr-login-server-endpoint",
            ".azurecr.io",
        ])?;
        az.ok(&["cloud", "set", "-n", "pullsim"])?;
        az.ok(&["login", "--service-principal", "-u", client_id, "-p", secret, "--tenant", tenant])?;
        Ok(az)
    }

    /// This CLI's configuration and a quiet, offline environment on `cmd` (an `az`
    /// command, or a shell that runs `az` lines).
    fn configure<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("AZURE_CONFIG_DIR", self.config_dir.path())
            .env("REQUESTS_CA_BUNDLE", &self.ca)
            .env("AZURE_CORE_INSTANCE_DISCOVERY", "false")
            .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
            .env("AZURE_CORE_SURVEY_MESSAGE", "false")
            .env("AZURE_CORE_NO_COLOR", "true")
            .env("AZURE_EXTENSION_USE_DYNAMIC_INSTALL", "no")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("REGION_NAME")
            .env_remove("MSAL_FORCE_REGION")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .stdin(Stdio::null())
    }

    /// Runs `az ARGS -o json` and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> anyhow::Result<(i32, String, String)> {
        let out = self
            .configure(Command::new(&self.az).args(args).args(["-o", "json"]))
            .output()
            .with_context(|| format!("running az {}", args.join(" ")))?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// Runs one command line with a POSIX shell (`sh -c`), `az` first on its PATH and
    /// this CLI's configuration: the lines `pullsim fix` prints, as a user runs them.
    /// Returns (exit code, stdout, stderr).
    pub fn sh(&self, line: &str) -> anyhow::Result<(i32, String, String)> {
        let dir = self.az.parent().context("az has no directory")?;
        let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new("sh");
        cmd.args(["-c", line]).env("PATH", path).env("AZURE_CORE_OUTPUT", "none");
        let out = self.configure(&mut cmd).output().with_context(|| format!("running sh -c {line}"))?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// Runs `az ARGS`, requires success, returns stdout parsed as JSON (`Null` if empty).
    pub fn ok(&self, args: &[&str]) -> anyhow::Result<Value> {
        let (code, out, err) = self.run(args)?;
        if code != 0 {
            bail!("az {} failed ({code}):\n{err}", args.join(" "));
        }
        Ok(serde_json::from_str(&out).unwrap_or(Value::Null))
    }

    /// `az deployment group create -g RG -n NAME --template-file TEMPLATE --parameters
    /// PARAMS…`: the deployment, which must succeed.
    pub fn deploy_group(&self, rg: &str, name: &str, template: &Path, params: &[&str]) -> anyhow::Result<Value> {
        let template = template.to_str().context("a template path in UTF-8")?;
        let mut args = vec!["deployment", "group", "create", "-g", rg, "-n", name, "--template-file", template];
        if !params.is_empty() {
            args.push("--parameters");
            args.extend_from_slice(params);
        }
        let d = self.ok(&args)?;
        if d["properties"]["provisioningState"] != "Succeeded" {
            bail!("deployment {name} did not succeed: {d}");
        }
        Ok(d)
    }

    /// Runs `az ARGS`, requires failure, returns stderr.
    pub fn fails(&self, args: &[&str]) -> anyhow::Result<String> {
        let (code, out, err) = self.run(args)?;
        if code == 0 {
            bail!("az {} succeeded but should have failed:\n{out}", args.join(" "));
        }
        Ok(err)
    }
}

fn time_now_for_az() -> String {
    // `%Y-%m-%d %H:%M:%S.%f`, as the CLI writes it.
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]");
    time::OffsetDateTime::now_utc().format(&fmt).unwrap_or_default()
}

/// How many resources clients made: those in resource groups (and the groups), leaving
/// out what ARM starts every store with (the service principal's Owner assignment on the
/// subscription).
pub fn client_resources(store: &Store) -> usize {
    store.filter(|k, _| k.contains("/resourcegroups/")).len()
}

/// One fake ARM over an in-memory store, called in process (no sockets), with a valid
/// token for it: for tests of ARM's rules.
pub struct ArmFixture {
    /// The ARM.
    pub arm: Arm,
    /// A valid bearer token.
    pub token: String,
}

impl Default for ArmFixture {
    fn default() -> Self {
        ArmFixture::new()
    }
}

impl ArmFixture {
    /// A fresh ARM with an empty store.
    pub fn new() -> ArmFixture {
        let signer = Arc::new(TokenSigner::generate().expect("system randomness"));
        let cfg = ArmConfig::new("https://127.0.0.1:1");
        let token = cfg.client_token(&signer, 3600);
        ArmFixture { arm: Arm::new(Store::in_memory(), signer, cfg), token }
    }

    /// The subscription ID.
    pub fn sub(&self) -> &str {
        &self.arm.cfg.subscription_id
    }

    /// A request with the valid token.
    pub fn req(&self, method: &str, path_and_query: &str) -> ArmRequest {
        ArmRequest::new(method, path_and_query).header("authorization", &format!("Bearer {}", self.token))
    }

    /// Sends a request; `{sub}` in the path is the subscription.
    pub fn send(&self, method: &str, path_and_query: &str, body: Option<&Value>) -> ArmResponse {
        let path = path_and_query.replace("{sub}", self.sub());
        let mut req = self.req(method, &path);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.arm.handle(&req)
    }

    /// Sends and asserts a 2xx; returns the body.
    #[track_caller]
    pub fn ok(&self, method: &str, path_and_query: &str, body: Option<&Value>) -> Value {
        let r = self.send(method, path_and_query, body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path_and_query}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        r.json_body()
    }

    /// Sends and asserts an error status and ARM code; returns the message.
    #[track_caller]
    pub fn err(&self, method: &str, path_and_query: &str, body: Option<&Value>, status: u16, code: &str) -> String {
        let r = self.send(method, path_and_query, body);
        let b = r.json_body();
        assert_eq!(
            (r.status, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        b["error"]["message"].as_str().unwrap_or_default().to_string()
    }

    /// `(number of resources, sequence number)`: equal before and after means unchanged.
    pub fn store_state(&self) -> (usize, u64) {
        (self.arm.store.len(), self.arm.store.seq())
    }
}

/// Runs `f` over `items` on two threads (each item typically starts its own serve and
/// Azure CLI) and returns each item's name and result, in order.
pub fn two_at_a_time<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> (String, R) + Sync) -> Vec<(String, R)> {
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(2).max(1))
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Pushes a generated image to `<registry>.azurecr.io/app:v1` with the real skopeo, from
/// the internet (through serve's internet proxy), with these credentials (the admin
/// user's, say); `dir` holds skopeo's layout and configuration.
pub fn push_image(serve: &Serve, dir: &Path, registry: &str, user: &str, password: &str) {
    let found = Command::new("skopeo").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "skopeo is not installed: run `make deps` (scripts/install-test-deps.sh)");
    let layout = dir.join("layout");
    mock_azure::acr::image::generate_image(7, 2, 2048).write_oci_layout(&layout, "v1").expect("an OCI layout");
    let proxy = serve.endpoints["proxies"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["from"] == "internet"))
        .and_then(|p| p["url"].as_str())
        .expect("serve names its internet proxy")
        .to_string();
    let conf = dir.join("registries.conf");
    std::fs::write(&conf, "").expect("registries.conf");
    let out = Command::new("timeout")
        .arg("120")
        .arg("skopeo")
        .args(["copy", "--dest-cert-dir", &serve.field("cert_dir"), "--dest-creds", &format!("{user}:{password}")])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{registry}.azurecr.io/app:v1"))
        .env("HTTPS_PROXY", proxy)
        .env_remove("https_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("CONTAINERS_REGISTRIES_CONF", &conf)
        .env("REGISTRY_AUTH_FILE", dir.join("auth.json"))
        .env("HOME", dir)
        .output()
        .expect("running skopeo");
    assert!(out.status.success(), "skopeo copy failed:\n{}", String::from_utf8_lossy(&out.stderr));
}
