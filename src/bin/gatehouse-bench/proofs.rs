//! The `proof` measurement: what the bot challenge's proof of work costs
//! gatehouse, in this process: checking one proof (its MAC, its expiry, one
//! SHA-256), then also spending it in the replay memory (one INSERT through
//! the store's thread, as a request does), and solving one natively at the
//! default difficulty. The browser's solve time is measured in Chromium by
//! `tests/api/browser_signin.rs` (it needs a browser; this does not).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use gatehouse::config::BotChallengeConfig;
use gatehouse::signin::bot_challenge::pow::{self, PowKey};
use gatehouse::store::{proofs, Store};
use serde::Serialize;

#[derive(Serialize, Debug)]
pub struct ProofReport {
    pub difficulty: u8,
    /// Microseconds per check without the database.
    pub check_us: f64,
    pub checks: usize,
    /// Microseconds per check with the replay memory's INSERT.
    pub check_and_spend_us: f64,
    pub spends: usize,
    /// Milliseconds per native solve at `difficulty` (this CPU, one core).
    pub native_solve_ms: f64,
    pub native_solves: usize,
}

impl ProofReport {
    pub fn line(&self) -> String {
        format!(
            "proof of work (bot_challenge, difficulty {} bits): checking a proof {:.1} µs ({} checks); \
             with the replay memory {:.1} µs ({} proofs); solving one natively {:.0} ms ({} solves)",
            self.difficulty,
            self.check_us,
            self.checks,
            self.check_and_spend_us,
            self.spends,
            self.native_solve_ms,
            self.native_solves
        )
    }
}

/// Measures on a store of its own at `database`; `short` for `--smoke`.
pub async fn measure(database: PathBuf, short: bool) -> Result<ProofReport> {
    let difficulty = BotChallengeConfig::default().difficulty;
    let key = PowKey::derive(gatehouse::infra::random::random_hex(32).as_bytes());
    let now = 1_800_000_000;
    let ttl = Duration::from_secs(600);
    let (native_solves, checks, spends) = if short {
        (2, 10_000, 1_000)
    } else {
        (20, 200_000, 20_000)
    };

    let started = Instant::now();
    let solved: Vec<String> = (0..native_solves)
        .map(|_| pow::solve(&key.issue(now, ttl, difficulty).challenge, difficulty))
        .collect();
    let native_solve_ms = started.elapsed().as_secs_f64() * 1e3 / native_solves as f64;

    // The check's work does not depend on the difficulty: one hash.
    let started = Instant::now();
    for solution in solved.iter().cycle().take(checks) {
        key.check(solution, now, difficulty)
            .map_err(|e| anyhow::anyhow!("a right proof was refused: {e:?}"))?;
    }
    let check_us = started.elapsed().as_secs_f64() * 1e6 / checks as f64;

    // Fresh proofs to spend, each one once (difficulty 1: made in no time).
    let store = tokio::task::spawn_blocking(move || Store::open(&database))
        .await?
        .context("open the proof measurement's store")?;
    let fresh: Vec<String> = (0..spends)
        .map(|_| pow::solve(&key.issue(now, ttl, 1).challenge, 1))
        .collect();
    let started = Instant::now();
    for proof in fresh {
        let solved = key
            .check(&proof, now, 1)
            .map_err(|e| anyhow::anyhow!("a right proof was refused: {e:?}"))?;
        let spend =
            move |db: &mut gatehouse::store::Db| proofs::spend(db, &solved.salt, solved.expires_at);
        anyhow::ensure!(store.run(spend).await?, "a fresh proof was taken for used");
    }
    let check_and_spend_us = started.elapsed().as_secs_f64() * 1e6 / spends as f64;
    Ok(ProofReport {
        difficulty,
        check_us,
        checks,
        check_and_spend_us,
        spends,
        native_solve_ms,
        native_solves,
    })
}

/// The measurement on its own (`--scenarios proof`), in a temp dir: the line
/// printed, and the JSON `{"proofs": ...}` written to `output` when given.
pub async fn alone(output: Option<&Path>, short: bool) -> ExitCode {
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-proof-{}", std::process::id()));
    let measured = match std::fs::create_dir_all(&dir) {
        Ok(()) => measure(dir.join("proofs.sqlite"), short).await,
        Err(e) => Err(e.into()),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let report = match measured {
        Ok(report) => report,
        Err(e) => {
            eprintln!("gatehouse-bench: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", report.line());
    if let Some(path) = output {
        let json = serde_json::json!({ "proofs": report });
        if let Err(e) = std::fs::write(path, format!("{json:#}\n")) {
            eprintln!("gatehouse-bench: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
