//! The packages (scripts/package): both artefacts and SHA256SUMS; the .deb
//! installed with dpkg on this machine (the user, modes and files, the unit
//! through `systemd-analyze verify`), serving as the `gatehouse` user with
//! the packaged config, upgraded to a rebuilt package keeping the edited
//! config, removed keeping the data, purged leaving nothing.
//!
//! It packages the debug build under test (`scripts/package --binary`), not
//! a release build. It needs root, as CI has, and fails saying so otherwise.
//! It installs system-wide (/usr/bin/gatehouse, /etc/gatehouse,
//! /var/lib/gatehouse, the `gatehouse` user), which no other test uses:
//! they all run the binary under test with a temp data dir. A drop guard
//! purges the package however the test ends, and the test refuses to start
//! where a gatehouse it did not install is present.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::text;
use crate::helpers::binary::BINARY;
use crate::helpers::{free_port, http_client};
use gatehouse::cli::version::GIT_COMMIT;
use gatehouse::hydra::PINNED_VERSION;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const CONFIG: &str = "/etc/gatehouse/config.toml";
const DATA: &str = "/var/lib/gatehouse";
const UNIT: &str = "/usr/lib/systemd/system/gatehouse.service";
const DOCS: &str = "/usr/share/doc/gatehouse";
/// Everything the package puts on the system or makes, for the final check.
const LEFT_BEHIND: &[&str] = &[
    "/usr/bin/gatehouse",
    "/usr/lib/gatehouse",
    UNIT,
    DOCS,
    "/etc/gatehouse",
    DATA,
    "/etc/systemd/system/gatehouse.service",
    "/etc/systemd/system/multi-user.target.wants/gatehouse.service",
    "/var/lib/systemd/deb-systemd-helper-enabled/gatehouse.service.dsh-also",
    "/var/lib/systemd/deb-systemd-helper-masked/gatehouse.service",
];

#[tokio::test]
async fn package_installs_serves_upgrades_and_purges_cleanly() {
    assert!(
        rustix::process::geteuid().is_root(),
        "the package test installs the .deb with dpkg, which needs root: run the suite \
         as root (CI does). It is not skipped, so that a run without root cannot pass \
         without checking the package"
    );
    // Two test runs on one machine (two clones) would share dpkg's state.
    let lock =
        std::fs::File::create(std::env::temp_dir().join("gatehouse-package-test.lock")).unwrap();
    lock.lock().unwrap();
    purge_an_earlier_test_package();

    let dir = tempfile::tempdir().unwrap();
    let first = format!("{}+test1", env!("CARGO_PKG_VERSION"));
    let deb = package(&dir.path().join("first"), &first);

    let installed = Installed;
    let output = run(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(
        stderr(&output).contains("neither started nor enabled"),
        "{}",
        text(&output)
    );
    installed.check_layout(&first);
    check_unit_verifies();
    check_version_report();

    let edited = edit_config();
    serve_as_the_service_user(&edited).await;

    // An upgrade to a rebuilt package keeps the edited conffile and the data.
    let second = format!("{}+test2", env!("CARGO_PKG_VERSION"));
    let deb = package(&dir.path().join("second"), &second);
    run(Command::new("dpkg").arg("-i").arg(&deb));
    assert_eq!(dpkg_version(), Some(second.clone()));
    installed.check_layout(&second);
    assert_eq!(std::fs::read_to_string(CONFIG).unwrap(), edited.text);
    for leftover in [".dpkg-new", ".dpkg-dist", ".dpkg-old"] {
        assert!(
            !Path::new(&format!("{CONFIG}{leftover}")).exists(),
            "{leftover}"
        );
    }
    assert!(Path::new(DATA).join("gatehouse.sqlite").is_file());

    // `remove` keeps the configuration, the data and the user.
    let output = run(Command::new("dpkg").args(["--remove", "gatehouse"]));
    assert!(
        stderr(&output).contains("`apt purge gatehouse` deletes them"),
        "{}",
        text(&output)
    );
    assert!(!Path::new("/usr/bin/gatehouse").exists());
    assert_eq!(std::fs::read_to_string(CONFIG).unwrap(), edited.text);
    assert!(Path::new(DATA).join("gatehouse.sqlite").is_file());
    assert!(user("gatehouse").is_some());

    // `purge` says what it deletes, then leaves nothing.
    let output = run(Command::new("dpkg").args(["--purge", "gatehouse"]));
    assert!(
        stderr(&output).contains("WARNING: gatehouse purge: deleting /var/lib/gatehouse"),
        "{}",
        text(&output)
    );
    check_nothing_is_left();
    drop(installed);
}

/// `gatehouse --version` without any installation: the commit, the pinned
/// Hydra, and what the configured `hydra.binary` reports, whichever it is.
#[test]
fn version_names_the_commit_the_pinned_hydra_and_the_configured_one() {
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("hydra-older");
    std::fs::write(&older, "#!/bin/sh\necho 'Version:    v2.2.0'\n").unwrap();
    std::fs::set_permissions(&older, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pinned = crate::helpers::hydra_binary();
    let missing = dir.path().join("no-hydra");
    let cases = [
        (
            Some(pinned.clone()),
            format!("hydra.binary {}: {PINNED_VERSION}", pinned.display()),
        ),
        (
            Some(older.clone()),
            format!(
                "hydra.binary {}: v2.2.0 (not the pinned {PINNED_VERSION}",
                older.display()
            ),
        ),
        (
            Some(missing.clone()),
            format!("hydra.binary {}: not found", missing.display()),
        ),
        (
            None,
            "hydra.binary: not checked, the configuration does not load".to_string(),
        ),
    ];
    for (binary, expected) in cases {
        let mut command = Command::new(BINARY);
        command.arg("--version").env_clear().current_dir(dir.path());
        match &binary {
            Some(binary) => command.env("GATEHOUSE_HYDRA__BINARY", binary),
            None => command.env("GATEHOUSE_SERVER__LISTEN", "nowhere"),
        };
        let report = capture(&mut command);
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines.len(), 4, "{report}");
        assert_eq!(lines[0], format!("gatehouse {}", env!("CARGO_PKG_VERSION")));
        assert_eq!(lines[1], format!("commit {GIT_COMMIT}"));
        assert!(
            lines[2].starts_with(&format!("hydra {PINNED_VERSION} (pinned")),
            "{report}"
        );
        assert!(lines[3].starts_with(&expected), "{report}");
    }
    if Path::new(REPO).join(".git").exists() {
        assert_ne!(
            GIT_COMMIT, "unknown",
            "built from a checkout, the commit is known"
        );
    }
}

/// Purges the package however the test ends (a failed assertion included).
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg")
            .args(["--purge", "gatehouse"])
            .stdin(Stdio::null())
            .output();
    }
}

