//! Which of Hydra's own migrations a database holds, as Hydra itself says
//! (`hydra migrate sql status`): for `doctor` on `hydra.dsn`, reading only.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;

/// How many of Hydra's migrations are applied to the database, and how many
/// this Hydra binary knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationState {
    pub applied: usize,
    pub known: usize,
}

impl MigrationState {
    pub fn current(&self) -> bool {
        self.applied == self.known
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationStateError {
    #[error("cannot run `{binary} migrate sql status`: {source}")]
    Run {
        binary: String,
        source: std::io::Error,
    },
    #[error("`{binary} migrate sql status` did not answer within {timeout:?}")]
    Timeout { binary: String, timeout: Duration },
    #[error("`{binary} migrate sql status` failed: {last_line}")]
    Failed { binary: String, last_line: String },
}

#[derive(Deserialize)]
struct Migration {
    state: String,
}

/// Runs `binary migrate sql status` on `dsn` (handed over in the
/// environment, never in the arguments, which every user can read) and
/// counts the applied migrations. Hydra retries a connection that fails,
/// so check that the database answers first.
pub async fn migration_state(
    binary: &Path,
    dsn: &str,
    timeout: Duration,
) -> Result<MigrationState, MigrationStateError> {
    let name = binary.display().to_string();
    let mut command = tokio::process::Command::new(binary);
    command
        .args([
            "migrate",
            "sql",
            "status",
            "--read-from-env",
            "--format",
            "json",
        ])
        .env_clear()
        .envs(std::env::vars().filter(|(k, _)| matches!(k.as_str(), "PATH" | "HOME" | "TZ")))
        .env("DSN", dsn)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(timeout, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(source)) => {
            return Err(MigrationStateError::Run {
                binary: name,
                source,
            })
        }
        Err(_) => {
            return Err(MigrationStateError::Timeout {
                binary: name,
                timeout,
            })
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    match (output.status.success(), parse(&stdout)) {
        (true, Some(state)) => Ok(state),
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last_line = stderr.lines().chain(stdout.lines()).last().unwrap_or("");
            Err(MigrationStateError::Failed {
                binary: name,
                last_line: last_line.chars().take(300).collect(),
            })
        }
    }
}

/// The JSON list `--format json` prints: one object per migration.
fn parse(stdout: &str) -> Option<MigrationState> {
    let list = stdout.lines().find(|line| line.starts_with('['))?;
    let migrations: Vec<Migration> = serde_json::from_str(list).ok()?;
    Some(MigrationState {
        applied: migrations.iter().filter(|m| m.state == "Applied").count(),
        known: migrations.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_applied_migrations() {
        let out = "[{\"state\":\"Applied\",\"version\":\"1\",\"name\":\"a\",\"content\":\"\"},\
                   {\"state\":\"Pending\",\"version\":\"2\",\"name\":\"b\",\"content\":\"\"}]\n";
        let state = parse(out).unwrap();
        assert_eq!(
            state,
            MigrationState {
                applied: 1,
                known: 2
            }
        );
        assert!(!state.current());
        assert!(parse("time=... level=error msg=no\n").is_none());
    }

    #[tokio::test]
    async fn a_missing_binary_is_named() {
        let err = migration_state(
            Path::new("/nonexistent/hydra"),
            "postgres://h@127.0.0.1/h",
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/hydra"), "{err}");
    }
}
