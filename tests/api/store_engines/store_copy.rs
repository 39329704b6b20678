//! `gatehouse store copy`: an appliance's people, passkeys and
//! authenticator apps into a PostgreSQL database, with the binary; a
//! second copy is refused; the person then signs in on an instance on that
//! database, as the same subject.

use gatehouse::config::{Secret, Signup};
use gatehouse::store::{credentials, passkeys, Store};

use super::two_apps::copy_secrets;
use crate::helpers::binary::command;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::verify_jwt;
use crate::helpers::postgres;
use crate::helpers::world::{trusted, World};

const PHONE: &str = "+12015550195";

async fn subject_after_sign_in(world: &World) -> String {
    let client = world.client(trusted()).await;
    let tokens = world
        .sign_in(&HttpBrowser::new(), &client, PHONE, "openid", false)
        .await;
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let claims = verify_jwt(&world.app, id_token, None).await;
    claims["sub"].as_str().unwrap().to_string()
}

fn passkey(subject: &str) -> passkeys::StoredPasskey {
    passkeys::StoredPasskey {
        credential_id: vec![7, 7, 7],
        subject: subject.into(),
        user_handle: vec![1; 16],
        name: "laptop".into(),
        passkey: "{\"cred\":{}}".into(),
        counter: 3,
        transports: "[\"internal\"]".into(),
        created_at: 1_800_000_000,
        last_used_at: None,
    }
}

fn app_credential(subject: &str) -> credentials::TotpCredential {
    credentials::TotpCredential {
        id: "a1b2".into(),
        subject: subject.into(),
        name: "phone app".into(),
        secret_sealed: vec![9; 40],
        confirmed: true,
        last_step: 42,
        created_at: 1_800_000_000,
        last_used_at: Some(1_800_000_100),
    }
}

fn copy(from: &str, to: &str, dir: &std::path::Path) -> (bool, String) {
    let env: [(&str, &str); 0] = [];
    let output = command(&["store", "copy", "--from", from, "--to", to], env, dir)
        .output()
        .expect("run gatehouse");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output.status.success(), stderr)
}

#[tokio::test]
async fn people_and_their_methods_move_to_postgresql_and_sign_in_there() {
    // The appliance, on its SQLite file: the person signs in (and is created).
    let appliance = World::with(|config| {
        let file = config.data_dir.join("gatehouse.sqlite");
        config.database.url = Some(Secret::new(format!("sqlite://{}", file.display())));
    })
    .await;
    let subject = subject_after_sign_in(&appliance).await;
    let file = appliance.app.config.data_dir.join("gatehouse.sqlite");
    let local = Store::open(&file).unwrap();
    let (key, app) = (passkey(&subject), app_credential(&subject));
    let (k, a, s) = (key.clone(), app.clone(), subject.clone());
    // As the appliance has them (a new app is stored unconfirmed).
    let (key, app) = local
        .run(move |db| {
            passkeys::user_handle(db, &s, &k.user_handle)?;
            passkeys::add(db, &k)?;
            credentials::add_totp(db, &a)?;
            Ok((passkeys::of(db, &s)?, credentials::totp_of(db, &s)?))
        })
        .await
        .unwrap();
    assert_eq!((key.len(), app.len()), (1, 1));

    let target = postgres::shared().database().await;
    let from = format!("sqlite://{}", file.display());
    let dir = tempfile::tempdir().unwrap();
    let (ok, said) = copy(&from, &target.url(), dir.path());
    assert!(ok, "{said}");
    for words in [
        "copied 1 people, 1 passkey user handles, 1 passkeys, 1 authenticator apps",
        "not copied: sign-in codes, rate limits",
        "data_dir/secrets/",
    ] {
        assert!(said.contains(words), "{words}: {said}");
    }
    assert!(!said.contains(&target.password), "no password: {said}");

    // Again: refused, nothing written.
    let (ok, said) = copy(&from, &target.url(), dir.path());
    assert!(!ok, "{said}");
    assert!(
        said.contains("already holds 1 people, 1 passkey user handles")
            && said.contains("nothing was written"),
        "{said}"
    );
    let (ok, said) = copy("sqlite:///nowhere/g.sqlite", &target.url(), dir.path());
    assert!(
        !ok && said.contains("--from") && said.contains("does not exist"),
        "{said}"
    );

    let cluster_store = {
        let location = gatehouse::config::DatabaseLocation::from_url(&target.url()).unwrap();
        tokio::task::spawn_blocking(move || Store::open_at(&location, 1))
            .await
            .unwrap()
            .unwrap()
    };
    let s = subject.clone();
    let (keys, apps) = cluster_store
        .run(move |db| Ok((passkeys::of(db, &s)?, credentials::totp_of(db, &s)?)))
        .await
        .unwrap();
    assert_eq!(keys, key);
    assert_eq!(apps, app);

    // An instance on the cluster database, with the appliance's secrets;
    // only people already there may sign in.
    let appliance_dir = appliance.app.config.data_dir.clone();
    let cluster = World::with(|config| {
        copy_secrets(&appliance_dir, &config.data_dir);
        config.database.url = Some(Secret::new(target.url()));
        config.users.signup = Signup::Closed;
    })
    .await;
    assert_eq!(subject_after_sign_in(&cluster).await, subject);
    cluster.app.stop().await;
    appliance.app.stop().await;
}
