//! A throwaway PostgreSQL server for the tests (installed by
//! scripts/install-postgres).
//!
//! How it lives and dies:
//! - `initdb` into a temp dir, then `postgres` in the foreground on a free
//!   loopback port, its unix socket in the same dir. Not `pg_ctl start`: it
//!   detaches the server, and then nothing ties it to the test process.
//! - The server is the child of a thread that only waits for it, and is
//!   started with PR_SET_PDEATHSIG(SIGQUIT): when the test process dies,
//!   however it dies, the kernel stops the server. (The signal follows the
//!   thread that started the child, hence the dedicated thread.)
//! - One server per test binary ([`shared`]), started on first use; each test
//!   makes its own database in it ([`PgServer::database`]). At exit an
//!   `atexit` handler stops it and removes its dir; a dir a killed run left
//!   behind is removed by the next start.
//! - A test that stops the server starts its own ([`PgServer::start`]),
//!   stopped and removed when dropped.
//! - [`PgServer::start_tls`] starts one with TLS on (`ssl=on`), presenting
//!   a certificate the test made (helpers/test_ca.rs).
//! - As root, initdb and postgres run as the `postgres` system user
//!   (PostgreSQL refuses to run as root), with the temp dir chowned to it.
//! - Without the binaries the test fails, naming scripts/install-postgres:
//!   it never silently skips.

use rustix::process::Signal;
use std::ffi::CString;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use gatehouse::infra::random::random_hex;
use tokio_postgres::NoTls;

const DIR_PREFIX: &str = "gatehouse-pg-";

/// Whether the server also listens on TCP (127.0.0.1) or only on its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    TcpAndSocket,
    SocketOnly,
}

pub struct PgServer {
    /// The TCP port (with [`Listen::TcpAndSocket`]) and the socket's number.
    pub port: u16,
    /// data/, the unix socket and server.log.
    dir: PathBuf,
    bin: PathBuf,
    listen: Listen,
    /// TLS on (`ssl=on`) with server.crt and server.key in `dir`.
    tls: bool,
    /// uid and gid to run as (the `postgres` user) when the tests run as root.
    run_as: Option<(u32, u32)>,
    running: Mutex<Option<Running>>,
}

struct Running {
    pid: u32,
    exited: Arc<AtomicBool>,
}

static SHARED: OnceLock<PgServer> = OnceLock::new();

/// The test binary's server, started on first use.
pub fn shared() -> &'static PgServer {
    SHARED.get_or_init(|| {
        let server = PgServer::start(Listen::TcpAndSocket);
        // Statics are never dropped: stop it when the process exits normally.
        // SAFETY: registers a plain function that never unwinds.
        unsafe { libc::atexit(stop_shared_at_exit) };
        server
    })
}

extern "C" fn stop_shared_at_exit() {
    if let Some(server) = SHARED.get() {
        server.stop();
        let _ = std::fs::remove_dir_all(&server.dir);
    }
}

impl PgServer {
    /// initdb and start a server of our own.
    pub fn start(listen: Listen) -> PgServer {
        Self::start_with(listen, None)
    }

    /// [`PgServer::start`] with TLS on (`ssl=on`), presenting `cert_pem`
    /// (its key: `key_pem`).
    pub fn start_tls(listen: Listen, cert_pem: &str, key_pem: &str) -> PgServer {
        Self::start_with(listen, Some((cert_pem, key_pem)))
    }

