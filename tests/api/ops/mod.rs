//! Running gatehouse in production: the systemd unit (`systemd`), sd_notify,
//! the data dir lock and bounded graceful shutdown (`serve`), backup and
//! restore (`backup`), `doctor`, and the Debian package and release
//! tarball (`package`).

mod backup;
mod doctor;
mod package;
mod serve;
mod systemd;

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use crate::helpers::binary;
use gatehouse::config::Config;

/// The binary with `args` and only `env`, run from the repository.
fn command(args: &[&str], env: &[(String, String)]) -> Command {
    let env = env.iter().map(|(key, value)| (key, value));
    binary::command(args, env, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Runs a CLI command to completion off the async executor.
pub(crate) async fn run(args: &[&str], env: &[(String, String)]) -> Output {
    let mut command = command(args, env);
    tokio::task::spawn_blocking(move || command.output().expect("run gatehouse"))
        .await
        .unwrap()
}

pub(crate) fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `gatehouse serve` as a child process; SIGKILLed if the test fails.
/// `gatehouse serve` as a child process, its output (logs included) kept
/// in a file for a failing test to show.
struct Served(Child, tempfile::NamedTempFile);

impl Served {
    fn start(env: &[(String, String)], extra: &[(&str, &str)]) -> Served {
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let child = command(&["serve"], env)
            .envs(extra.iter().copied())
            .stdout(log.reopen().expect("the log for stdout"))
            .stderr(log.reopen().expect("the log for stderr"))
            .spawn()
            .expect("start gatehouse serve");
        Served(child, log)
    }

    /// What the process printed so far.
    fn output(&self) -> String {
        std::fs::read_to_string(self.1.path()).unwrap_or_default()
    }

    fn sigterm(&self) {
        crate::helpers::process::send_signal(self.0.id(), rustix::process::Signal::TERM);
    }

    /// Waits for exit, at most `limit` (a "does not hang" bound).
    async fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gatehouse did not exit within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn fresh_config(dir: &Path) -> Config {
    crate::helpers::test_config(dir.join("data"))
}

fn set_env(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_string(), value.to_string()));
}
