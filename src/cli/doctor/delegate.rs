//! Doctor's check of the code delegate (`otp.issuer`): reached without
//! sending a code.

use super::outbound::accepts_connections;
use super::{ok, problem, skip, Finding, PROBE_TIMEOUT};
use crate::config::{CodeIssuer, Config};
use crate::sms::delegate::CodeDelegate;

pub(super) async fn code_delegate(config: &Config) -> Finding {
    let otp = &config.otp;
    let issuer = otp.issuer.as_str();
    let fix = format!(
        "check [otp.{issuer}] (its url or base_url, credentials, ca_file), DNS and the \
         firewall: while it does not answer, nobody can sign in"
    );
    if otp.issuer == CodeIssuer::Http {
        if let Some(url) = &otp.http.url {
            let ca_file = otp.http.ca_file.as_ref();
            let name = "code delegate (otp.http)";
            return accepts_connections(name, url, ca_file, otp.http.timeout, &fix).await;
        }
    }
    let delegate = match CodeDelegate::from_config(otp) {
        Ok(Some(delegate)) => delegate,
        Ok(None) => return skip("code delegate: otp.issuer is \"gatehouse\" (it sends its own)"),
        Err(e) => return problem(e.to_string(), fix),
    };
    match tokio::time::timeout(PROBE_TIMEOUT * 2, delegate.probe()).await {
        Ok(Ok(said)) => ok(format!("code delegate ({issuer}): {said}")),
        Ok(Err(why)) => problem(format!("code delegate ({issuer}): {why}"), fix),
        Err(_) => problem(
            format!(
                "code delegate ({issuer}) did not answer within {:?}",
                PROBE_TIMEOUT * 2
            ),
            fix,
        ),
    }
}