impl Installed {
    /// The user, the modes and the files of an installed package.
    fn check_layout(&self, version: &str) {
        assert_eq!(dpkg_version().as_deref(), Some(version));
        let passwd = user("gatehouse").expect("the package creates the gatehouse user");
        let fields: Vec<&str> = passwd.split(':').collect();
        let (uid, gid) = (
            fields[2].parse::<u32>().unwrap(),
            fields[3].parse::<u32>().unwrap(),
        );
        assert!(uid < 1000, "not a system user: {passwd}");
        assert_eq!(fields[5], DATA, "home: {passwd}");
        assert_eq!(fields[6], "/usr/sbin/nologin", "shell: {passwd}");
        let group = group("gatehouse").expect("the package creates the gatehouse group");
        assert_eq!(group.split(':').nth(2), Some(gid.to_string().as_str()));

        assert_file(DATA, 0o040700, uid, gid);
        assert_file("/etc/gatehouse", 0o040755, 0, 0);
        assert_file(CONFIG, 0o100640, 0, gid);
        assert_file("/usr/bin/gatehouse", 0o100755, 0, 0);
        assert_file("/usr/lib/gatehouse/hydra", 0o100755, 0, 0);
        assert_file(UNIT, 0o100644, 0, 0);
        for doc in [
            "README.md",
            "config.toml.example",
            "copyright",
            "LICENSE",
            "LICENSE.hydra",
            "THIRD-PARTY-NOTICES.rust.txt",
            "THIRD-PARTY-NOTICES.go.txt",
        ] {
            assert_file(&format!("{DOCS}/{doc}"), 0o100644, 0, 0);
        }
        for page in manual_files().iter().filter(|p| p.ends_with(".md")) {
            assert_file(&format!("{DOCS}/{page}"), 0o100644, 0, 0);
        }
        let conffiles =
            capture(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "gatehouse"]));
        assert!(conffiles.contains(CONFIG), "conffiles: {conffiles}");
        let overrides = capture(Command::new("dpkg-statoverride").args(["--list", CONFIG]));
        assert_eq!(overrides.trim(), format!("root gatehouse 640 {CONFIG}"));
        // Installed, neither enabled nor started.
        assert!(
            !Path::new("/etc/systemd/system/multi-user.target.wants/gatehouse.service").exists(),
            "the package enabled the service"
        );
        let unit = std::fs::read_to_string(UNIT).unwrap();
        assert!(
            unit.lines()
                .any(|l| l
                    == "ExecStart=/usr/bin/gatehouse --config /etc/gatehouse/config.toml serve"),
            "{unit}"
        );
        assert!(!unit.contains("/usr/local"), "{unit}");
        let hydra = capture(Command::new("/usr/lib/gatehouse/hydra").arg("version"));
        assert!(
            hydra.contains(&format!("Version:    {PINNED_VERSION}")),
            "{hydra}"
        );
    }
}

