//! Build script: the git commit `gatehouse --version` prints, as
//! `BUILD_GIT_COMMIT`. An environment variable of that name set for the
//! build wins (a build from a source archive without `.git`); otherwise
//! `git rev-parse HEAD`, or "unknown" where there is no git. And the gRPC
//! code for `proto/`, compiled by protox (pure Rust: no `protoc` needed).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=BUILD_GIT_COMMIT");
    let commit = std::env::var("BUILD_GIT_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo::rustc-env=BUILD_GIT_COMMIT={}", commit.trim());
    compile_protos();
}

/// `gatehouse.directory.v1`: clients for gatehouse, servers for the tests'
/// reference implementation.
fn compile_protos() {
    const PROTO: &str = "proto/gatehouse/directory/v1/directory.proto";
    println!("cargo::rerun-if-changed={PROTO}");
    let descriptors = match protox::compile([PROTO], ["proto"]) {
        Ok(descriptors) => descriptors,
        Err(e) => panic!("{PROTO}: {e}"),
    };
    if let Err(e) = tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)
    {
        panic!("generating the gRPC code for {PROTO}: {e}");
    }
}

/// HEAD's commit, and the files to watch so a new commit or checkout is
/// seen: HEAD, the branch it names and the packed refs (only those that
/// exist: cargo reruns a build script whose watched file is missing every
/// time).
fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "HEAD"])?;
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let watched = ["HEAD".to_string(), "packed-refs".to_string()]
        .into_iter()
        .chain(branch);
    for name in watched {
        if let Some(file) = git(&["rev-parse", "--git-path", &name]) {
            if Path::new(&file).exists() {
                println!("cargo::rerun-if-changed={file}");
            }
        }
    }
    Some(commit)
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}
