//! The system under test: a gatehouse process (with its supervised Hydra) on
//! free ports in a temp dir, the SMS sink it sends codes to, the clients the
//! scenarios use, and what /proc and /metrics say about the processes.

use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// The browser client: trusted, so consent is given without a page.
pub const BROWSER_CLIENT: &str = "bench-browser";
/// The client listed under `[headless]`.
pub const HEADLESS_CLIENT: &str = "bench-headless";
pub const CLIENT_SECRET: &str = "bench-secret-0123456789abcdef";
pub const SCOPE: &str = "openid offline_access profile phone";

/// How the gatehouse process is started.
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
}

impl Server {
    pub async fn start(binary: Binary, hydra: &Path) -> Result<Server> {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-bench-{}-{}",
            std::process::id(),
            gatehouse::store::random_hex(4)
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let sms = SmsSink::start().await?;
        let (port, hydra_public, hydra_admin, metrics) =
            (free_port()?, free_port()?, free_port()?, free_port()?);
        let public = format!("http://127.0.0.1:{port}");
        let callback = format!("{}/callback", sms.origin);
        let config = format!(
            r#"data_dir = {data:?}
[server]
listen = "127.0.0.1:{port}"
public_url = "{public}"
[hydra]
binary = {hydra:?}
public_port = {hydra_public}
admin_port = {hydra_admin}
[consent]
trusted_clients = ["{BROWSER_CLIENT}"]
[sms]
sender = "webhook"
[sms.webhook]
url = "{sms_url}"
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
            sms_url = sms.url,
        );
        let config_path = dir.join("config.toml");
        std::fs::write(&config_path, config)?;

        let (mut command, measured) = match binary {
            Binary::Itself => {
                let exe = std::env::current_exe().context("find this executable")?;
                let mut command = Command::new(&exe);
                command.arg("--serve").arg(&config_path);
                (
                    command,
                    format!("{} --serve (gatehouse serve)", exe.display()),
                )
            }
            Binary::Gatehouse(path) => {
                let mut command = Command::new(&path);
                command.arg("--config").arg(&config_path).arg("serve");
                (command, path.display().to_string())
            }
        };
        let log = dir.join("gatehouse.log");
        let log_file = std::fs::File::create(&log)?;
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GATEHOUSE_") {
                command.env_remove(key);
            }
        }
        command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        // If the benchmark dies, gatehouse (and with it Hydra) goes too.
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().context("start gatehouse")?;
        let mut server = Server {
            public,
            hydra_public: format!("http://127.0.0.1:{hydra_public}"),
            hydra_admin: format!("http://127.0.0.1:{hydra_admin}"),
            metrics: format!("http://127.0.0.1:{metrics}/metrics"),
            callback,
            sms,
            pid: child.id(),
            hydra_pid: 0,
            measured,
            dir,
            log,
            child,
        };
        server.wait_ready().await?;
        server.hydra_pid = server
            .find_hydra()
            .ok_or_else(|| anyhow!("gatehouse is ready but its Hydra child was not found"))?;
        server.register_clients().await?;
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

    /// Stops gatehouse the way systemd does (SIGTERM), and removes the temp
    /// dir unless it is to be kept.
    pub async fn stop(mut self, keep: bool) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.pid as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if keep {
            eprintln!(
                "gatehouse-bench: data and log kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Child processes of `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat_fields(&stat).get(1).and_then(|p| p.parse().ok()) == Some(parent)
        })
        .collect()
}

/// The fields of /proc/PID/stat after the command name (state is [0]).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

/// Memory and CPU of one process, from /proc.
#[derive(Debug, Clone, Copy)]
pub struct ProcStats {
    pub rss_kb: u64,
    pub anon_kb: u64,
    /// Peak RSS since the last [`reset_peak`] (VmHWM).
    pub peak_kb: u64,
    pub cpu_s: f64,
}

pub fn proc_stats(pid: u32) -> Option<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = stat_fields(&stat);
    // utime and stime are fields 14 and 15 of the whole line.
    let ticks: u64 = fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(ProcStats {
        rss_kb: kb("VmRSS:")?,
        anon_kb: kb("RssAnon:")?,
        peak_kb: kb("VmHWM:")?,
        cpu_s: ticks as f64 / per_second,
    })
}

/// Seconds the process's threads have run and waited for a CPU, from
/// /proc/PID/task/*/schedstat, per thread (threads come and go).
pub fn sched_stats(pid: u32) -> HashMap<String, (f64, f64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return HashMap::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            let mut ns = text.split_whitespace().map(|n| n.parse::<f64>().ok());
            let (run, wait) = (ns.next()??, ns.next()??);
            Some((
                task.file_name().to_string_lossy().into(),
                (run / 1e9, wait / 1e9),
            ))
        })
        .collect()
}

/// Seconds spent waiting for a CPU between two [`sched_stats`] readings.
pub fn cpu_wait_between(
    before: &HashMap<String, (f64, f64)>,
    after: &HashMap<String, (f64, f64)>,
) -> f64 {
    after
        .iter()
        .map(|(tid, (_, wait))| wait - before.get(tid).map_or(0.0, |b| b.1))
        .sum()
}

/// Resets VmHWM to the current RSS, so that the next reading is the peak of
/// one scenario. False when the kernel refused.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// An SMS gateway that keeps the last code per phone.
#[derive(Clone)]
pub struct SmsSink {
    pub url: String,
    origin: String,
    codes: Arc<Mutex<HashMap<String, String>>>,
}

