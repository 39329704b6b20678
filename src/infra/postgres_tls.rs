//! TLS to PostgreSQL (the `sql` directory now, gatehouse's own store on
//! PostgreSQL when it comes): rustls with ring through
//! tokio-postgres-rustls, as `sslmode` and `sslrootcert` ask; the default
//! for a connection that leaves this machine; and a failed handshake in
//! the operator's words.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{CaFile, PgSslMode};

/// The mode a connection uses: as written; unset, `verify-full` unless
/// every host is this machine (loopback or a unix socket), where there is
/// nobody to listen in. Unix sockets never carry TLS (as with libpq).
pub fn effective_mode(config: &tokio_postgres::Config, written: Option<PgSslMode>) -> PgSslMode {
    let hosts = config.get_hosts();
    if !hosts.is_empty() && hosts.iter().all(|host| matches!(host, Host::Unix(_))) {
        return PgSslMode::Disable;
    }
    written.unwrap_or(match stays_on_this_machine(config) {
        true => PgSslMode::Disable,
        false => PgSslMode::VerifyFull,
    })
}

pub use crate::config::stays_on_this_machine;

/// A TLS connector for `mode` (any but `Disable`): the certificate checked
/// against `root_cert`'s CAs or, without one, the system's.
pub fn connector(mode: PgSslMode, root_cert: Option<&CaFile>) -> MakeRustlsConnect {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier {
        chain: chain(mode, root_cert, &provider),
        check_name: mode == PgSslMode::VerifyFull,
        provider: provider.clone(),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring offers the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    MakeRustlsConnect::new(config)
}

/// What checks a server's certificate chain.
#[derive(Debug)]
enum Chain {
    /// `require` without `sslrootcert`: encrypted, but any certificate does.
    Unchecked,
    Checked(Arc<dyn ServerCertVerifier>),
    /// No CA to check against (none on this host, no `sslrootcert`): every
    /// certificate is refused, as signed by an unknown CA.
    NoRoots,
}

fn chain(mode: PgSslMode, root_cert: Option<&CaFile>, provider: &Arc<CryptoProvider>) -> Chain {
    let Some(root_cert) = root_cert else {
        if mode == PgSslMode::Require {
            return Chain::Unchecked;
        }
        return match rustls_platform_verifier::Verifier::new(provider.clone()) {
            Ok(system) => Chain::Checked(Arc::new(system)),
            Err(error) => {
                tracing::warn!(
                    %error,
                    "no CA certificates on this host: a PostgreSQL server's certificate can only \
                     be checked against sslrootcert"
                );
                Chain::NoRoots
            }
        };
    };
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(root_cert.der_certificates());
    match WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build() {
        Ok(verifier) => Chain::Checked(verifier),
        Err(_) => Chain::NoRoots,
    }
}

/// `verify-full`: chain and name; `verify-ca` (and `require` with
/// `sslrootcert`): the chain only; `require` alone: nothing. Handshake
/// signatures are always checked.
#[derive(Debug)]
struct Verifier {
    chain: Chain,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let checked = match &self.chain {
            Chain::Unchecked => return Ok(ServerCertVerified::assertion()),
            Chain::NoRoots => {
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer,
                ))
            }
            Chain::Checked(chain) => {
                chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
        };
        match checked {
            // webpki checks the chain (dates, CA, usage) before the name:
            // a wrong name means everything else passed.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A PostgreSQL URL as gatehouse connects with it: a connect timeout and
/// the application name filled in when the URL has none, and its password
/// (as written and as decoded) to take out of every message.
pub struct ParsedUrl {
    pub config: tokio_postgres::Config,
    pub secrets: Vec<String>,
}

/// Parses `url` (the setting `key`); the error names the key and never
/// repeats the password.
pub fn parse_url(key: &str, url: &str, connect_timeout: Duration) -> Result<ParsedUrl, String> {
    let mut secrets: Vec<String> = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
        .into_iter()
        .collect();
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
        scrub(
            &secrets,
            format!(
                "{key} is not a PostgreSQL URL gatehouse can use: {}",
                error_chain(&e)
            ),
        )
    })?;
    if let Some(password) = config.get_password() {
        secrets.push(String::from_utf8_lossy(password).into_owned());
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(connect_timeout);
    }
    if config.get_application_name().is_none() {
        // So the database's administrators see who is connected.
        config.application_name("gatehouse");
    }
    Ok(ParsedUrl { config, secrets })
}

