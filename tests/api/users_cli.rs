//! `gatehouse users ...` run as the real binary on a real SQLite file.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            format!(
                "data_dir = {:?}\n[users]\ndefault_region = \"US\"\n",
                dir.path().join("data")
            ),
        )
        .unwrap();
        Cli { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .args(args)
            .current_dir(self.dir.path())
            .env("GATEHOUSE_LOG__LEVEL", "warn")
            .output()
            .expect("run gatehouse")
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "gatehouse {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs and expects failure; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "gatehouse {args:?} should fail");
        String::from_utf8(output.stderr).unwrap()
    }

    fn show(&self, user: &str) -> Value {
        serde_json::from_str(&self.ok(&["users", "show", user])).unwrap()
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }
}

#[test]
fn add_show_list_disable_and_enable() {
    let cli = Cli::new();
    let id = cli.ok(&[
        "users",
        "add",
        "--phone",
        "(201) 555-0100",
        "--given-name",
        "Ada",
        "--family-name",
        "Lovelace",
        "--email",
        "ada@example.com",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 32);

    let by_phone = cli.show("+12015550100");
    assert_eq!(by_phone["id"], id);
    assert_eq!(by_phone["given_name"], "Ada");
    assert_eq!(by_phone["email"], "ada@example.com");
    assert_eq!(by_phone["disabled"], false);
    assert_eq!(cli.show(id)["phone"], "+12015550100");

    let list = cli.ok(&["users", "list"]);
    assert!(list.contains(id) && list.contains("Ada Lovelace"), "{list}");
    assert!(list.contains("1 users"), "{list}");

    // No gatehouse is running here, so existing sessions cannot be revoked:
    // the user is disabled anyway, and the operator is told what to run.
    let stderr = cli.fails(&["users", "disable", "+12015550100"]);
    assert!(
        stderr.contains(&format!("gatehouse sessions revoke --subject {id} --all")),
        "{stderr}"
    );
    assert_eq!(cli.show(id)["disabled"], true);
    assert!(cli.ok(&["users", "list"]).contains("disabled"));
    cli.ok(&["users", "enable", id]);
    assert_eq!(cli.show(id)["disabled"], false);
}

#[test]
fn mistakes_get_one_clear_line() {
    let cli = Cli::new();
    cli.ok(&["users", "add", "--phone", "+12015550101"]);
    for (args, expected) in [
        (
            vec!["users", "add", "--phone", "+1 201 555 0101"],
            "already exists",
        ),
        (
            vec!["users", "add", "--phone", "call me maybe"],
            "does not look like a phone number",
        ),
        (
            vec!["users", "show", "nobody"],
            "no user with id or phone `nobody`",
        ),
        (vec!["users", "disable", "+12015550199"], "no user"),
        (vec!["users", "enable", "nobody"], "no user"),
        (vec!["users", "import", "missing.csv"], "cannot read"),
    ] {
        let stderr = cli.fails(&args);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("gatehouse: "), "{stderr}");
    }
}

#[test]
fn import_keeps_good_lines_reports_bad_ones_and_is_idempotent() {
    let cli = Cli::new();
    let file = cli.write(
        "users.csv",
        "phone,given_name,family_name,email,email_verified,locality,country\n\
         +12015550110,Grace,Hopper,grace@example.com,true,Arlington,US\n\
         not-a-phone,Bad,Phone,,,,\n\
         (201) 555-0111,Alan,Turing,,,,\n\
         +12015550112,Bad,Flag,x@example.com,maybe,,\n\
         +12015550110,Dup,Line,,,,\n\
         +12015550113,Bad,Email,no-at-sign,,,\n",
    );
    let output = cli.run(&["users", "import", &file]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !output.status.success(),
        "failed lines give a failing exit code"
    );
    assert!(
        stdout.contains("2 created, 0 updated, 0 unchanged, 4 failed"),
        "{stdout}"
    );
    for expected in [
        "line 3: phone `not-a-phone`",
        "line 5: email_verified `maybe`",
        "line 6: phone +12015550110 is already on line 2",
        "line 7: email `no-at-sign`",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let grace = cli.show("+12015550110");
    assert_eq!(grace["family_name"], "Hopper");
    assert_eq!(grace["email_verified"], true);
    assert_eq!(grace["locality"], "Arlington");
    assert_eq!(cli.show("+12015550111")["given_name"], "Alan");

    // Re-importing the same file changes nothing, not even timestamps.
    let before = cli.ok(&["users", "show", "+12015550110"]);
    let again = cli.run(&["users", "import", &file]);
    let stdout = String::from_utf8(again.stdout).unwrap();
    assert!(
        stdout.contains("0 created, 0 updated, 2 unchanged, 4 failed"),
        "{stdout}"
    );
    assert_eq!(cli.ok(&["users", "show", "+12015550110"]), before);

    // A corrected file updates in place and keeps the id.
    let id = grace["id"].clone();
    let fixed = cli.write(
        "fixed.csv",
        "phone,given_name,family_name\n+12015550110,Grace,Brewster Hopper\n",
    );
    let stdout = cli.ok(&["users", "import", &fixed]);
    assert!(
        stdout.contains("0 created, 1 updated, 0 unchanged, 0 failed"),
        "{stdout}"
    );
    let grace = cli.show("+12015550110");
    assert_eq!(grace["id"], id);
    assert_eq!(grace["family_name"], "Brewster Hopper");
}

#[test]
fn a_header_with_an_unknown_column_is_refused_before_any_change() {
    let cli = Cli::new();
    let file = cli.write("typo.csv", "phone,givenname\n+12015550120,Typo\n");
    let stderr = cli.fails(&["users", "import", &file]);
    assert!(stderr.contains("unknown column `givenname`"), "{stderr}");
    assert!(cli.ok(&["users", "list"]).contains("0 users"));
    assert!(Path::new(&file).exists());
}

#[test]
fn with_an_outside_directory_the_users_commands_refuse_and_say_why() {
    let cli = Cli::new();
    let config = cli.dir.path().join("config.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml = toml.replace("[users]\n", "[users]\nsignup = \"closed\"\n");
    toml.push_str(
        "[directory]\nkind = \"http\"\n[directory.http]\nbase_url = \"http://127.0.0.1:9/api\"\n",
    );
    std::fs::write(&config, toml).unwrap();
    let stderr = cli.fails(&["users", "add", "--phone", "+12015550123"]);
    assert!(stderr.contains("directory.kind = \"http\""), "{stderr}");
    assert!(
        !cli.dir.path().join("data/gatehouse.sqlite").exists(),
        "nothing was written"
    );
}
