//! Secrets read from `<key>_file`, and the list of secret keys kept whole.

use super::*;
use crate::config::tests::{error_for, from_toml};
use crate::config::{Config, DirectoryKind, SmsSenderKind};

/// A config.toml that sets one secret through `<key>_file = PATH`.
fn with_file(key: &str, path: &Path) -> String {
    let path = path.display();
    let webhook = "[sms]\nsender = \"webhook\"\n[sms.policy]\nallowed_countries = [\"*\"]\n\
                   [sms.webhook]\nurl = \"http://127.0.0.1:9/sms\"\n";
    let closed = "[users]\nsignup = \"closed\"\n";
    let provider = key.split('.').nth(1).unwrap_or_default();
    let policy =
        format!("[sms]\nsender = \"{provider}\"\n[sms.policy]\nallowed_countries = [\"*\"]\n");
    let client = "[[headless.clients]]\nclient_id = \"app\"\n\
                  redirect_uri = \"https://app.example/cb\"\nscope = \"openid\"\n";
    match key {
        "sms.webhook.bearer_token" => format!("{webhook}bearer_token_file = \"{path}\"\n"),
        "sms.webhook.hmac_secret" => format!("{webhook}hmac_secret_file = \"{path}\"\n"),
        "sms.twilio.auth_token" => format!(
            "{policy}[sms.twilio]\naccount_sid = \"AC0123\"\nfrom = \"+15005550006\"\n\
             auth_token_file = \"{path}\"\n"
        ),
        "sms.vonage.api_secret" => format!(
            "{policy}[sms.vonage]\napi_key = \"k\"\nfrom = \"Gatehouse\"\n\
             api_secret_file = \"{path}\"\n"
        ),
        "sms.vonage.signature_secret" => format!(
            "{policy}[sms.vonage]\napi_key = \"k\"\nfrom = \"Gatehouse\"\n\
             api_secret = \"s\"\ndelivery_receipts = true\nsignature_secret_file = \"{path}\"\n"
        ),
        "sms.messagebird.access_key" => format!(
            "{policy}[sms.messagebird]\noriginator = \"Gatehouse\"\n\
             access_key_file = \"{path}\"\n"
        ),
        "sms.aws_sns.secret_access_key" => format!(
            "{policy}[sms.aws_sns]\nregion = \"eu-west-1\"\naccess_key_id = \"AKID\"\n\
             secret_access_key_file = \"{path}\"\n"
        ),
        "directory.http.auth_value" => format!(
            "{closed}[directory]\nkind = \"http\"\n[directory.http]\n\
             base_url = \"http://u/\"\nauth_header = \"X-Key\"\nauth_value_file = \"{path}\"\n"
        ),
        "database.url" => format!("[database]\nurl_file = \"{path}\"\n"),
        "hydra.dsn" => format!("[hydra]\ndsn_file = \"{path}\"\n"),
        "directory.sql.url" => format!(
            "{closed}[directory]\nkind = \"sql\"\n[directory.sql]\nurl_file = \"{path}\"\n\
             by_phone = \"SELECT 1 WHERE $1 = ''\"\nby_id = \"SELECT 1 WHERE $1 = ''\"\n"
        ),
        "otp.http.auth_token" => format!(
            "[otp]\nissuer = \"http\"\n[otp.http]\nurl = \"https://codes.internal/\"\n\
             auth_token_file = \"{path}\"\n"
        ),
        "otp.twilio_verify.auth_token" => format!(
            "[otp]\nissuer = \"twilio_verify\"\n[otp.twilio_verify]\naccount_sid = \"AC1\"\n\
             service_sid = \"VA1\"\nauth_token_file = \"{path}\"\n"
        ),
        "headless.clients.*.client_secret" => {
            format!("{client}client_secret_file = \"{path}\"\n")
        }
        "headless.token_exchange.bearer_token" => {
            format!("[headless.token_exchange]\nbearer_token_file = \"{path}\"\n")
        }
        "bot_challenge.secret_key" => format!(
            "[bot_challenge]\nkind = \"turnstile\"\nsite_key = \"site\"\n\
             secret_key_file = \"{path}\"\n"
        ),
        other => panic!("no test configuration for {other}: add one"),
    }
}

