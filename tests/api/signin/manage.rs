//! Managing sign-in methods: the operator's `gatehouse users methods`
//! lists a person's apps and passkeys and removes a lost one, recorded in
//! the audit trail.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::audit::audit_rows;
use crate::helpers::binary::run_with_config_file;
use crate::helpers::world::World;
use crate::signin::methods::{app_code, now};
use gatehouse::config::LoginMethod;
use gatehouse::store::passkeys::{self, StoredPasskey};
use gatehouse::store::users::Profile;

pub(crate) async fn world() -> World {
    World::with(|config| {
        config.login.methods = vec![LoginMethod::Sms, LoginMethod::Totp, LoginMethod::Passkey];
    })
    .await
}

/// A person with a confirmed authenticator app; their id, the app's id
/// and its key (base32).
pub(crate) async fn with_app(world: &World, phone: &str) -> (String, String, String) {
    let user = world.app.add_user(phone, Profile::default()).await;
    let totp = &world.app.state.methods.totp;
    let new = totp.start(&user.id).await.unwrap();
    let code = app_code(&new.secret_base32, now() - 30);
    totp.confirm(&user.id, &new.id, &code).await.unwrap();
    (user.id, new.id, new.secret_base32)
}

/// Gives `subject` a passkey row named `name`; its listed id.
pub(crate) async fn with_passkey(world: &World, subject: &str, name: &str) -> String {
    let credential_id = format!("{subject}-{name}").into_bytes();
    let stored = StoredPasskey {
        credential_id: credential_id.clone(),
        subject: subject.to_string(),
        user_handle: vec![7; 16],
        name: name.into(),
        passkey: "{}".into(),
        counter: 3,
        transports: "[\"usb\"]".into(),
        created_at: now() as i64,
        last_used_at: Some(now() as i64),
    };
    let store = world.app.store();
    let (id, used_at) = (credential_id.clone(), now() as i64);
    let added = store.run(move |db| {
        let added = passkeys::add(db, &stored)?;
        // Used once since (`add` stores none).
        passkeys::used(db, &id, 3, "{}", 4, used_at)?;
        Ok(added)
    });
    assert!(added.await.unwrap());
    URL_SAFE_NO_PAD.encode(credential_id)
}

#[tokio::test]
async fn an_operator_lists_passkeys_and_removes_a_lost_one_into_the_audit_trail() {
    let world = world().await;
    let phone = "+12015550601";
    let (subject, app, _) = with_app(&world, phone).await;
    let key = with_passkey(&world, &subject, "YubiKey").await;
    let other = world.app.add_user("+12015550602", Profile::default()).await;
    let theirs = with_passkey(&world, &other.id, "Theirs").await;
    let config = &world.app.config;

    let listed = run_with_config_file(config, &["users", "methods", "--phone", phone]).await;
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8(listed.stdout).unwrap();
    let line = listed
        .lines()
        .find(|line| line.starts_with(&key))
        .unwrap_or_else(|| panic!("the passkey by its id: {listed}"));
    assert!(line.contains(" passkey "), "{line}");
    assert!(line.contains("YubiKey"), "{line}");
    assert!(!line.ends_with("never"), "last used: {line}");
    assert!(listed.contains(&app), "{listed}");
    assert!(!listed.contains(&theirs), "only this person's: {listed}");

    // Another person's passkey is not theirs to remove by this number.
    let crossed = ["users", "methods", "--phone", phone, "--remove", &theirs];
    let refused = run_with_config_file(config, &crossed).await;
    assert!(!refused.status.success());
    let left = world.app.store();
    let other_id = other.id.clone();
    let kept = left.run(move |db| passkeys::of(db, &other_id)).await;
    assert_eq!(kept.unwrap().len(), 1);

    // The lost key: removed, and the trail says who lost what.
    let remove = ["users", "methods", "--phone", phone, "--remove", &key];
    let removed = run_with_config_file(config, &remove).await;
    assert!(removed.status.success(), "{removed:?}");
    let owner = subject.clone();
    let keys = left.run(move |db| passkeys::of(db, &owner)).await.unwrap();
    assert!(keys.is_empty());
    // The app, too (an operator may remove the last one: it is lost).
    let remove = ["users", "methods", "--phone", phone, "--remove", &app];
    let removed = run_with_config_file(config, &remove).await;
    assert!(removed.status.success(), "{removed:?}");

    let rows = audit_rows(config).await;
    let removals: Vec<_> = rows
        .iter()
        .filter(|row| row["kind"] == "method_removed")
        .collect();
    assert_eq!(removals.len(), 2, "{rows:?}");
    for (row, method) in removals.iter().zip(["passkey", "totp"]) {
        assert_eq!(row["subject"], subject.as_str());
        assert_eq!(row["method"], method);
        assert_eq!(row["result"], "ok");
        assert_eq!(row["reason"], "operator");
    }
}
