//! Settings that are fine on a developer's machine and unsafe on the
//! internet. Each stops start-up (and `check-config`) with one line naming
//! the key, unless the one escape hatch, `unsafe_development_mode = true`,
//! says this is not production.

use url::{Host, Url};

use super::{CodeIssuer, Config, ConfigError, DirectoryKind, SmsSenderKind};

/// The shortest code that is safe on the internet: 6 digits (NIST SP
/// 800-63B 5.1.3.2 asks for at least 20 bits of entropy from a code).
pub const MIN_SAFE_CODE_LENGTH: u8 = 6;

const HATCH: &str = "set unsafe_development_mode = true only on a development machine";

/// The production rules; skipped in development mode.
pub(super) fn check(config: &Config) -> Result<(), ConfigError> {
    if config.unsafe_development_mode {
        return Ok(());
    }
    let public_url = &config.server.public_url;
    let loopback = is_loopback(public_url);
    if public_url.scheme() == "http" && !loopback {
        return Err(ConfigError::key(
            "server.public_url",
            format!(
                "plain http on a host other than this machine sends codes and tokens \
                 unencrypted and runs Hydra in --dev mode; use https:// ({HATCH})"
            ),
        ));
    }
    if config.hydra.dsn_unverified_off_this_machine() {
        return Err(ConfigError::key(
            "hydra.dsn",
            format!(
                "Hydra's connection to another machine would not check the server's certificate \
                 (its tokens and clients travel unencrypted or to anyone in the path); use \
                 sslmode=verify-full, with sslrootcert=PATH for a private CA ({HATCH})"
            ),
        ));
    }
    let own_codes = config.otp.issuer == CodeIssuer::Gatehouse;
    if config.sms.sender == SmsSenderKind::Stdout && !loopback && own_codes {
        return Err(ConfigError::key(
            "sms.sender",
            format!(
                "\"stdout\" prints every sign-in code to the log; use \"webhook\" \
                 for a public_url other than localhost ({HATCH})"
            ),
        ));
    }
    let grpc_directory = match &config.directory.kind {
        DirectoryKind::Grpc(url) => Some(url),
        _ => None,
    };
    let delegate = match config.otp.issuer {
        CodeIssuer::Http => config.otp.http.url.as_ref(),
        CodeIssuer::Grpc => config.otp.grpc.url.as_ref(),
        CodeIssuer::TwilioVerify => Some(&config.otp.twilio_verify.base_url),
        CodeIssuer::Gatehouse => None,
    };
    for (key, url) in [
        ("directory.grpc.url", grpc_directory),
        (config.otp.issuer_url_key(), delegate),
    ] {
        if url.is_some_and(|url| url.scheme() == "http" && !is_loopback(url)) {
            return Err(ConfigError::key(
                key,
                format!(
                    "plaintext to another machine sends phone numbers (and profiles or \
                     codes) unencrypted; use https:// ({HATCH})"
                ),
            ));
        }
    }
    if config.otp.length < MIN_SAFE_CODE_LENGTH {
        return Err(ConfigError::key(
            "otp.length",
            format!("must be at least {MIN_SAFE_CODE_LENGTH} digits ({HATCH})"),
        ));
    }
    Ok(())
}

/// localhost, 127.0.0.0/8 or ::1: a URL only this machine can reach.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{assert_names_key, from_toml};

    const DEV: &str = "unsafe_development_mode = true\n";

    #[test]
    fn plain_http_is_for_this_machine_only() {
        let remote = "[server]\npublic_url = \"http://id.example.com\"\n";
        assert_names_key(remote, "`server.public_url`");
        // Every spelling of "this machine" passes; a look-alike does not.
        for local in [
            "http://localhost:4455",
            "http://127.0.0.1:4455",
            "http://[::1]:4455",
            "http://127.9.9.9",
        ] {
            let toml = format!("[server]\npublic_url = \"{local}\"\n");
            assert!(from_toml(&toml).is_ok(), "{local}");
        }
        for look_alike in [
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "http://0.0.0.0:4455",
        ] {
            let toml = format!("[server]\npublic_url = \"{look_alike}\"\n");
            assert_names_key(&toml, "`server.public_url`");
        }
        assert!(
            from_toml(&format!("{DEV}{remote}")).is_ok(),
            "the escape hatch"
        );
    }

    #[test]
    fn codes_go_to_the_log_only_on_this_machine() {
        let https = "[server]\npublic_url = \"https://id.example.com\"\n";
        assert_names_key(https, "`sms.sender`");
        let webhook =
            "[sms]\nsender = \"webhook\"\n[sms.webhook]\nurl = \"https://sms.example/send\"\n\
             [sms.policy]\nallowed_countries = [\"*\"]\n";
        assert!(from_toml(&format!("{https}{webhook}")).is_ok());
        assert!(
            from_toml(&format!("{DEV}{https}")).is_ok(),
            "the escape hatch"
        );
    }

    #[test]
    fn plaintext_grpc_is_for_this_machine_only() {
        let grpc = |url: &str| {
            format!(
                "[users]\nsignup = \"closed\"\n[directory]\nkind = \"grpc\"\n\
                 [directory.grpc]\nurl = \"{url}\"\n"
            )
        };
        let remote = grpc("http://users.internal:50051");
        assert_names_key(&remote, "`directory.grpc.url`");
        assert!(
            from_toml(&format!("{DEV}{remote}")).is_ok(),
            "the escape hatch"
        );
        for fine in ["http://127.0.0.1:50051", "https://users.internal:50051"] {
            assert!(from_toml(&grpc(fine)).is_ok(), "{fine}");
        }
        for issuer in ["http", "grpc"] {
            let delegate = format!(
                "[otp]\nissuer = \"{issuer}\"\n[otp.{issuer}]\nurl = \"http://codes.internal\"\n"
            );
            assert_names_key(&delegate, &format!("`otp.{issuer}.url`"));
            let https = delegate.replace("http://", "https://");
            let public = "[server]\npublic_url = \"https://id.example.com\"\n";
            assert!(
                from_toml(&format!("{public}{https}")).is_ok(),
                "a delegate sends the codes: sms.sender may stay \"stdout\""
            );
        }
    }

    #[test]
    fn codes_have_at_least_six_digits() {
        for length in [4, 5] {
            let toml = format!("[otp]\nlength = {length}\n");
            assert_names_key(&toml, "`otp.length`");
            assert!(
                from_toml(&format!("{DEV}{toml}")).is_ok(),
                "the escape hatch"
            );
        }
        assert!(from_toml("[otp]\nlength = 6\n").is_ok());
    }
}
