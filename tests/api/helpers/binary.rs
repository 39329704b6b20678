//! The real `gatehouse` binary, run as an operator would: configured by
//! environment variables or by a config file, never by the test's own
//! environment.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use gatehouse::config::{Config, SmsSenderKind};

pub const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse");

/// Environment that points the binary at `config` (data dir, ports, Hydra,
/// the SMS webhook).
pub fn env_for(config: &Config) -> Vec<(String, String)> {
    let mut env = vec![
        ("GATEHOUSE_DATA_DIR", config.data_dir.display().to_string()),
        ("GATEHOUSE_SERVER__LISTEN", config.server.listen.to_string()),
        (
            "GATEHOUSE_SERVER__PUBLIC_URL",
            config.server.public_url.to_string(),
        ),
        (
            "GATEHOUSE_HYDRA__BINARY",
            config.hydra.binary.display().to_string(),
        ),
        (
            "GATEHOUSE_HYDRA__PUBLIC_PORT",
            config.hydra.public_port.to_string(),
        ),
        (
            "GATEHOUSE_HYDRA__ADMIN_PORT",
            config.hydra.admin_port.to_string(),
        ),
        ("GATEHOUSE_LOG__LEVEL", "warn".to_string()),
        // As `test_config`: the SMS sign-in alone, straight back to Hydra.
        ("GATEHOUSE_LOGIN__METHODS", "[\"sms\"]".to_string()),
    ];
    if let SmsSenderKind::Webhook { url } = &config.sms.sender {
        env.push(("GATEHOUSE_SMS__SENDER", "webhook".into()));
        env.push(("GATEHOUSE_SMS__WEBHOOK__URL", url.to_string()));
        env.push(("GATEHOUSE_SMS__POLICY__ALLOWED_COUNTRIES", "[\"*\"]".into()));
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The binary with `args`, only `env` (and PATH) in its environment, in `dir`.
pub fn command<K, V>(args: &[&str], env: impl IntoIterator<Item = (K, V)>, dir: &Path) -> Command
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    wrapped_command(&[], args, env, dir)
}

/// Like [`command`], started through `wrapper` (a program and its
/// arguments that runs the binary, e.g. `prlimit --nofile=...`).
pub fn wrapped_command<K, V>(
    wrapper: &[&str],
    args: &[&str],
    env: impl IntoIterator<Item = (K, V)>,
    dir: &Path,
) -> Command
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut command = match wrapper.split_first() {
        Some((program, wrapper_args)) => {
            let mut command = Command::new(program);
            command.args(wrapper_args).arg(BINARY);
            command
        }
        None => Command::new(BINARY),
    };
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .current_dir(dir)
        .stdin(Stdio::null());
    command
}

/// Runs the binary with a config file for `config` (its data dir and ports),
/// written into the data dir; no `GATEHOUSE_*` variable of the test's
/// environment reaches it.
pub async fn run_with_config_file(config: &Config, args: &[&str]) -> Output {
    let listen = config.server.listen;
    let mut file = format!(
        "data_dir = {:?}\n[server]\nlisten = \"{listen}\"\npublic_url = \"{}\"\n\
         [hydra]\npublic_port = {}\nadmin_port = {}\n",
        config.data_dir.display().to_string(),
        config.server.public_url,
        config.hydra.public_port,
        config.hydra.admin_port,
    );
    if let Some(url) = &config.database.url {
        file.push_str(&format!("[database]\nurl = {:?}\n", url.expose()));
    }
    let path = config.data_dir.join("cli-config.toml");
    std::fs::write(&path, file).unwrap();
    let mut command = tokio::process::Command::new(BINARY);
    command
        .arg("--config")
        .arg(&path)
        .args(args)
        .current_dir(&config.data_dir)
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GATEHOUSE_") {
            command.env_remove(key);
        }
    }
    command.output().await.expect("run gatehouse")
}
