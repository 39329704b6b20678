//! Direct HTTPS (rustls) for deployments without a reverse proxy. SIGHUP
//! reloads the certificate and key, so renewals need no restart and no
//! connection is dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;

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

    /// Serves HTTPS on `listener` until `shutdown`, then lets requests in
    /// flight finish for up to `grace`.
    pub async fn serve(
        self,
        listener: TcpListener,
        make_service: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> std::io::Result<()> {
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopper.graceful_shutdown(Some(grace));
        });
        let reloader = tokio::spawn(reload_on_sighup(self.config.clone(), self.files));
        let served = axum_server::from_tcp_rustls(listener.into_std()?, self.config)?
            .handle(handle)
            .serve(make_service)
            .await;
        reloader.abort();
        served
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