/// A debug-build package of `version` made by scripts/package into `out`,
/// after checking both artefacts and SHA256SUMS; the .deb's path.
fn package(out: &Path, version: &str) -> PathBuf {
    let started = Instant::now();
    run(Command::new(Path::new(REPO).join("scripts/package"))
        .args(["--fast", "--binary", BINARY, "--out"])
        .arg(out)
        .env("PACKAGE_VERSION", version)
        .current_dir(REPO));
    eprintln!("scripts/package {version}: {:?}", started.elapsed());
    let arch = capture(Command::new("dpkg").arg("--print-architecture"));
    let arch = arch.trim();
    let deb = format!("gatehouse_{version}_{arch}.deb");
    let tarball = format!("gatehouse-{version}-linux-{arch}.tar.gz");
    let mut sums: Vec<String> = std::fs::read_to_string(out.join("SHA256SUMS"))
        .unwrap()
        .lines()
        .map(|line| {
            line.split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    sums.sort();
    assert_eq!(sums, [tarball.clone(), deb.clone()]);
    run(Command::new("sha256sum")
        .args(["--strict", "-c", "SHA256SUMS"])
        .current_dir(out));
    check_tarball(
        &out.join(&tarball),
        &format!("gatehouse-{version}-linux-{arch}"),
    );
    let field = capture(
        Command::new("dpkg-deb")
            .args(["-f"])
            .arg(out.join(&deb))
            .arg("Version"),
    );
    assert_eq!(field.trim(), version);
    out.join(deb)
}

/// The manual's directories and files, as `docs/...`: the package and the
/// tarball hold it where README.md's links point.
fn manual_files() -> Vec<String> {
    let mut found = vec!["docs".to_string()];
    let mut dirs = vec![Path::new(REPO).join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(REPO)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                dirs.push(path);
            }
            found.push(relative);
        }
    }
    found
}

