//! `gatehouse backup` while people sign in, and `gatehouse restore`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{run, set_env, text};
use crate::helpers::binary::env_for;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::Client;
use crate::helpers::world::{trusted, World};
use crate::helpers::TestApp;
use serde_json::Value;

/// People signing in, one after the other, with a client of their own.
struct SignIns {
    world: World,
    client: Client,
}

impl SignIns {
    /// The code flow for `phone` up to the token response.
    async fn sign_in(&self, phone: &str) -> Value {
        let scope = "openid offline_access";
        self.world
            .sign_in(&HttpBrowser::new(), &self.client, phone, scope, false)
            .await
    }
}

fn phone(n: usize) -> String {
    format!("+1201555{:04}", 100 + n)
}

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn backup_during_sign_ins_restores_users_and_refresh_tokens() {
    let world = World::with(|config| config.otp.max_per_ip_per_hour = 1000).await;
    let client = world.client(trusted()).await;
    let sign_ins = Arc::new(SignIns { world, client });
    let before = sign_ins.sign_in(&phone(0)).await;
    let refresh_token = before["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();

    // A stream of sign-ins, each a new user, while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn({
        let (sign_ins, stop, done) = (sign_ins.clone(), stop.clone(), done.clone());
        async move {
            let mut n = 1;
            while !stop.load(Ordering::SeqCst) && n < 90 {
                sign_ins.sign_in(&phone(n)).await;
                done.fetch_add(1, Ordering::SeqCst);
                n += 1;
            }
        }
    });
    let counter = done.clone();
    crate::helpers::eventually(Duration::from_secs(60), "sign-ins are flowing", || {
        counter.load(Ordering::SeqCst) >= 2
    })
    .await;

    let out = tempfile::tempdir().unwrap();
    let backup_dir = out.path().join("backup");
    let env = env_for(&sign_ins.world.app.config);
    let started = Instant::now();
    let output = run(&["backup", backup_dir.to_str().unwrap()], &env).await;
    let backup_time = started.elapsed();
    assert!(output.status.success(), "{}", text(&output));
    let during = done.load(Ordering::SeqCst);
    crate::helpers::eventually(
        Duration::from_secs(60),
        "sign-ins went on after the backup",
        || counter.load(Ordering::SeqCst) > during,
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    stream.await.expect("sign-in stream");
    eprintln!(
        "backup took {backup_time:?} while signing in: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );

    // Files are private; the manifest names versions and checksums.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&backup_dir), 0o700);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for expected in [
        "gatehouse.sqlite",
        "hydra/hydra.sqlite",
        "secrets/hydra-system.secret",
        "secrets/otp.secret",
    ] {
        assert!(
            files.contains(&expected),
            "{expected} missing from {files:?}"
        );
    }
    for file in files.iter().chain(["manifest.json"].iter()) {
        assert_eq!(mode(&backup_dir.join(file)), 0o600, "{file}");
    }
    assert_eq!(manifest["gatehouse_version"], env!("CARGO_PKG_VERSION"));
    assert!(manifest["schema_version"].as_i64().unwrap() >= 1);
    assert!(manifest["created_at"].is_string());

    // Restoring onto the running gatehouse's data dir is refused.
    let output = run(&["restore", "--force", backup_dir.to_str().unwrap()], &env).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("in use by a running gatehouse"),
        "{}",
        text(&output)
    );

    // A tampered copy is refused, naming the file.
    let tampered = out.path().join("tampered");
    copy_dir(&backup_dir, &tampered);
    let secret = tampered.join("secrets/otp.secret");
    let mut bytes = std::fs::read(&secret).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&secret, bytes).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let mut fresh_env = env.clone();
    set_env(
        &mut fresh_env,
        "GATEHOUSE_DATA_DIR",
        fresh.path().to_str().unwrap(),
    );
    let output = run(&["restore", tampered.to_str().unwrap()], &fresh_env).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("secrets/otp.secret"), "{stderr}");
    assert!(stderr.contains("checksum"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Restore into a fresh data dir and start there with the same issuer.
    let output = run(&["restore", backup_dir.to_str().unwrap()], &fresh_env).await;
    assert!(output.status.success(), "{}", text(&output));
    for db in ["gatehouse.sqlite", "hydra/hydra.sqlite"] {
        assert_eq!(integrity(&fresh.path().join(db)), "ok", "{db}");
        assert_eq!(mode(&fresh.path().join(db)), 0o600, "{db}");
    }
    // The restored data dir refuses another restore unless forced.
    let output = run(&["restore", backup_dir.to_str().unwrap()], &fresh_env).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--force"));

    let sign_ins = Arc::try_unwrap(sign_ins).ok().expect("no other owner");
    let SignIns {
        world: World { app, sms, .. },
        client,
    } = sign_ins;
    let mut config = app.config.clone();
    app.stop().await;
    config.data_dir = fresh.path().to_path_buf();
    let restored = TestApp::start(config, fresh).await;

    let users = restored
        .store()
        .run(|conn| gatehouse::store::users::list(conn))
        .await
        .unwrap();
    let phones: Vec<String> = users.iter().map(|u| u.phone.clone()).collect();
    for n in 0..during.min(2) {
        assert!(
            phones.contains(&phone(n)),
            "{} missing from {phones:?}",
            phone(n)
        );
    }
    assert!(users.len() > during.min(2), "{phones:?}");

    let (status, refreshed) = client.refresh(&restored, &refresh_token).await;
    assert_eq!(
        status, 200,
        "refresh token from before the backup: {refreshed}"
    );
    assert!(refreshed["access_token"].is_string());
    drop(sms);
    restored.stop().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn backup_and_restore_refuse_a_postgresql_database_and_name_pg_dump() {
    let data = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(data.path().to_path_buf());
    config.database.url = Some(gatehouse::config::Secret::new(
        "postgres://g:pw@127.0.0.1:1/g",
    ));
    let target = data.path().join("backup");
    let refused = gatehouse::cli::backup::backup(&config, &target)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("pg_dump") && refused.contains("database.url"),
        "{refused}"
    );
    assert!(
        !refused.contains("pw@"),
        "the password stays out: {refused}"
    );
    assert!(!target.exists(), "nothing was written");
    let refused = gatehouse::cli::backup::restore(&config, &target, true)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("pg_dump") && refused.contains("restore"),
        "{refused}"
    );
}

#[test]
fn backup_and_restore_refuse_a_supervised_hydra_on_postgresql_naming_hydra_dsn() {
    let data = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(data.path().to_path_buf());
    config.hydra.dsn = Some(gatehouse::config::Secret::new(
        "postgres://h:hydrapw@127.0.0.1:1/hydra",
    ));
    let target = data.path().join("backup");
    for refused in [
        gatehouse::cli::backup::backup(&config, &target),
        gatehouse::cli::backup::restore(&config, &target, true),
    ] {
        let refused = refused.unwrap_err().to_string();
        assert!(
            refused.contains("pg_dump") && refused.contains("hydra.dsn"),
            "{refused}"
        );
        assert!(!refused.contains("hydrapw"), "{refused}");
    }
    assert!(!target.exists(), "nothing was written");
}
