//! The integration tests, in one binary so the harness (`helpers`) is
//! compiled once: a real gatehouse with a real supervised Hydra, the real
//! binaries, headless Chromium, nginx, Caddy and PostgreSQL. One module per area.

mod helpers;

mod architecture;
mod audit;
mod bench_smoke;
mod bot_challenge;
mod browser_accessibility;
mod browser_methods;
mod browser_passkeys;
mod browser_signin;
mod browser_smoke;
mod code_flows;
mod consent_choice;
mod directory_grpc;
mod directory_http;
mod directory_sql;
mod edge;
mod forward_auth;
mod foundation;
mod headless;
mod headless_app_code;
mod headless_exchange;
mod https_outbound;
mod hydra_admin;
mod languages;
mod manual;
mod metrics;
mod ops;
mod otp;
mod proxies;
mod robust_flows;
mod secrets;
mod signin;
mod sms_outbox;
mod sms_policy;
mod store_engines;
mod tls;
mod token_hook;
mod users_cli;
