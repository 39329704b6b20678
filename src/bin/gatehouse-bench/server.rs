//! The system under test and its life: a gatehouse process (with its
//! supervised Hydra) on free ports in a temp dir, configured to send its
//! codes to the SMS sink, the clients the scenarios use registered at
//! Hydra, and its stop at the end. What the processes use while they run is
//! read elsewhere (`process_stats`, `own_times`).

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rustix::process::{Pid, Signal};
use serde_json::json;

use crate::own_times::OwnTimes;
use crate::process_stats::children_of;
use crate::sms_sink::SmsSink;

/// The browser client: trusted, so consent is given without a page.
pub const BROWSER_CLIENT: &str = "bench-browser";
/// The client listed under `[headless]`.
pub const HEADLESS_CLIENT: &str = "bench-headless";
pub const CLIENT_SECRET: &str = "bench-secret-0123456789abcdef";
pub const SCOPE: &str = "openid offline_access profile phone";

/// How the gatehouse process is started.
#[derive(Clone)]
pub enum Binary {
    /// This benchmark binary, re-run as `--serve CONFIG` (the same library
    /// code as `gatehouse serve`; `cargo run --bin gatehouse-bench` does not
    /// build the `gatehouse` binary).
    Itself,
    /// A `gatehouse` executable, run as `gatehouse --config CONFIG serve`.
    Gatehouse(PathBuf),
}

pub struct Server {
    /// `http://127.0.0.1:PORT`: gatehouse's public origin.
    pub public: String,
    pub hydra_public: String,
    pub hydra_admin: String,
    metrics: String,
    /// Where Hydra sends the browser at the end; nothing is ever fetched there.
    pub callback: String,
    pub sms: SmsSink,
    pub pid: u32,
    pub hydra_pid: u32,
    pub measured: String,
    dir: PathBuf,
    log: PathBuf,
    child: Child,
    /// Keep `dir` at the end (`--keep-data`).
    keep: bool,
}

/// The loopback ports of one run.
struct Ports {
    public: u16,
    hydra_public: u16,
    hydra_admin: u16,
    metrics: u16,
}

impl Ports {
    fn free() -> Result<Ports> {
        Ok(Ports {
            public: free_port()?,
            hydra_public: free_port()?,
            hydra_admin: free_port()?,
            metrics: free_port()?,
        })
    }
}

/// Where a gatehouse keeps its state, and the instance it joins.
#[derive(Default, Clone, Copy)]
pub struct Placement<'a> {
    /// `[database] url` and `hydra.dsn` on PostgreSQL; None: the SQLite
    /// files in its data dir.
    pub postgres: Option<(&'a str, &'a str)>,
    /// The first instance of a cluster on the same databases: the second
    /// gets its secrets (as the scaling-out chapter says), sends its codes
    /// to the same SMS sink (either instance's outbox may send a code) and
    /// finds the clients already registered.
    pub peer: Option<&'a Server>,
}