/// The tarball holds both programs (which run), the unit of a hand install,
/// the example config, the README, the manual, the licences and the notices.
fn check_tarball(tarball: &Path, top: &str) {
    let listing = capture(Command::new("tar").arg("-tzf").arg(tarball));
    let mut names: Vec<&str> = listing.lines().map(|l| l.trim_end_matches('/')).collect();
    names.sort();
    let mut expected: Vec<String> = [
        "",
        "/LICENSE",
        "/LICENSE.hydra",
        "/README.md",
        "/THIRD-PARTY-NOTICES.go.txt",
        "/THIRD-PARTY-NOTICES.rust.txt",
        "/config.toml.example",
        "/gatehouse",
        "/gatehouse.service",
        "/hydra",
    ]
    .iter()
    .map(|name| format!("{top}{name}"))
    .collect();
    expected.extend(
        manual_files()
            .into_iter()
            .map(|name| format!("{top}/{name}")),
    );
    expected.sort();
    assert_eq!(names, expected);

    let dir = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .current_dir(dir.path()));
    let files = dir.path().join(top);
    let version = capture(
        Command::new(files.join("gatehouse"))
            .arg("--version")
            .current_dir(&files),
    );
    assert!(
        version.starts_with(&format!("gatehouse {}\n", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let hydra = capture(Command::new(files.join("hydra")).arg("version"));
    assert!(hydra.contains(PINNED_VERSION), "{hydra}");
    let unit = std::fs::read_to_string(files.join("gatehouse.service")).unwrap();
    assert_eq!(
        unit,
        std::fs::read_to_string(Path::new(REPO).join("systemd/gatehouse.service")).unwrap()
    );
    // The notices come from the tools, not from a hand-kept list.
    let rust = std::fs::read_to_string(files.join("THIRD-PARTY-NOTICES.rust.txt")).unwrap();
    for expected in ["tokio ", "rustls ", "Apache License", "MIT License"] {
        assert!(
            rust.contains(expected),
            "no {expected:?} in the Rust notices"
        );
    }
    let go = std::fs::read_to_string(files.join("THIRD-PARTY-NOTICES.go.txt")).unwrap();
    for expected in [
        "github.com/ory/hydra/v2 v2.3.0",
        "github.com/ory/fosite",
        "Go runtime and standard library",
    ] {
        assert!(go.contains(expected), "no {expected:?} in the Go notices");
    }
}

fn check_unit_verifies() {
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no", UNIT])
        .output()
        .expect("systemd-analyze is not installed: scripts/test installs it");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "systemd-analyze warns:\n{stderr}");
}

/// `gatehouse --version` of the installed binary: its version and commit,
/// the pinned Hydra, and what the packaged hydra.binary reports.
fn check_version_report() {
    let report = capture(
        Command::new("/usr/bin/gatehouse")
            .args(["--config", CONFIG, "--version"])
            .env_clear()
            .current_dir("/"),
    );
    let expected = [
        format!("gatehouse {}", env!("CARGO_PKG_VERSION")),
        format!("commit {GIT_COMMIT}"),
        format!("hydra {PINNED_VERSION} (pinned"),
        format!("hydra.binary /usr/lib/gatehouse/hydra: {PINNED_VERSION}"),
    ];
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{report}");
    for (line, expected) in lines.iter().zip(&expected) {
        assert!(line.starts_with(expected.as_str()), "{report}");
    }
    // A checkout has .git: the commit is known, and it is this one.
    if let Ok(head) = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(REPO)
        .output()
    {
        if head.status.success() {
            assert_eq!(GIT_COMMIT, String::from_utf8_lossy(&head.stdout).trim());
        }
    }
}

/// The packaged config pointed at free loopback ports.
struct EditedConfig {
    text: String,
    public_url: String,
}

fn edit_config() -> EditedConfig {
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    let mut text = std::fs::read_to_string(CONFIG).unwrap();
    for (from, to) in [
        (
            "listen = \"127.0.0.1:4455\"",
            format!("listen = \"127.0.0.1:{port}\""),
        ),
        (
            "public_url = \"http://localhost:4455\"",
            format!("public_url = \"{public_url}\""),
        ),
        (
            "public_port = 4444",
            format!("public_port = {}", free_port()),
        ),
        ("admin_port = 4445", format!("admin_port = {}", free_port())),
    ] {
        let line = format!("\n{from}\n");
        assert_eq!(text.matches(&line).count(), 1, "{from} in {CONFIG}");
        text = text.replace(&line, &format!("\n{to}\n"));
    }
    text.push_str("# edited by the package test\n");
    // Written in place: the file keeps its owner and mode.
    std::fs::write(CONFIG, &text).unwrap();
    EditedConfig { text, public_url }
}

/// `check-config`, `serve` (until a discovery document comes back) and
/// `doctor`, each as the `gatehouse` user with the packaged config.
async fn serve_as_the_service_user(config: &EditedConfig) {
    let checked = capture(&mut as_service_user(&["check-config"]));
    assert!(
        checked.contains(&format!("public_url = \"{}", config.public_url)),
        "{checked}"
    );

    let log = tempfile::NamedTempFile::new().unwrap();
    let mut served = ServedAsService(
        as_service_user(&["serve"])
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("start gatehouse serve"),
    );
    let url = format!("{}/.well-known/openid-configuration", config.public_url);
    let client = http_client();
    let deadline = Instant::now() + Duration::from_secs(90);
    let discovery: serde_json::Value = loop {
        if let Ok(answer) = client.get(&url).send().await {
            if answer.status().is_success() {
                break answer.json().await.unwrap();
            }
        }
        let log = std::fs::read_to_string(log.path()).unwrap_or_default();
        assert!(
            served.0.try_wait().unwrap().is_none(),
            "gatehouse serve exited:\n{log}"
        );
        assert!(Instant::now() < deadline, "no discovery document:\n{log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        discovery["issuer"]
            .as_str()
            .map(|i| i.trim_end_matches('/')),
        Some(config.public_url.as_str())
    );
    let sqlite = std::fs::metadata(Path::new(DATA).join("gatehouse.sqlite")).unwrap();
    assert_eq!(Some(sqlite.uid()), user_id("gatehouse"));

    let output = as_service_user(&["doctor"]).output().unwrap();
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    for expected in [
        format!(
            "ok: Hydra binary /usr/lib/gatehouse/hydra is {PINNED_VERSION}, the pinned version"
        ),
        format!("ok: the running Hydra is {PINNED_VERSION}, the pinned version"),
    ] {
        assert!(report.contains(&expected), "{report}");
    }

    crate::helpers::process::send_signal(served.0.id(), rustix::process::Signal::TERM);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = served.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "gatehouse did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let log = std::fs::read_to_string(log.path()).unwrap_or_default();
    assert!(status.success(), "{status}\n{log}");
}

/// The installed gatehouse with `args` and the packaged config, run as the
/// `gatehouse` user (setpriv execs it: the child's pid is gatehouse's).
fn as_service_user(args: &[&str]) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid=gatehouse",
            "--regid=gatehouse",
            "--init-groups",
            "--",
            "/usr/bin/gatehouse",
            "--config",
            CONFIG,
        ])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/")
        .stdin(Stdio::null());
    command
}