impl SmsSink {
    async fn start() -> Result<SmsSink> {
        let codes: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let kept = codes.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(message): axum::Json<Value>| {
                let kept = kept.clone();
                async move {
                    if let (Some(phone), Some(code)) =
                        (message["phone"].as_str(), message["code"].as_str())
                    {
                        let mut codes = kept.lock().unwrap_or_else(|e| e.into_inner());
                        codes.insert(phone.to_string(), code.to_string());
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let origin = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(SmsSink {
            url: format!("{origin}/sms"),
            origin,
            codes,
        })
    }

    /// Takes the last code sent to `phone` (E.164).
    pub fn take(&self, phone: &str) -> Option<String> {
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.remove(phone)
    }
}

/// gatehouse's own-time histograms by (route, method, status): cumulative
/// counts per upper bound in seconds, +Inf last.
#[derive(Debug, Default, Clone)]
pub struct OwnTimes(HashMap<(String, String, String), Vec<(f64, u64)>>);

const OWN_METRIC: &str = "gatehouse_http_request_own_duration_seconds_bucket{";

impl OwnTimes {
    fn parse(text: &str) -> OwnTimes {
        let mut series: HashMap<_, Vec<(f64, u64)>> = HashMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(OWN_METRIC) else {
                continue;
            };
            let Some((labels, value)) = rest.split_once("} ") else {
                continue;
            };
            let labels: HashMap<&str, &str> = labels
                .split("\",")
                .filter_map(|pair| pair.split_once("=\""))
                .map(|(k, v)| (k, v.trim_end_matches('"')))
                .collect();
            let label = |k: &str| labels.get(k).copied().unwrap_or_default().to_string();
            let le = match label("le").as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap_or(f64::INFINITY),
            };
            let count = value.split_whitespace().next().and_then(|v| v.parse().ok());
            series
                .entry((label("route"), label("method"), label("status")))
                .or_default()
                .push((le, count.unwrap_or(0)));
        }
        for buckets in series.values_mut() {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        OwnTimes(series)
    }

    /// What was observed between `before` and `self` for `route` and
    /// `method`, over the statuses `status` accepts: cumulative buckets.
    pub fn since(
        &self,
        before: &OwnTimes,
        route: &str,
        method: &str,
        status: impl Fn(&str) -> bool,
    ) -> Vec<(f64, u64)> {
        let mut total: Vec<(f64, u64)> = Vec::new();
        for ((r, m, s), buckets) in &self.0 {
            if r != route || m != method || !status(s) {
                continue;
            }
            let earlier = before.0.get(&(r.clone(), m.clone(), s.clone()));
            for (i, (le, count)) in buckets.iter().enumerate() {
                let old = earlier.and_then(|e| e.get(i)).map_or(0, |b| b.1);
                match total.get_mut(i) {
                    Some(slot) => slot.1 += count - old,
                    None => total.push((*le, count - old)),
                }
            }
        }
        total
    }
}

/// Adds `more` to `total`, bucket by bucket (the same bounds, or none yet).
pub fn add_buckets(total: &mut Vec<(f64, u64)>, more: &[(f64, u64)]) {
    if total.is_empty() {
        total.extend_from_slice(more);
        return;
    }
    for (slot, (_, count)) in total.iter_mut().zip(more) {
        slot.1 += count;
    }
}

/// The `q` quantile of cumulative buckets, interpolated linearly inside its
/// bucket (as Prometheus' histogram_quantile does), in milliseconds.
pub fn bucket_quantile(buckets: &[(f64, u64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let (mut lower, mut below) = (0.0, 0u64);
    for &(le, count) in buckets {
        if count as f64 >= rank {
            if le.is_infinite() {
                return Some(lower * 1000.0);
            }
            let share = (rank - below as f64) / (count - below).max(1) as f64;
            return Some((lower + (le - lower) * share) * 1000.0);
        }
        (lower, below) = (le, count);
    }
    None
}

/// The share of observations at or under `le` seconds (a bucket bound).
pub fn share_within(buckets: &[(f64, u64)], le: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    let within = buckets.iter().find(|b| (b.0 - le).abs() < 1e-9)?.1;
    (total > 0).then(|| within as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_times_parse_and_subtract() {
        let before = OwnTimes::parse(
            "gatehouse_http_request_own_duration_seconds_bucket{le=\"0.001\",route=\"/login\",method=\"GET\",status=\"200\"} 1\n\
             gatehouse_http_request_own_duration_seconds_bucket{le=\"+Inf\",route=\"/login\",method=\"GET\",status=\"200\"} 2\n",
        );
        let after = OwnTimes::parse(
            "gatehouse_http_request_own_duration_seconds_bucket{route=\"/login\",method=\"GET\",status=\"200\",le=\"0.001\"} 91\n\
             gatehouse_http_request_own_duration_seconds_bucket{route=\"/login\",method=\"GET\",status=\"200\",le=\"+Inf\"} 102\n\
             gatehouse_http_request_own_duration_seconds_bucket{route=\"/login\",method=\"POST\",status=\"200\",le=\"+Inf\"} 7\n",
        );
        let buckets = after.since(&before, "/login", "GET", |s| s == "200");
        assert_eq!(buckets, vec![(0.001, 90), (f64::INFINITY, 100)]);
        assert_eq!(share_within(&buckets, 0.001), Some(0.9));
        let p50 = bucket_quantile(&buckets, 0.5).unwrap();
        assert!((p50 - 0.5556).abs() < 0.001, "{p50}");
        // Beyond the last finite bound: the bound is all that is known.
        assert_eq!(bucket_quantile(&buckets, 0.99), Some(1.0));
    }
}
