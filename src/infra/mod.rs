//! Plumbing every layer may use: time, the data-dir lock, generated secrets,
//! TLS (served, probed, and to PostgreSQL), systemd notifications, logging,
//! metrics, outbound HTTP, the attempts an outbox worker runs, and a bounded
//! cache of answers keyed by a secret's hash.

pub mod clock;
pub mod data_dir;
pub mod grpc;
pub mod http;
pub mod in_flight;
pub mod lock;
pub mod metrics;
pub mod notify;
pub mod open_files;
pub mod postgres_bin;
pub mod postgres_tls;
pub mod random;
pub mod secrets;
pub mod serve;
pub mod telemetry;
pub mod tls;
pub mod tls_probe;
pub mod ttl_cache;