    fn start_with(listen: Listen, tls: Option<(&str, &str)>) -> PgServer {
        let bin = bin_dir();
        remove_stale_dirs();
        let dir = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            random_hex(4)
        ));
        std::fs::create_dir(&dir).expect("create the server's temp dir");
        let run_as = postgres_user_if_root();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the temp dir");
        }
        if let Some((cert, key)) = tls {
            // PostgreSQL wants its key private to the user it runs as.
            for (name, pem) in [("server.crt", cert), ("server.key", key)] {
                let path = dir.join(name);
                std::fs::write(&path, pem).expect("write the server's TLS files");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
                if let Some((uid, gid)) = run_as {
                    std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
                }
            }
        }
        let server = PgServer {
            port: super::free_port(),
            dir,
            bin,
            listen,
            tls: tls.is_some(),
            run_as,
            running: Mutex::new(None),
        };
        server.initdb();
        server.launch();
        server
    }

    /// Fast shutdown (SIGINT), waiting until the server is gone.
    /// Never panics: it also runs at exit.
    pub fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(running) = running else {
            return;
        };
        let pid = i32::try_from(running.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        for signal in [Signal::INT, Signal::KILL] {
            // Our own child, still unreaped (the keeper thread sets
            // `exited` only after reaping it), so the pid is still its.
            if let Some(pid) = pid.filter(|_| !running.exited.load(Ordering::SeqCst)) {
                let _ = rustix::process::kill_process(pid, signal);
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while !running.exited.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if running.exited.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    /// Starts a stopped server again, on the same dir and port.
    pub fn restart(&self) {
        self.launch();
    }

    /// A superuser connection over the unix socket (trusted), for setup.
    pub async fn superuser(&self, database: &str) -> tokio_postgres::Client {
        connect(
            tokio_postgres::Config::new()
                .host_path(&self.dir)
                .port(self.port)
                .user("postgres")
                .dbname(database),
        )
        .await
    }

    /// A fresh database owned by a fresh role with a password.
    pub async fn database(&self) -> TestDatabase {
        let suffix = random_hex(4);
        let database = TestDatabase {
            name: format!("app_{suffix}"),
            owner: format!("app_owner_{suffix}"),
            password: format!("pw-{}", random_hex(8)),
            port: self.port,
            socket_dir: self.dir.clone(),
        };
        let admin = self.superuser("postgres").await;
        // Two calls: CREATE DATABASE refuses to run inside a batch's transaction.
        for statement in [
            format!(
                "CREATE ROLE {} LOGIN PASSWORD '{}'",
                database.owner, database.password
            ),
            format!("CREATE DATABASE {} OWNER {}", database.name, database.owner),
        ] {
            admin
                .batch_execute(&statement)
                .await
                .expect("create the test database");
        }
        database
    }

    fn initdb(&self) {
        let mut initdb = Command::new(self.bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(self.dir.join("data"))
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .current_dir(&self.dir);
        if let Some((uid, gid)) = self.run_as {
            initdb.uid(uid).gid(gid);
        }
        let output = initdb.output().expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn launch(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        assert!(running.is_none(), "the server is already running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("server log");
        let listen_addresses = match self.listen {
            Listen::TcpAndSocket => "127.0.0.1",
            Listen::SocketOnly => "",
        };
        let mut postgres = Command::new(self.bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg(format!("listen_addresses={listen_addresses}"))
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            // A throwaway server: durability only costs time.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=100"])
            .args(self.tls_options())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("server log"))
            .stderr(log)
            .current_dir(&self.dir);
        if let Some((uid, gid)) = self.run_as {
            postgres.uid(uid).gid(gid);
        }
        // SAFETY: pre_exec's closure runs in the child between fork and
        // exec (after the uid change, which would clear the setting); it
        // makes one async-signal-safe system call (prctl) and allocates nothing.
        unsafe {
            postgres.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(Signal::QUIT))?;
                Ok(())
            });
        }
        let exited = Arc::new(AtomicBool::new(false));
        let (started, pid) = mpsc::channel();
        let keeper_exited = exited.clone();
        std::thread::Builder::new()
            .name("postgres-keeper".into())
            .spawn(move || match postgres.spawn() {
                Ok(mut child) => {
                    let _ = started.send(Ok(child.id()));
                    let _ = child.wait();
                    keeper_exited.store(true, Ordering::SeqCst);
                }
                Err(e) => {
                    let _ = started.send(Err(e));
                }
            })
            .expect("spawn the keeper thread");
        let pid = pid
            .recv()
            .expect("the keeper thread answers")
            .unwrap_or_else(|e| panic!("cannot run {}/postgres: {e}", self.bin.display()));
        *running = Some(Running {
            pid,
            exited: exited.clone(),
        });
        drop(running);
        self.wait_ready(&exited);
    }

    /// postmaster.pid's 8th line says "ready" once connections are accepted.
    fn wait_ready(&self, exited: &AtomicBool) {
        let pid_file = self.dir.join("data/postmaster.pid");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if status.lines().nth(7).map(str::trim) == Some("ready") {
                return;
            }
            assert!(
                !exited.load(Ordering::SeqCst),
                "PostgreSQL exited while starting:\n{}",
                self.log()
            );
            assert!(
                Instant::now() < deadline,
                "PostgreSQL not ready within 60s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `ssl=on` and its files, when the server has TLS.
    fn tls_options(&self) -> Vec<String> {
        if !self.tls {
            return Vec::new();
        }
        let file = |name: &str| self.dir.join(name).display().to_string();
        vec![
            "-c".into(),
            "ssl=on".into(),
            "-c".into(),
            format!("ssl_cert_file={}", file("server.crt")),
            "-c".into(),
            format!("ssl_key_file={}", file("server.key")),
        ]
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One test's database in a server.
pub struct TestDatabase {
    pub name: String,
    /// The database's owner: it may write everything in it, which makes
    /// "gatehouse wrote nothing" mean something.
    pub owner: String,
    pub password: String,
    pub port: u16,
    pub socket_dir: PathBuf,
}

impl TestDatabase {
    /// `postgres://owner:password@127.0.0.1:port/name`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{}",
            self.owner, self.password, self.port, self.name
        )
    }

    /// The same over the unix socket: `postgres://owner@/name?host=DIR&port=PORT`.
    pub fn socket_url(&self) -> String {
        format!(
            "postgres://{}@/{}?host={}&port={}",
            self.owner,
            self.name,
            self.socket_dir.display(),
            self.port
        )
    }

    /// The owner's connection (over the socket), for setup and checks.
    pub async fn connect(&self) -> tokio_postgres::Client {
        connect(
            tokio_postgres::Config::new()
                .host_path(&self.socket_dir)
                .port(self.port)
                .user(&self.owner)
                .dbname(&self.name),
        )
        .await
    }
}

async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config.connect(NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}

/// Where postgres and initdb are (`infra::postgres_bin`). Panics (failing
/// the test) when there are none.
pub fn bin_dir() -> PathBuf {
    gatehouse::infra::postgres_bin::find().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no postgres and initdb on PATH or in \
             /usr/lib/postgresql/*/bin): run scripts/install-postgres"
        )
    })
}

/// The `postgres` user's uid and gid when we are root, else None.
fn postgres_user_if_root() -> Option<(u32, u32)> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    // SAFETY: getpwnam's result is read at once, before any other call
    // that could overwrite it (std and rustix have no user lookup).
    unsafe {
        let name = CString::new("postgres").expect("no NUL");
        let entry = libc::getpwnam(name.as_ptr());
        assert!(
            !entry.is_null(),
            "running as root, and PostgreSQL refuses to run as root, but there is no \
             `postgres` user to run it as: run scripts/install-postgres (the package creates it)"
        );
        Some(((*entry).pw_uid, (*entry).pw_gid))
    }
}

/// Dirs of servers whose test process is gone (killed before its exit
/// handler ran); their servers died with it.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
