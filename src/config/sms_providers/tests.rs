//! `[sms.twilio]`, `[sms.vonage]`, `[sms.messagebird]`, `[sms.aws_sns]` and
//! `sms.senders` as read from a file.

use std::time::Duration;

use crate::config::tests::{assert_names_key, from_toml};
use crate::config::{SmsSenderKind, TwilioOrigin, VonageSignatureMethod};

const POLICY: &str = "[sms.policy]\nallowed_countries = [\"*\"]\n";
const TWILIO: &str = "[sms.twilio]\naccount_sid = \"AC0123\"\nauth_token = \"t\"\n\
                      from = \"+15005550006\"\n";
const VONAGE: &str = "[sms.vonage]\napi_key = \"k\"\napi_secret = \"t\"\nfrom = \"Acme\"\n";

#[test]
fn a_chain_of_senders_is_read_in_order_and_prints_back() {
    let toml = format!("[sms]\nsenders = [\"twilio\", \"vonage\"]\n{POLICY}{TWILIO}{VONAGE}");
    let config = from_toml(&toml).unwrap();
    let SmsSenderKind::Twilio(twilio) = &config.sms.sender else {
        panic!("{:?}", config.sms.sender);
    };
    assert_eq!(twilio.origin, TwilioOrigin::From("+15005550006".into()));
    assert_eq!(twilio.base_url.as_str(), "https://api.twilio.com/");
    assert!(!twilio.delivery_receipts);
    let names: Vec<&str> = config.sms.chain().map(SmsSenderKind::name).collect();
    assert_eq!(names, ["twilio", "vonage"]);
    // One attempt may take each sender's timeout in turn.
    assert_eq!(config.sms.attempt_timeout(), Duration::from_secs(20));
    let printed = config.to_toml();
    assert!(
        printed.contains("senders = [\n    \"twilio\",\n    \"vonage\",\n]"),
        "{printed}"
    );
    assert!(!printed.contains("auth_token = \"t\""), "{printed}");
    // The secrets print redacted: put them back to read it again.
    let again = printed.replace("\"(redacted)\"", "\"t\"");
    let again = from_toml(&again).unwrap();
    assert_eq!(again.sms.chain().count(), 2);
    assert_eq!(again.sms.fallbacks, config.sms.fallbacks);
}

#[test]
fn each_provider_is_read_from_its_section() {
    let sns = "[sms]\nsender = \"aws_sns\"\n[sms.aws_sns]\nregion = \"eu-west-1\"\n\
               access_key_id = \"AKID\"\nsecret_access_key = \"s\"\n";
    let config = from_toml(&format!("{sns}{POLICY}")).unwrap();
    let SmsSenderKind::AwsSns(aws) = &config.sms.sender else {
        panic!("{:?}", config.sms.sender);
    };
    assert_eq!(
        aws.base_url.as_str(),
        "https://sns.eu-west-1.amazonaws.com/"
    );
    let bird = "[sms]\nsender = \"messagebird\"\n[sms.messagebird]\naccess_key = \"k\"\n\
                originator = \"Gatehouse\"\n";
    let config = from_toml(&format!("{bird}{POLICY}")).unwrap();
    assert_eq!(config.sms.sender.name(), "messagebird");
    assert!(config.sms.fallbacks.is_empty());
}

