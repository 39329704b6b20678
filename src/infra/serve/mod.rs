//! The accept loop of gatehouse's HTTP and HTTPS listeners, with the limits
//! a server on the internet needs (axum's own `serve` has none of them):
//!
//! - a request's header must arrive within `server.header_read_timeout`,
//!   counted from when the connection waits for it (at connect, and after
//!   each answer on a kept-alive connection, so it is also the keep-alive
//!   idle time); a TLS handshake gets the same time;
//! - a connection with no request in flight on which no byte moves for
//!   `server.idle_timeout` is closed, and a request body that stops
//!   arriving for as long fails (its handler answers, the request ends);
//! - at most `max_connections` at once (kept under the open-file limit by
//!   `open_files`); past it a new connection closes the oldest idle one
//!   (`connections`), so idle sockets never lock out `/healthz` or a sign-in.

mod connections;
mod io;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

pub use connections::{Connections, Slot};
use io::Tracked;

use crate::config::ServerConfig;
use crate::infra::open_files;

/// How long connections may take and how many may be open.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// `[server]`'s limits. Raises the open-file limit as far as it goes
    /// first, and fits the connection cap under it.
    pub fn for_server(server: &ServerConfig) -> Limits {
        let open_files = open_files::raise_soft_limit();
        Limits {
            header_read_timeout: server.header_read_timeout,
            idle_timeout: server.idle_timeout,
            max_connections: open_files::connection_cap(server.max_connections, open_files),
        }
    }
}

/// What every connection of one listener shares.
struct Shared {
    router: Router,
    builder: auto::Builder<TokioExecutor>,
    tls: Option<RustlsConfig>,
    limits: Limits,
}

/// The answer to a connection that finds every place taken by a request in
/// flight (plain HTTP only: under TLS it is just closed).
const FULL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Type: application/json\r\nConnection: close\r\nContent-Length: 91\r\n\r\n\
{\"error\":\"temporarily_unavailable\",\"error_description\":\"Too many connections; try again.\"}\n";

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown`,
/// then waits for the connections' requests in flight to finish.
pub async fn serve(
    listener: TcpListener,
    tls: Option<RustlsConfig>,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let shared = Arc::new(Shared {
        router,
        builder,
        tls,
        limits,
    });
    let connections = Connections::new(limits.max_connections);
    let graceful = GracefulShutdown::new();
    let mut failures = AcceptFailures::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                failures.pause(&error).await;
                continue;
            }
        };
        match connections.admit() {
            Some(slot) => {
                let watcher = graceful.watcher();
                tokio::spawn(run_connection(stream, peer, slot, shared.clone(), watcher));
            }
            None => refuse(stream, shared.tls.is_some()),
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One connection: the TLS handshake if any, then HTTP/1 or HTTP/2 until
/// the client leaves, the connection idles out or must make room.
async fn run_connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    shared: Arc<Shared>,
    watcher: Watcher,
) {
    let _ = stream.set_nodelay(true);
    let stream = Tracked::new(stream, slot.handle());
    let Some(tls) = &shared.tls else {
        return serve_http(TokioIo::new(stream), peer, slot, &shared, watcher).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.get_inner());
    let handshake =
        tokio::time::timeout(shared.limits.header_read_timeout, acceptor.accept(stream));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return tracing::debug!(%error, %peer, "TLS handshake failed"),
            Err(_) => return tracing::debug!(%peer, "TLS handshake not done within server.header_read_timeout"),
        },
        () = slot.closed_for_room() => return,
    };
    serve_http(TokioIo::new(stream), peer, slot, &shared, watcher).await;
}

async fn serve_http<I>(io: I, peer: SocketAddr, slot: Slot, shared: &Shared, watcher: Watcher)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let handle = slot.handle();
    let router = shared.router.clone();
    let idle = shared.limits.idle_timeout;
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let busy = handle.busy();
        let mut request = request.map(|body| TimeoutBody::new(idle, body));
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await;
            drop(busy);
            response
        }
    });
    let connection = watcher.watch(shared.builder.serve_connection(io, service).into_owned());
    tokio::select! {
        served = connection => {
            if let Err(error) = served {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        }
        () = slot.closed_for_room() => {
            tracing::debug!(%peer, "idle connection closed to make room (server.max_connections)");
        }
        () = slot.idle_for(shared.limits.idle_timeout) => {
            tracing::debug!(%peer, "idle connection closed (server.idle_timeout)");
        }
    }
}

/// Every place is taken by a request in flight: say so (plain HTTP) and close.
fn refuse(stream: TcpStream, tls: bool) {
    if !tls {
        let _ = stream.try_write(FULL);
    }
    tracing::warn!("connection refused: every one of server.max_connections is busy");
}

/// Failed accepts: a client that left is nothing; running out of
/// descriptors or memory pauses the loop briefly (it would spin) and is
/// logged at most once a second.
#[derive(Default)]
struct AcceptFailures {
    last_logged: Option<Instant>,
}

impl AcceptFailures {
    async fn pause(&mut self, error: &std::io::Error) {
        use std::io::ErrorKind as K;
        if matches!(
            error.kind(),
            K::ConnectionAborted | K::ConnectionReset | K::ConnectionRefused | K::Interrupted
        ) {
            return;
        }
        if self
            .last_logged
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(%error, "accept failed; pausing the listener for 100 ms");
            self.last_logged = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_full_answer_has_the_length_it_says() {
        let text = std::str::from_utf8(super::FULL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{}",
            body.len()
        );
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }
}