/// The value `config` holds for the secret `key`.
fn secret_of(config: &Config, key: &str) -> String {
    let webhook = &config.sms.webhook;
    let exposed = |s: &Option<crate::config::Secret>| s.as_ref().unwrap().expose().to_string();
    match (key, &config.directory.kind) {
        ("sms.webhook.bearer_token", _) => exposed(&webhook.bearer_token),
        ("sms.webhook.hmac_secret", _) => exposed(&webhook.hmac_secret),
        ("sms.twilio.auth_token", _)
        | ("sms.vonage.api_secret", _)
        | ("sms.messagebird.access_key", _)
        | ("sms.aws_sns.secret_access_key", _) => match &config.sms.sender {
            SmsSenderKind::Twilio(c) => c.auth_token.expose().to_string(),
            SmsSenderKind::Vonage(c) => c.api_secret.expose().to_string(),
            SmsSenderKind::MessageBird(c) => c.access_key.expose().to_string(),
            SmsSenderKind::AwsSns(c) => c.secret_access_key.expose().to_string(),
            other => panic!("not a provider: {other:?}"),
        },
        ("sms.vonage.signature_secret", _) => match &config.sms.sender {
            SmsSenderKind::Vonage(c) => {
                let receipts = c.delivery_receipts.as_ref().unwrap();
                receipts.signature_secret.expose().to_string()
            }
            other => panic!("not Vonage: {other:?}"),
        },
        ("directory.http.auth_value", DirectoryKind::Http(service)) => {
            let auth = service.auth.as_ref().unwrap();
            auth.value.to_str().unwrap().to_string()
        }
        ("database.url", _) => exposed(&config.database.url),
        ("hydra.dsn", _) => exposed(&config.hydra.dsn),
        ("directory.sql.url", DirectoryKind::Sql(database)) => database.url.expose().to_string(),
        ("otp.http.auth_token", _) => exposed(&config.otp.http.auth_token),
        ("otp.twilio_verify.auth_token", _) => exposed(&config.otp.twilio_verify.auth_token),
        ("headless.clients.*.client_secret", _) => config.headless.clients[0]
            .client_secret
            .expose()
            .to_string(),
        ("headless.token_exchange.bearer_token", _) => {
            exposed(&config.headless.token_exchange.bearer_token)
        }
        ("bot_challenge.secret_key", _) => match &config.bot_challenge.kind {
            crate::config::BotChallengeKind::Captcha(captcha) => {
                captcha.secret_key.expose().to_string()
            }
            other => panic!("not a captcha: {other:?}"),
        },
        (other, _) => panic!("no reader for {other}"),
    }
}

#[test]
fn every_secret_key_is_read_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    for (i, key) in SECRET_KEYS.iter().enumerate() {
        let value = match *key {
            "directory.sql.url" => format!("sqlite:///tmp/users-{i}.db"),
            "database.url" => format!("postgres://g:pw-SECRET-{i}@db.example/g"),
            "hydra.dsn" => format!("postgres://h:pw-SECRET-{i}@db.example/h?sslmode=verify-full"),
            _ => format!("value-SECRET-{i}"),
        };
        let path = dir.path().join(format!("secret-{i}"));
        std::fs::write(&path, format!("{value}\n")).unwrap();
        let config = from_toml(&with_file(key, &path)).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(secret_of(&config, key), value, "{key}");
        let named = key.replace('*', "0");
        assert_eq!(
            config.secrets.files,
            [SecretFile { key: named, path }],
            "{key}"
        );
        let printed = config.to_toml();
        assert!(!printed.contains(&value), "{key} printed: {printed}");
    }
}

