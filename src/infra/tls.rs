//! Direct HTTPS (rustls) for deployments without a reverse proxy: the
//! certificate `serve` hands each connection. SIGHUP reloads the
//! certificate and key, so renewals need no restart and no connection is
//! dropped.

use axum_server::tls_rustls::RustlsConfig;

use crate::config::TlsConfig;

pub struct Tls {
    config: RustlsConfig,
    files: TlsConfig,
}

impl Tls {
    /// Reads the PEM files; a bad file fails start-up, naming it.
    pub async fn load(files: &TlsConfig) -> std::io::Result<Tls> {
        // One crypto provider for the process; a second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = RustlsConfig::from_pem_file(&files.cert_file, &files.key_file).await?;
        Ok(Tls {
            config,
            files: files.clone(),
        })
    }

    /// The certificate and key in force (a SIGHUP swaps them in place).
    pub fn config(&self) -> RustlsConfig {
        self.config.clone()
    }

    /// Reloads the files on each SIGHUP, until the task is aborted.
    pub fn reload_on_sighup(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(reload_on_sighup(self.config.clone(), self.files.clone()))
    }
}

async fn reload_on_sighup(config: RustlsConfig, files: TlsConfig) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: certificate reloads need a restart");
        return;
    };
    while hangups.recv().await.is_some() {
        match config
            .reload_from_pem_file(&files.cert_file, &files.key_file)
            .await
        {
            Ok(()) => tracing::info!(cert = %files.cert_file.display(), "TLS certificate reloaded"),
            // Keep serving with the old certificate rather than none.
            Err(error) => tracing::error!(
                %error,
                cert = %files.cert_file.display(),
                "TLS certificate reload failed; still serving the previous one"
            ),
        }
    }
}