/// Says in the log (naming `key`) when a connection that leaves this
/// machine will not check PostgreSQL's certificate.
pub fn warn_if_unchecked(config: &tokio_postgres::Config, mode: PgSslMode, key: &str) {
    if matches!(mode, PgSslMode::Disable | PgSslMode::Require) && !stays_on_this_machine(config) {
        tracing::warn!(
            sslmode = ?mode,
            "{key}: PostgreSQL's certificate is not checked on a connection that leaves this \
             machine; use sslmode=verify-full (with sslrootcert for a private CA)"
        );
    }
}

/// `message` with the URL's password (`secrets`) taken out.
pub fn scrub(secrets: &[String], mut message: String) -> String {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        message = message.replace(secret.as_str(), "***");
    }
    message
}

/// An error and its causes: tokio-postgres keeps the useful part (the
/// server's message, the socket error) in `source()`.
pub fn error_chain(error: &tokio_postgres::Error) -> String {
    super::http::error_chain(error)
}

/// The certificate problem that failed a connection, said so that the
/// operator knows what to change; None when the error is not about TLS.
pub fn explain(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn StdError + 'static));
        if let Some(tls) = inner.unwrap_or(error).downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        cause = error.source();
    }
    None
}

fn describe(error: &rustls::Error) -> String {
    const FIX_CA: &str = "give its CA's certificate (PEM) as sslrootcert=PATH in the URL \
                          (without sslrootcert the system's CAs are trusted)";
    let problem = match error {
        rustls::Error::InvalidCertificate(problem) => problem,
        other => return format!("the TLS handshake with PostgreSQL failed: {other}"),
    };
    match problem {
        CertificateError::UnknownIssuer => {
            format!("PostgreSQL's certificate is not signed by a CA gatehouse trusts: {FIX_CA}")
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "PostgreSQL's certificate is not valid for the host name {} (it names {}): connect \
             to a name the certificate holds (hostaddr=IP can give the address)",
            expected.to_str(),
            presented.join(", ")
        ),
        CertificateError::NotValidForName => {
            "PostgreSQL's certificate is not valid for the host name in the URL".to_string()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "PostgreSQL's certificate has expired".to_string()
        }
        other => format!("PostgreSQL's certificate is refused: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str, written: Option<PgSslMode>) -> PgSslMode {
        effective_mode(&url.parse().unwrap(), written)
    }

    #[test]
    fn verify_full_is_the_default_off_this_machine() {
        for local in [
            "postgres://u@localhost/db",
            "postgres://u@127.0.0.1/db",
            "postgres://u@[::1]:5432/db",
            "postgres://u@/db?host=/run/postgresql",
            "postgres://u@127.0.0.1,localhost/db",
        ] {
            assert_eq!(mode(local, None), PgSslMode::Disable, "{local}");
            assert_eq!(
                mode(local, Some(PgSslMode::VerifyCa)),
                match local.contains("host=/") {
                    true => PgSslMode::Disable,
                    false => PgSslMode::VerifyCa,
                },
                "{local}"
            );
        }
        for remote in [
            "postgres://u@db.internal/db",
            "postgres://u@10.0.0.5/db",
            "postgres://u@127.0.0.1,db.internal/db",
            "postgres://u@localhost/db?host=db.internal",
            "postgres://u@db.test/db?hostaddr=127.0.0.1",
            "postgres://u@localhost.example.com/db",
        ] {
            assert_eq!(mode(remote, None), PgSslMode::VerifyFull, "{remote}");
            assert_eq!(
                mode(remote, Some(PgSslMode::Disable)),
                PgSslMode::Disable,
                "{remote}: as written"
            );
        }
    }

    #[test]
    fn certificate_problems_are_explained() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let text = explain(&io).unwrap();
        assert!(text.contains("sslrootcert"), "{text}");
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("other.test").unwrap(),
            presented: vec!["DnsName(\"db.test\")".into()],
        });
        let text = explain(&name).unwrap();
        assert!(
            text.contains("not valid for the host name other.test"),
            "{text}"
        );
        assert!(explain(&std::io::Error::other("refused")).is_none());
    }
}