#[test]
fn provider_settings_are_checked_naming_the_key() {
    let twilio = "[sms]\nsender = \"twilio\"\n";
    for (toml, key) in [
        (format!("{twilio}{POLICY}"), "`sms.twilio.from`"),
        (
            format!("{twilio}{POLICY}[sms.twilio]\nfrom = \"+1500\"\n"),
            "`sms.twilio.account_sid`",
        ),
        (
            format!("{twilio}{POLICY}{TWILIO}messaging_service_sid = \"MG1\"\n"),
            "`sms.twilio.from`",
        ),
        (
            format!("{twilio}{POLICY}{}", TWILIO.replace("AC0123", "XY0123")),
            "`sms.twilio.account_sid`",
        ),
        (
            format!("{twilio}{POLICY}{}", TWILIO.replace("\"t\"", "\" \"")),
            "`sms.twilio.auth_token`",
        ),
        (
            format!("[sms]\nsender = \"vonage\"\n{POLICY}[sms.vonage]\napi_key = \"k\"\n"),
            "`sms.vonage.from`",
        ),
        (
            format!(
                "[sms]\nsender = \"messagebird\"\n{POLICY}[sms.messagebird]\n\
                 access_key = \"k\"\noriginator = \"FarTooLongASender\"\n"
            ),
            "`sms.messagebird.originator`",
        ),
        (
            format!("[sms]\nsender = \"aws_sns\"\n{POLICY}[sms.aws_sns]\nregion = \"EU West\"\n"),
            "`sms.aws_sns.region`",
        ),
        (
            format!("[sms]\nsenders = [\"twilio\", \"twilio\"]\n{POLICY}{TWILIO}"),
            "`sms.senders`",
        ),
        (
            format!("[sms]\nsenders = [\"stdout\", \"twilio\"]\n{POLICY}{TWILIO}"),
            "`sms.senders`",
        ),
        (
            format!("[sms]\nsender = \"vonage\"\nsenders = [\"twilio\"]\n{POLICY}{TWILIO}{VONAGE}"),
            "`sms.senders`",
        ),
        // Vonage's receipts are read only when signed.
        (
            format!("[sms]\nsender = \"vonage\"\n{POLICY}{VONAGE}delivery_receipts = true\n"),
            "`sms.vonage.signature_secret`",
        ),
        (
            format!(
                "[sms]\nsender = \"vonage\"\n{POLICY}{VONAGE}delivery_receipts = true\n\
                 signature_secret = \"s\"\nsignature_method = \"crc32\"\n"
            ),
            "signature_method",
        ),
        (
            format!("[sms]\ncool_off = \"0s\"\n{POLICY}"),
            "`sms.cool_off`",
        ),
        (
            format!("{twilio}{POLICY}{TWILIO}timeout = \"0s\"\n"),
            "`sms.twilio.timeout`",
        ),
        // A gateway costs money: it needs a decision on countries.
        (
            format!("{twilio}{TWILIO}"),
            "`sms.policy.allowed_countries`",
        ),
    ] {
        assert_names_key(&toml, key);
    }
}

#[test]
fn a_section_not_in_use_may_stay_incomplete() {
    let config = from_toml("[sms.twilio]\naccount_sid = \"AC0123\"\n").unwrap();
    assert_eq!(config.sms.sender, SmsSenderKind::Stdout);
}

#[test]
fn vonage_receipts_take_the_dashboards_default_method() {
    let toml = format!(
        "[sms]\nsender = \"vonage\"\n{POLICY}{VONAGE}delivery_receipts = true\n\
         signature_secret = \"s\"\n"
    );
    let config = from_toml(&toml).unwrap();
    let SmsSenderKind::Vonage(vonage) = &config.sms.sender else {
        panic!("{:?}", config.sms.sender);
    };
    let receipts = vonage.delivery_receipts.as_ref().unwrap();
    assert_eq!(receipts.signature_method, VonageSignatureMethod::Md5hash);
    assert!(config.sms.notices.is_empty(), "{:?}", config.sms.notices);
    let printed = config.to_toml();
    assert!(
        printed.contains("signature_method = \"md5hash\""),
        "{printed}"
    );
    let sha512 = toml.replace(
        "signature_secret",
        "signature_method = \"sha512\"\nsignature_secret",
    );
    let config = from_toml(&sha512).unwrap();
    let SmsSenderKind::Vonage(vonage) = &config.sms.sender else {
        panic!("{:?}", config.sms.sender);
    };
    let receipts = vonage.delivery_receipts.as_ref().unwrap();
    assert_eq!(receipts.signature_method, VonageSignatureMethod::Sha512);
}

/// A signature secret that reads nothing is a warning naming the key,
/// not an error: a section not in use may stay as it is.
#[test]
fn an_idle_vonage_signature_secret_is_a_notice() {
    let receipts = "delivery_receipts = true\nsignature_secret = \"s\"\n";
    for (toml, key) in [
        (
            format!("[sms]\nsender = \"twilio\"\n{POLICY}{TWILIO}{VONAGE}{receipts}"),
            "`sms.vonage.signature_secret`",
        ),
        (
            "[sms.vonage]\nsignature_secret = \"s\"\n".to_string(),
            "`sms.vonage.signature_secret`",
        ),
        (
            "[sms.vonage]\ndelivery_receipts = true\n".to_string(),
            "`sms.vonage.delivery_receipts`",
        ),
        (
            format!("[sms]\nsender = \"vonage\"\n{POLICY}{VONAGE}signature_secret = \"s\"\n"),
            "`sms.vonage.signature_secret`",
        ),
    ] {
        let config = from_toml(&toml).unwrap();
        assert_eq!(config.sms.notices.len(), 1, "{toml}");
        assert!(
            config.sms.notices[0].contains(key),
            "{:?}",
            config.sms.notices
        );
    }
    let in_use =
        format!("[sms]\nsenders = [\"twilio\", \"vonage\"]\n{POLICY}{TWILIO}{VONAGE}{receipts}");
    assert!(from_toml(&in_use).unwrap().sms.notices.is_empty());
    assert!(from_toml("").unwrap().sms.notices.is_empty());
}
