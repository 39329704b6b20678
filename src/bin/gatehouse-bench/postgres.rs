//! `--database postgres`: a PostgreSQL server of the run's own (Debian's
//! binaries, as scripts/install-postgres installs them), `initdb` into a
//! temp dir, listening on a free loopback port, stopped and removed at the
//! end; or a server the operator names (`--postgres-url`). Either way the
//! run makes fresh databases in it (gatehouse's and Hydra's per variant,
//! the `otp` scenario's) and drops them at the end.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rustix::process::{Pid, Signal};
use tokio_postgres::NoTls;

use crate::server::{dies_with_this_process, free_port, remove_dir, temp_dir};

/// Hydra's connection pool on PostgreSQL (Ory's DSN options). Its default,
/// two connections per CPU (4 on a 2-CPU machine), stalled at concurrency
/// 16: flows timed out after 30 s.
pub const HYDRA_POOL: &str = "max_conns=32&max_idle_conns=32";

pub struct Postgres {
    /// `postgres://USER[:PASSWORD]@HOST:PORT` without a database.
    base: String,
    /// The URL's query (`sslmode=...`), the same for every database.
    query: String,
    /// The database to connect to for CREATE/DROP DATABASE.
    admin_db: String,
    created: Vec<String>,
    /// Our own server (None for `--postgres-url`).
    own: Option<OwnServer>,
}

struct OwnServer {
    dir: PathBuf,
    child: Child,
}

impl Postgres {
    /// The server at `url` (a user that may create databases), or a new
    /// one of our own.
    pub async fn start(url: Option<&str>) -> Result<Postgres> {
        if let Some(url) = url {
            let parsed = url::Url::parse(url).context("--postgres-url is not a URL")?;
            let admin_db = parsed.path().trim_start_matches('/').to_string();
            let mut base = parsed.clone();
            base.set_path("");
            base.set_query(None);
            let postgres = Postgres {
                base: base.to_string().trim_end_matches('/').to_string(),
                query: parsed.query().unwrap_or("sslmode=disable").to_string(),
                admin_db: if admin_db.is_empty() {
                    "postgres".into()
                } else {
                    admin_db
                },
                created: Vec::new(),
                own: None,
            };
            postgres.admin().await?;
            return Ok(postgres);
        }
        let (own, port) = OwnServer::start()?;
        let postgres = Postgres {
            base: format!("postgres://postgres@127.0.0.1:{port}"),
            query: "sslmode=disable".into(),
            admin_db: "postgres".into(),
            created: Vec::new(),
            own: Some(own),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Err(e) = postgres.admin().await {
            if Instant::now() > deadline {
                bail!("PostgreSQL not ready within 60 s: {e:#}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(postgres)
    }

    async fn admin(&self) -> Result<tokio_postgres::Client> {
        // The run's own connections need no TLS: a given server's own
        // `sslmode` is for gatehouse and Hydra.
        let url = format!("{}/{}", self.base, self.admin_db);
        let (client, connection) = tokio_postgres::connect(&url, NoTls)
            .await
            .context("connect to PostgreSQL")?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// A new, empty database; its URL as `database.url` takes it (add
    /// [`HYDRA_POOL`] for `hydra.dsn`).
    pub async fn database(&mut self, purpose: &str) -> Result<String> {
        let name = format!(
            "bench_{}_{purpose}",
            gatehouse::infra::random::random_hex(4)
        );
        self.admin()
            .await?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("create the database {name}"))?;
        self.created.push(name.clone());
        Ok(format!("{}/{name}?{}", self.base, self.query))
    }

    /// Drops the run's databases (on a server we were given) or stops our
    /// server and removes its dir.
    pub async fn stop(mut self) {
        if self.own.is_none() {
            if let Ok(admin) = self.admin().await {
                for name in std::mem::take(&mut self.created) {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = admin.batch_execute(&drop).await {
                        eprintln!("gatehouse-bench: cannot drop the database {name}: {e}");
                    }
                }
            }
        }
        drop(self);
    }
}

impl OwnServer {
    fn start() -> Result<(OwnServer, u16)> {
        let bin = bin_dir()?;
        let dir = temp_dir()?;
        let run_as = postgres_user_if_root()?;
        let started = (|| {
            if let Some((uid, gid)) = run_as {
                std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
            }
            let mut initdb = Command::new(bin.join("initdb"));
            initdb
                .arg("-D")
                .arg(dir.join("data"))
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
                .args(["--no-locale", "--no-sync"])
                .current_dir(&dir);
            as_user(&mut initdb, run_as);
            let output = initdb.output().context("run initdb")?;
            if !output.status.success() {
                bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr));
            }
            let port = free_port()?;
            let log = std::fs::File::create(dir.join("postgres.log"))?;
            let mut server = Command::new(bin.join("postgres"));
            server
                .arg("-D")
                .arg(dir.join("data"))
                .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", dir.display()))
                // As gatehouse's SQLite (synchronous=NORMAL in WAL mode): a
                // crash of the machine may lose the last commits, never the
                // database. fsync stays on.
                .args(["-c", "synchronous_commit=off", "-c", "max_connections=200"])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .current_dir(&dir);
            as_user(&mut server, run_as);
            dies_with_this_process(&mut server);
            let child = server.spawn().context("start postgres")?;
            Ok((child, port))
        })();
        match started {
            Ok((child, port)) => Ok((OwnServer { dir, child }, port)),
            Err(e) => {
                remove_dir(&dir);
                Err(e)
            }
        }
    }
}

/// Fast shutdown (SIGINT), then the dir goes.
impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = rustix::process::kill_process(Pid::from_child(&self.child), Signal::INT);
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        remove_dir(&self.dir);
    }
}

fn as_user(command: &mut Command, run_as: Option<(u32, u32)>) {
    if let Some((uid, gid)) = run_as {
        command.uid(uid).gid(gid);
    }
}

/// Where postgres and initdb are (`infra::postgres_bin`), or an error
/// saying how to install them.
fn bin_dir() -> Result<PathBuf> {
    match gatehouse::infra::postgres_bin::find() {
        Some(dir) => Ok(dir),
        None => bail!(
            "PostgreSQL is not installed (no postgres and initdb on PATH or in \
             /usr/lib/postgresql/*/bin): run scripts/install-postgres, or pass --postgres-url"
        ),
    }
}

/// PostgreSQL refuses to run as root: as root, the `postgres` user's uid
/// and gid (from /etc/passwd).
fn postgres_user_if_root() -> Result<Option<(u32, u32)>> {
    if !rustix::process::geteuid().is_root() {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").context("read /etc/passwd")?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
        .map(Some)
        .context(
            "running as root, PostgreSQL must run as the `postgres` user, and there is none: \
             run scripts/install-postgres (the package creates it)",
        )
}