#[test]
fn a_secret_given_both_ways_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "from-file").unwrap();
    let toml = format!(
        "[sms.webhook]\nbearer_token = \"inline\"\nbearer_token_file = \"{}\"\n",
        path.display()
    );
    let err = error_for(&toml);
    assert!(err.contains("`sms.webhook.bearer_token`"), "{err}");
    assert!(err.contains("sms.webhook.bearer_token_file"), "{err}");

    let client = format!(
        "[[headless.clients]]\nclient_id = \"a\"\nclient_secret = \"x\"\n\
         client_secret_file = \"{}\"\nredirect_uri = \"https://a/cb\"\nscope = \"openid\"\n",
        path.display()
    );
    let err = error_for(&client);
    assert!(err.contains("`headless.clients.0.client_secret`"), "{err}");

    // One way in the file, the other in the environment: still twice.
    figment::Jail::expect_with(|jail| {
        jail.create_file("config.toml", "[sms.webhook]\nhmac_secret = \"inline\"\n")?;
        jail.set_env("GATEHOUSE_SMS__WEBHOOK__HMAC_SECRET_FILE", path.display());
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("`sms.webhook.hmac_secret`"), "{err}");
        Ok(())
    });
}

#[test]
fn a_bad_secret_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let missing = dir.path().join("missing");
    for (path, problem) in [
        (missing.display().to_string(), "cannot read"),
        (empty.display().to_string(), "is empty"),
        (dir.path().display().to_string(), "not a regular file"),
    ] {
        let toml = format!("[sms.webhook]\nhmac_secret_file = \"{path}\"\n");
        let err = error_for(&toml);
        assert!(err.contains("`sms.webhook.hmac_secret_file`"), "{err}");
        assert!(err.contains(problem), "{problem}: {err}");
    }
    let err = error_for("[sms.webhook]\nhmac_secret_file = 5\n");
    assert!(err.contains("`sms.webhook.hmac_secret_file`"), "{err}");
    // Only secrets have a `_file` form; anything else is a typo.
    let err = error_for("[sms.webhook]\nurl_file = \"/etc/hostname\"\n");
    assert!(err.contains("`sms.webhook.url_file`"), "{err}");
    assert!(err.contains("unknown key"), "{err}");
}

#[test]
fn only_the_trailing_newline_is_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    for (written, read) in [
        ("abc\n", "abc"),
        ("abc\r\n", "abc"),
        ("abc", "abc"),
        (" a b \n\n", " a b "),
        ("line1\nline2\n", "line1\nline2"),
    ] {
        std::fs::write(&path, written).unwrap();
        assert_eq!(read_secret_file("k", &path).unwrap(), read, "{written:?}");
    }
}

#[test]
fn secrets_come_from_the_environment_and_inline_ones_are_traced_to_their_file() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("hmac", "mac-SECRET\n")?;
        jail.create_file(
            "config.toml",
            "[sms.webhook]\nbearer_token = \"tok-SECRET\"\n",
        )?;
        jail.set_env("GATEHOUSE_SMS__WEBHOOK__HMAC_SECRET_FILE", "hmac");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        let webhook = &config.sms.webhook;
        assert_eq!(webhook.hmac_secret.as_ref().unwrap().expose(), "mac-SECRET");
        let files = &config.secrets.files;
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].key, "sms.webhook.hmac_secret");
        let inline = &config.secrets.inline;
        assert_eq!(inline.len(), 1, "{inline:?}");
        assert_eq!(inline[0].key, "sms.webhook.bearer_token");
        assert!(inline[0].path.ends_with("config.toml"), "{inline:?}");
        Ok(())
    });
}

/// Every field of type `Secret` in src/config has its key listed (so
/// its `_file` form works); the test reads the sources.
#[test]
fn every_secret_field_is_listed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
    let listed: Vec<&str> = SECRET_KEYS
        .iter()
        .map(|key| key.rsplit('.').next().unwrap())
        .collect();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // Sections with a folder of their own (`sms_providers/`).
    while let Some(dir) = paths
        .iter()
        .position(|p| p.is_dir())
        .map(|i| paths.remove(i))
    {
        paths.extend(std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()));
    }
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let Some((field, ty)) = line.trim().split_once(": ") else {
                continue;
            };
            // Without `pub`, `pub(super)`, ...
            let field = field.rsplit(' ').next().unwrap_or(field);
            let secret = matches!(ty, "Secret," | "Option<Secret>,");
            assert!(
                !secret || listed.contains(&field),
                "{}: `{field}` is a Secret: add its key to SECRET_KEYS",
                path.display()
            );
        }
    }
}
