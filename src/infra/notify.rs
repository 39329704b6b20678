//! systemd's readiness protocol (sd_notify): one datagram of `KEY=value`
//! lines to the unix socket named by `$NOTIFY_SOCKET`.
//!
//! Small enough that a crate is not worth it: a path, or `@name` for the
//! abstract namespace. Without `$NOTIFY_SOCKET` (not under systemd) every
//! call is a no-op.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("NOTIFY_SOCKET `{socket}` is not usable: {source}")]
    Socket { socket: String, source: io::Error },
}

/// Tells systemd the service is ready (`Type=notify` waits for this).
pub fn ready(status: &str) {
    send_logged(&format!("READY=1\nSTATUS={status}"));
}

/// Tells systemd the service is shutting down.
pub fn stopping(status: &str) {
    send_logged(&format!("STOPPING=1\nSTATUS={status}"));
}

/// A free-form status line, shown by `systemctl status`.
pub fn status(status: &str) {
    send_logged(&format!("STATUS={status}"));
}

/// Notification failures must not stop gatehouse; systemd will notice the
/// missing READY=1 on its own (start-up timeout), so a warning is enough.
fn send_logged(message: &str) {
    if let Err(error) = notify(message) {
        tracing::warn!(%error, "cannot notify systemd");
    }
}

/// Sends `message` to `$NOTIFY_SOCKET`; Ok(false) when it is not set.
pub fn notify(message: &str) -> Result<bool, NotifyError> {
    match std::env::var("NOTIFY_SOCKET") {
        Ok(socket) if !socket.is_empty() => send_to(&socket, message).map(|()| true),
        _ => Ok(false),
    }
}

/// Sends one datagram to a socket path, or to `@name` in the abstract namespace.
pub fn send_to(socket: &str, message: &str) -> Result<(), NotifyError> {
    let error = |source| NotifyError::Socket {
        socket: socket.to_string(),
        source,
    };
    let address = address(socket).map_err(error)?;
    let datagram = UnixDatagram::unbound().map_err(error)?;
    datagram
        .send_to_addr(message.as_bytes(), &address)
        .map_err(error)?;
    Ok(())
}

fn address(socket: &str) -> io::Result<SocketAddr> {
    match socket.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes())
        }
        None if socket.starts_with('/') => SocketAddr::from_pathname(socket),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "expected an absolute path or @abstract-name",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_socket_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let receiver = UnixDatagram::bind(&path).unwrap();
        send_to(path.to_str().unwrap(), "READY=1\nSTATUS=serving").unwrap();
        let mut buffer = [0u8; 256];
        let n = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1\nSTATUS=serving");
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("gatehouse-notify-test-{}", std::process::id());
        let receiver =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        send_to(&format!("@{name}"), "STOPPING=1").unwrap();
        let mut buffer = [0u8; 64];
        let n = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"STOPPING=1");
    }

    #[test]
    fn a_relative_or_missing_socket_is_an_error() {
        assert!(send_to("relative.sock", "READY=1").is_err());
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nobody-listens");
        let err = send_to(missing.to_str().unwrap(), "READY=1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("NOTIFY_SOCKET"), "{err}");
    }
}
