//! Connections that never end: a header sent a byte at a time, idle
//! kept-alive and HTTP/2 connections, and more idle sockets than the
//! open-file limit allows.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{read_until_closed, sign_in, Running};
use crate::helpers::{wait_ready, TestApp, WebhookSink};

#[tokio::test]
async fn a_half_sent_header_and_an_idle_kept_alive_connection_are_closed() {
    let app = TestApp::spawn_with(|config| {
        config.server.header_read_timeout = Duration::from_secs(1);
        config.server.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let address = app.config.server.listen;

    // Slowloris: a header line begun and never finished.
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        .await
        .unwrap();
    let started = Instant::now();
    read_until_closed(&mut slow, Duration::from_secs(15)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed before the timeout: {:?}",
        started.elapsed()
    );

    // Kept alive after an answer, then silent: closed too.
    let mut idle = TcpStream::connect(address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn an_idle_http2_connection_and_a_stalled_body_end_after_the_idle_timeout() {
    let app = TestApp::spawn_with(|config| {
        config.server.header_read_timeout = Duration::from_secs(300);
        config.server.idle_timeout = Duration::from_secs(1);
    })
    .await;
    // HTTP/2 with prior knowledge: the preface, then nothing. No header
    // timeout applies to HTTP/2; the idle timeout does.
    let mut stream = TcpStream::connect(app.config.server.listen).await.unwrap();
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    read_until_closed(&mut stream, Duration::from_secs(15)).await;

    // A form announced at 100 bytes, of which 10 ever come: the request is
    // given up (a 400 page), not held open for ever.
    let mut stalled = TcpStream::connect(app.config.server.listen).await.unwrap();
    stalled
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 100\r\n\r\naction=sen",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stalled, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

/// A connection to `address` from 127.0.0.2: its port is taken on that
/// address only, so the thousands of them never take the "free" port on
/// 127.0.0.1 that a test running alongside is about to listen on.
async fn connect_from_elsewhere(address: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(([127, 0, 0, 2], 0).into())?;
    socket.connect(address).await
}

/// The soft and hard open-file limits of process `pid`.
fn open_file_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a Max open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[tokio::test]
async fn past_the_open_file_limit_idle_sockets_lock_out_neither_health_nor_sign_in() {
    // This test holds 2,000 sockets of its own.
    gatehouse::infra::open_files::raise_soft_limit();
    let dir = tempfile::tempdir().unwrap();
    let (sms, callback) = (WebhookSink::start(200).await, WebhookSink::start(200).await);
    // systemd's soft limit, under a hard one of 1024; a header timeout long
    // enough that only the connection cap can keep the service up.
    let running = Running::start(
        dir.path(),
        &sms,
        &["prlimit", "--nofile=256:1024"],
        &[("GATEHOUSE_SERVER__HEADER_READ_TIMEOUT", "5m")],
    );
    wait_ready(&running.address, Duration::from_secs(90)).await;
    let pid = running.child.id();
    assert_eq!(
        open_file_limits(pid),
        (1024, 1024),
        "soft limit raised to the hard one"
    );

    let mut idle = Vec::new();
    for n in 0..2000 {
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            connect_from_elsewhere(running.config.server.listen),
        )
        .await;
        match connected {
            Ok(Ok(stream)) => idle.push(stream),
            other => panic!("connection {n} not accepted within 10s: {other:?}"),
        }
    }
    let health = tokio::time::timeout(
        Duration::from_secs(15),
        crate::helpers::http_client()
            .get(format!("{}/healthz", running.address))
            .send(),
    )
    .await
    .expect("/healthz answered within 15s")
    .expect("/healthz answered");
    assert_eq!(health.status(), 200);
    sign_in(&running, &sms, &callback, "+12015550181").await;

    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    assert!(open < 1024, "{open} descriptors open");
    let stderr = running.stderr();
    assert!(!stderr.contains("Too many open files"), "{stderr}");
    assert!(
        stderr.contains("server.max_connections = 4096 lowered to 448"),
        "the cap is said, naming the setting: {stderr}"
    );
    drop(idle);
}