/// A running `gatehouse serve`, killed if the test fails first.
struct ServedAsService(Child);

impl Drop for ServedAsService {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn check_nothing_is_left() {
    assert_eq!(dpkg_version(), None, "dpkg still knows the package");
    for path in LEFT_BEHIND {
        assert!(
            std::fs::symlink_metadata(path).is_err(),
            "{path} is left after purge"
        );
    }
    assert_eq!(user("gatehouse"), None, "the gatehouse user is left");
    assert_eq!(group("gatehouse"), None, "the gatehouse group is left");
    let overrides = Command::new("dpkg-statoverride")
        .args(["--list", CONFIG])
        .output()
        .unwrap();
    assert!(
        overrides.stdout.is_empty(),
        "a stat override is left: {}",
        text(&overrides)
    );
}

/// Purges a package an earlier run of this test left (killed before its
/// guard ran); refuses to touch any other gatehouse on this machine.
fn purge_an_earlier_test_package() {
    match dpkg_version() {
        Some(version) if version.contains("+test") => {
            run(Command::new("dpkg").args(["--purge", "gatehouse"]));
        }
        Some(version) => panic!(
            "gatehouse {version} is installed on this machine, not by this test: \
             the test would replace and purge it, so it stops here"
        ),
        None => {}
    }
    for path in ["/etc/gatehouse", DATA, "/usr/bin/gatehouse"] {
        assert!(
            !Path::new(path).exists(),
            "{path} exists without a gatehouse package (a hand installation?): \
             the test would delete it when it purges, so it stops here"
        );
    }
    assert_eq!(
        user("gatehouse"),
        None,
        "a gatehouse user exists without a gatehouse package: the test would delete it"
    );
}

/// The installed (or half-installed, or removed with its config files
/// left) package's version; None when dpkg knows none.
fn dpkg_version() -> Option<String> {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Abbrev} ${Version}", "gatehouse"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (status, version) = text.split_once(' ')?;
    let version = version.trim();
    (output.status.success() && !status.starts_with("un") && !version.is_empty())
        .then(|| version.to_string())
}

fn user(name: &str) -> Option<String> {
    getent("passwd", name)
}

fn user_id(name: &str) -> Option<u32> {
    user(name)?.split(':').nth(2)?.parse().ok()
}

fn group(name: &str) -> Option<String> {
    getent("group", name)
}

fn getent(database: &str, name: &str) -> Option<String> {
    let output = Command::new("getent")
        .args([database, name])
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// `path` has `mode` (file type included), `uid` and `gid`.
fn assert_file(path: &str, mode: u32, uid: u32, gid: u32) {
    let metadata = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        (
            metadata.permissions().mode(),
            metadata.uid(),
            metadata.gid()
        ),
        (mode, uid, gid),
        "{path}: (mode, uid, gid)"
    );
}

/// Runs `command` to success; its output.
fn run(command: &mut Command) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(output.status.success(), "{command:?}\n{}", text(&output));
    output
}

/// Runs `command` to success; its stdout.
fn capture(command: &mut Command) -> String {
    String::from_utf8_lossy(&run(command).stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
