//! Doctor's checks of the services gatehouse calls out to: a TCP
//! connection, or a TLS handshake that verifies; for an SMS provider, a
//! call that proves its credentials and sends nothing.

use std::time::Duration;

use super::{ok, problem, skip, Finding, PROBE_TIMEOUT};
use crate::config::{BotChallengeKind, CaFile, Config, SmsSenderKind};
use crate::infra::tls_probe;
use crate::sms::{CredentialCheck, Provider};

/// Each SMS sender of `sms.sender` / `sms.senders`, in order: the webhook
/// accepts connections; a provider answers a call that proves its
/// credentials and sends nothing (Twilio's account, Vonage's and Bird's
/// balance, SNS's SMS attributes).
pub(super) async fn sms(config: &Config) -> Vec<Finding> {
    let sms = &config.sms;
    if sms.sender == SmsSenderKind::Stdout {
        return vec![if config.server.public_url.scheme() == "https" {
            problem(
                "sms.sender = \"stdout\" prints sign-in codes to the log of a production setup",
                "set sms.sender (or sms.senders) to \"webhook\" or a provider and its section",
            )
        } else {
            skip("SMS webhook: sms.sender is \"stdout\" (development)")
        }];
    }
    let mut findings = Vec::new();
    for kind in sms.chain() {
        findings.push(match kind {
            SmsSenderKind::Webhook { url } => webhook(config, url).await,
            _ => provider(config, kind).await,
        });
    }
    findings
}

async fn webhook(config: &Config, url: &url::Url) -> Finding {
    let fix = "check `sms.webhook.url`, DNS and the firewall between this host and the gateway";
    let fix = match url.scheme() {
        "https" => "check `sms.webhook.url` and `sms.webhook.ca_file` (a private CA's PEM), DNS and the firewall",
        _ => fix,
    };
    let webhook = &config.sms.webhook;
    accepts_connections(
        "SMS webhook",
        url,
        webhook.ca_file.as_ref(),
        webhook.timeout,
        fix,
    )
    .await
}

/// A provider's credentials, by a call that sends no text.
async fn provider(config: &Config, kind: &SmsSenderKind) -> Finding {
    let name = kind.name();
    let Some(provider) = Provider::from_config(kind, &config.sms, &config.server.public_url) else {
        return skip(format!("SMS sender {name}: nothing to check"));
    };
    let fix = format!(
        "check the credentials in [sms.{name}] (and its base_url), DNS and the firewall \
         between this host and the provider"
    );
    let check = tokio::time::timeout(PROBE_TIMEOUT * 2, provider.check_credentials()).await;
    match check {
        Ok(CredentialCheck::Accepted(said)) => ok(format!(
            "SMS provider {name}: credentials accepted, {said} (nothing sent)"
        )),
        Ok(CredentialCheck::Refused(why)) => problem(format!("SMS provider {name}: {why}"), fix),
        Ok(CredentialCheck::NotApplicable) => skip(format!("SMS sender {name}: nothing to check")),
        Err(_) => problem(
            format!(
                "SMS provider {name} did not answer within {:?}",
                PROBE_TIMEOUT * 2
            ),
            fix,
        ),
    }
}

/// The legacy-session verifier of `[headless.token_exchange]`, when set.
pub(super) async fn legacy_verifier(config: &Config) -> Finding {
    let exchange = &config.headless.token_exchange;
    let Some(url) = &exchange.url else {
        return skip("legacy-session verifier: headless.token_exchange.url is not set");
    };
    let fix = "check `headless.token_exchange.url` (and `ca_file` for a private CA), DNS and the firewall";
    let ca_file = exchange.ca_file.as_ref();
    accepts_connections(
        "legacy-session verifier",
        url,
        ca_file,
        exchange.timeout,
        fix,
    )
    .await
}

/// The captcha provider's siteverify endpoint: while it does not answer, no
/// code is sent.
pub(super) async fn captcha_provider(config: &Config) -> Finding {
    let BotChallengeKind::Captcha(captcha) = &config.bot_challenge.kind else {
        return skip("captcha provider: bot_challenge.kind is not \"turnstile\" or \"hcaptcha\"");
    };
    let fix = "check `bot_challenge.verify_url` (and `bot_challenge.ca_file` for a private CA), \
               DNS and the firewall: while it does not answer, no code is sent";
    let ca_file = captcha.ca_file.as_ref();
    accepts_connections(
        "captcha provider",
        &captcha.verify_url,
        ca_file,
        captcha.timeout,
        fix,
    )
    .await
}

/// Does the host of `url` accept a TCP connection, and for https complete
/// a TLS handshake with a certificate that verifies? Nothing is sent.
pub(super) async fn accepts_connections(
    name: &str,
    url: &url::Url,
    ca_file: Option<&CaFile>,
    timeout: Duration,
    fix: &str,
) -> Finding {
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return problem(format!("{name} {url} names no host"), fix);
    };
    let timeout = timeout.min(PROBE_TIMEOUT);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if url.scheme() == "https" {
        return match tls_probe::handshake(host, port, ca_file, timeout).await {
            Ok(()) => ok(format!(
                "{name} {host}:{port} completes a TLS handshake, certificate verified (nothing sent)"
            )),
            Err(e) => problem(format!("{name} {host}:{port}: {e}"), fix),
        };
    }
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(_)) => ok(format!(
            "{name} {host}:{port} accepts connections (nothing sent)"
        )),
        Ok(Err(e)) => problem(format!("{name} {host}:{port} is unreachable: {e}"), fix),
        Err(_) => problem(
            format!("{name} {host}:{port} did not accept a connection within {timeout:?}"),
            fix,
        ),
    }
}