impl Server {
    /// Starts gatehouse (and so Hydra) in a new temp dir, waits until it is
    /// ready, and registers the benchmark's clients. `settings`: more
    /// config.toml (whole tables), e.g. Hydra's stock `[hydra.tuning]`.
    pub async fn start(
        binary: &Binary,
        hydra: &Path,
        settings: &str,
        keep: bool,
        placement: Placement<'_>,
    ) -> Result<Server> {
        // No await between the temp dir and `Server`, whose drop removes
        // it: a Ctrl-C there would leave it behind.
        let sms = match placement.peer {
            Some(peer) => peer.sms.clone(),
            None => SmsSink::start().await?,
        };
        let dir = temp_dir()?;
        let ports = Ports::free()?;
        let callback = format!("{}/callback", sms.origin);
        let config_path = dir.join("config.toml");
        let log = dir.join("gatehouse.log");
        let spawned = (|| {
            let mut config = config_toml(&dir, hydra, &ports, &sms.url, &callback);
            if let Some((database_url, hydra_dsn)) = placement.postgres {
                config = config.replace("[hydra]\n", &format!("[hydra]\ndsn = {hydra_dsn:?}\n"));
                config.push_str(&format!("[database]\nurl = {database_url:?}\n"));
            }
            if let Some(peer) = placement.peer {
                copy_secrets(&peer.dir.join("data"), &dir.join("data"))?;
            }
            std::fs::write(&config_path, config + settings)?;
            let (mut command, measured) = gatehouse_command(binary, &config_path, &log)?;
            let child = command.spawn().context("start gatehouse")?;
            anyhow::Ok((child, measured))
        })();
        let (child, measured) = match spawned {
            Ok(started) => started,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let mut server = Server {
            public: format!("http://127.0.0.1:{}", ports.public),
            hydra_public: format!("http://127.0.0.1:{}", ports.hydra_public),
            hydra_admin: format!("http://127.0.0.1:{}", ports.hydra_admin),
            metrics: format!("http://127.0.0.1:{}/metrics", ports.metrics),
            callback,
            sms,
            pid: child.id(),
            hydra_pid: 0,
            measured,
            dir,
            log,
            child,
            keep,
        };
        server.wait_ready().await?;
        server.hydra_pid = server
            .find_hydra()
            .ok_or_else(|| anyhow!("gatehouse is ready but its Hydra child was not found"))?;
        if placement.peer.is_none() {
            server.register_clients().await?;
        }
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("gatehouse exited ({status}):\n{}", self.log_tail());
            }
            let ready = http.get(format!("{}/readyz", self.public)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("gatehouse not ready within 2 minutes:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The supervised `hydra serve` among gatehouse's children.
    pub fn find_hydra(&self) -> Option<u32> {
        children_of(self.pid).into_iter().find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.split(|b| *b == 0).any(|arg| arg == b"serve"))
        })
    }

    async fn register_clients(&self) -> Result<()> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        for id in [BROWSER_CLIENT, HEADLESS_CLIENT] {
            let body = json!({
                "client_id": id,
                "client_name": id,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [self.callback],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": SCOPE,
                "token_endpoint_auth_method": "client_secret_post",
            });
            let response = http
                .post(format!("{}/admin/clients", self.hydra_admin))
                .json(&body)
                .send()
                .await?;
            let status = response.status();
            if status != 201 {
                bail!("registering {id}: {status}: {}", response.text().await?);
            }
        }
        Ok(())
    }

    /// A path in the benchmark's temp dir (removed at the end).
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The last lines of gatehouse's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `gatehouse_http_request_own_duration_seconds` as it is now.
    pub async fn own_times(&self) -> Result<OwnTimes> {
        let text = reqwest::get(&self.metrics).await?.text().await?;
        Ok(OwnTimes::parse(&text))
    }

    /// Stops gatehouse the way systemd does (SIGTERM); dropping the server
    /// then removes the temp dir unless it is to be kept.
    pub async fn stop(mut self) {
        let _ = tokio::task::spawn_blocking(move || stop_child(&mut self.child)).await;
    }
}

/// However the run ends (done, failed, Ctrl-C): gatehouse is stopped (its
/// Hydra with it) and the temp dir goes unless `--keep-data`.
impl Drop for Server {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        if self.keep {
            eprintln!(
                "gatehouse-bench: data and log kept in {}",
                self.dir.display()
            );
        } else {
            remove_dir(&self.dir);
        }
    }
}

