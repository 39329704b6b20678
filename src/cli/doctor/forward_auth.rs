//! Forward auth's settings: rules without an audience let in a token that
//! any client got, for any API.

use super::{ok, skip, warning, Finding};
use crate::config::Config;

pub(super) fn audience(config: &Config) -> Finding {
    let forward_auth = &config.forward_auth;
    match (&forward_auth.audience, forward_auth.rules.is_empty()) {
        (Some(audience), _) => ok(format!(
            "forward auth requires the audience {audience} in every token"
        )),
        (None, true) => skip("forward-auth audience: no [[forward_auth.rules]] are configured"),
        (None, false) => warning(
            "[[forward_auth.rules]] are configured without forward_auth.audience: \
             a token any client got passes every protected API",
            "set forward_auth.audience to your API's name, give its clients that audience \
             (gatehouse clients create --audience ...) and have them ask for it (audience=...)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ForwardAuthRule;

    #[test]
    fn rules_without_an_audience_are_warned_about() {
        let mut config = Config::default();
        assert!(matches!(audience(&config), Finding::Skip(_)));
        config.forward_auth.rules = vec![ForwardAuthRule {
            prefix: "/admin".into(),
            scopes: vec!["admin".into()],
        }];
        match audience(&config) {
            Finding::Warning { what, fix } => {
                assert!(what.contains("forward_auth.audience"), "{what}");
                assert!(fix.contains("--audience"), "{fix}");
            }
            other => panic!("expected a warning, got {other}"),
        }
        config.forward_auth.audience = Some("https://api.example.com".into());
        assert_eq!(
            audience(&config).to_string(),
            "ok: forward auth requires the audience https://api.example.com in every token"
        );
    }
}
