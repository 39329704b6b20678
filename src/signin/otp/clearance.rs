//! The bot challenge's share of a send: how many codes go out without a
//! proof, counted from the same rate-limit events as the code limits and in
//! the same transaction as the send.

use std::net::IpAddr;
use std::time::Duration;

use super::limits::network_key;
use super::{Limit, OtpError, OtpService};
use crate::config::ProofKind;
use crate::domain::PhoneNumber;
use crate::store::codes::{self, Exceeded, WindowLimit};
use crate::store::StoreError;

/// What the bot challenge (`crate::signin::bot_challenge`) leaves to the
/// send itself, which counts the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clearance {
    /// A proof passed, or none is asked for: the code limits alone apply.
    Cleared,
    /// No proof: the number and the client's network may have had at most
    /// `free_sends` codes this hour, checked in the same transaction that
    /// counts this one (concurrent requests cannot all slip under it).
    Unproven { free_sends: u32, kind: ProofKind },
}

impl OtpService {
    /// Has `phone` (when known) or `client_ip`'s network had `free_sends`
    /// codes this past hour? Then the bot challenge is asked.
    pub async fn free_sends_used(
        &self,
        phone: Option<&PhoneNumber>,
        client_ip: IpAddr,
        free_sends: u32,
    ) -> Result<bool, StoreError> {
        let limits = free_send_limits(phone, Some(client_ip), free_sends);
        let now = self.clock.now();
        self.store
            .run(move |db| Ok(codes::limit_reached(db, &limits, now)?.is_some()))
            .await
    }

    /// A limit stopped a code: counted, and told as throttling, as the bot
    /// challenge once the free codes are used up, or (a cap of
    /// `[sms.policy]`) as a refusal that names nothing.
    pub(super) fn refused(
        &self,
        exceeded: Exceeded<Limit>,
        phone: &PhoneNumber,
        clearance: Clearance,
    ) -> OtpError {
        let Exceeded { name, retry_after } = exceeded;
        if let (Limit::FreeSends, Clearance::Unproven { kind, .. }) = (name, clearance) {
            self.metrics.sms_refused(MISSING_PROOF, true);
            tracing::info!(rule = MISSING_PROOF, phone = %phone.masked(), "no code sent: the free codes are used up and no bot challenge was met");
            return OtpError::ProofRequired(kind);
        }
        if name.is_policy() {
            self.pumping.report(name.label(), phone, &self.metrics);
            return OtpError::PolicyRefused(name);
        }
        self.metrics.rate_limited(name.label());
        OtpError::Throttled {
            limit: name,
            retry_after: Duration::from_secs(retry_after.max(1) as u64),
        }
    }
}

/// What `gatehouse_sms_refused_total{rule}` and the log call a send refused
/// for want of a proof.
pub const MISSING_PROOF: &str = "bot_challenge_missing";

/// The free codes: at most `max` an hour to `phone` and from `client_ip`'s
/// network, counted from the same events as the other limits.
pub(super) fn free_send_limits(
    phone: Option<&PhoneNumber>,
    client_ip: Option<IpAddr>,
    max: u32,
) -> Vec<WindowLimit<Limit>> {
    let phone = phone.map(|phone| ("phone", phone.as_str().to_string()));
    let network = client_ip.map(|ip| ("ip", network_key(ip)));
    phone
        .into_iter()
        .chain(network)
        .map(|(kind, key)| WindowLimit {
            name: Limit::FreeSends,
            kind,
            key,
            window: 3600,
            max,
            enforced: true,
        })
        .collect()
}