/// Stops `child` the way systemd does: SIGTERM, then SIGKILL after a grace
/// period. A gatehouse stops its Hydra and waits for it on SIGTERM, whereas
/// a SIGKILL leaves that Hydra to die of its parent-death signal a moment
/// later, possibly still writing into the temp dir being removed.
pub fn stop_child(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // Not reaped yet, so the pid is still the child's own.
        let _ = rustix::process::kill_process(Pid::from_child(child), Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The secrets of the data dir `from` into the data dir `to` (which is
/// made): every instance of a cluster signs and encrypts alike.
fn copy_secrets(from: &Path, to: &Path) -> Result<()> {
    use gatehouse::infra::data_dir::DataDir;
    let (from, to) = (DataDir::new(from).secrets(), DataDir::new(to).secrets());
    std::fs::create_dir_all(&to)?;
    for entry in std::fs::read_dir(&from).with_context(|| format!("read {}", from.display()))? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))?;
    }
    Ok(())
}

/// Removes `dir`, again for a moment should a process that just ended still
/// have been writing into it.
pub fn remove_dir(dir: &Path) {
    for _ in 0..50 {
        if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A new directory of this run's under the system's temp dir.
pub fn temp_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-bench-{}-{}",
        std::process::id(),
        gatehouse::infra::random::random_hex(4)
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    Ok(dir)
}

/// gatehouse's configuration for the run: everything in `dir`, Hydra
/// supervised on its ports, codes to the SMS sink, the headless client.
fn config_toml(dir: &Path, hydra: &Path, ports: &Ports, sms_url: &str, callback: &str) -> String {
    let Ports {
        public: port,
        hydra_public,
        hydra_admin,
        metrics,
    } = ports;
    format!(
        r#"data_dir = {data:?}
[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
[hydra]
binary = {hydra:?}
public_port = {hydra_public}
admin_port = {hydra_admin}
# The SMS flow as measured: no offer of another method after it.
[login]
methods = ["sms"]
[consent]
trusted_clients = ["{BROWSER_CLIENT}"]
[sms]
sender = "webhook"
[sms.webhook]
url = "{sms_url}"
# The benchmark measures speed: its sign-ins must not meet the caps
# against SMS pumping.
[sms.policy]
allowed_countries = ["*"]
max_per_hour = 100000000
max_per_country_per_hour = 100000000
max_per_country_per_day = 100000000
max_per_ipv6_48_per_hour = 100000000
[metrics]
listen = "127.0.0.1:{metrics}"
[[headless.clients]]
client_id = "{HEADLESS_CLIENT}"
client_secret = "{CLIENT_SECRET}"
redirect_uri = "{callback}"
scope = "{SCOPE}"
"#,
        data = dir.join("data").display().to_string(),
        hydra = hydra.display().to_string(),
    )
}

/// The command that starts gatehouse with `config`, its output to `log`,
/// none of this environment's GATEHOUSE_* settings, and death with the
/// benchmark; and how the report names what it measured.
pub fn gatehouse_command(binary: &Binary, config: &Path, log: &Path) -> Result<(Command, String)> {
    let (mut command, measured) = match binary {
        Binary::Itself => {
            let exe = std::env::current_exe().context("find this executable")?;
            let mut command = Command::new(&exe);
            command.arg("--serve").arg(config);
            let measured = format!("{} --serve (gatehouse serve)", exe.display());
            (command, measured)
        }
        Binary::Gatehouse(path) => {
            let mut command = Command::new(path);
            command.arg("--config").arg(config).arg("serve");
            (command, path.display().to_string())
        }
    };
    let log_file = std::fs::File::create(log)?;
    dies_with_this_process(&mut command);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GATEHOUSE_") {
            command.env_remove(key);
        }
    }
    command
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    Ok((command, measured))
}

/// If the benchmark dies, the child (and with gatehouse, its Hydra) goes
/// too.
pub fn dies_with_this_process(command: &mut Command) {
    // SAFETY: `pre_exec` is unsafe because its closure runs in the forked
    // child before exec, where only async-signal-safe work is sound (the
    // parent's other threads may have held locks, such as the allocator's,
    // at the fork). This closure makes one system call, prctl(2)'s
    // PR_SET_PDEATHSIG through rustix, which neither allocates nor takes a
    // lock, and an error becomes an `io::Error` from its errno alone.
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            Ok(())
        });
    }
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
