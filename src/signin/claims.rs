//! Granted scopes + stored profile -> the claims that go into the tokens
//! (OIDC Core 5.4). One function serves the browser and the headless flow.

use serde_json::{json, Map, Value};

use crate::config::CustomClaim;
use crate::directory::{fields, DirectoryUser};

/// The standard scopes gatehouse knows how to fill, in the order pages list them.
pub const STANDARD_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];

/// Claims for the id_token (and so for `/userinfo`). `sub` is set by Hydra
/// from the login subject; only claims the user has a value for appear.
pub fn id_token_claims(granted_scopes: &[String], user: &DirectoryUser) -> Map<String, Value> {
    let mut claims = Map::new();
    let granted = |scope: &str| granted_scopes.iter().any(|s| s == scope);
    let profile = &user.profile;
    if granted("profile") {
        if let Some(name) = full_name(user) {
            claims.insert("name".into(), json!(name));
        }
        insert_some(&mut claims, "given_name", &profile.given_name);
        insert_some(&mut claims, "family_name", &profile.family_name);
    }
    if granted("email") {
        if let Some(email) = &profile.email {
            claims.insert("email".into(), json!(email));
            claims.insert("email_verified".into(), json!(profile.email_verified));
        }
    }
    if granted("phone") {
        if let Some(phone) = &user.phone {
            claims.insert("phone_number".into(), json!(phone));
            claims.insert("phone_number_verified".into(), json!(user.phone_verified));
        }
    }
    if granted("address") {
        let mut address = Map::new();
        insert_some(&mut address, "street_address", &profile.street_address);
        insert_some(&mut address, "locality", &profile.locality);
        insert_some(&mut address, "region", &profile.region);
        insert_some(&mut address, "postal_code", &profile.postal_code);
        insert_some(&mut address, "country", &profile.country);
        if !address.is_empty() {
            claims.insert("address".into(), Value::Object(address));
        }
    }
    claims
}

/// The claims `[[claims.custom]]` adds for the granted scopes, as
/// (id_token claims, access token claims). A field the user's record does
/// not have adds nothing.
pub fn custom_claims(
    granted_scopes: &[String],
    user: &DirectoryUser,
    custom: &[CustomClaim],
) -> (Map<String, Value>, Map<String, Value>) {
    let mut id_token = Map::new();
    let mut access_token = Map::new();
    for rule in custom {
        if !granted_scopes.contains(&rule.scope) {
            continue;
        }
        let Some(value) = fields::lookup(&user.record, &rule.field).filter(|v| !v.is_null()) else {
            continue;
        };
        if rule.into.id_token() {
            id_token.insert(rule.claim.clone(), value.clone());
        }
        if rule.into.access_token() {
            access_token.insert(rule.claim.clone(), value.clone());
        }
    }
    (id_token, access_token)
}

/// "Given Family", or whichever of the two the user has.
pub fn full_name(user: &DirectoryUser) -> Option<String> {
    let parts: Vec<&str> = [&user.profile.given_name, &user.profile.family_name]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The scopes to grant: requested ones the client is allowed to have.
pub fn grantable_scopes(requested: &[String], client_scope: &str) -> Vec<String> {
    let allowed: Vec<&str> = client_scope.split_whitespace().collect();
    let mut granted: Vec<String> = Vec::new();
    for scope in requested {
        if allowed.contains(&scope.as_str()) && !granted.contains(scope) {
            granted.push(scope.clone());
        }
    }
    granted
}

/// The one scope a person cannot untick: without it there is no sign-in.
pub const REQUIRED_SCOPE: &str = "openid";

/// A consent form ticked a scope that was not offered.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the scope `{0}` was not offered")]
pub struct ScopeNotOffered(pub String);

/// What the person's ticks grant out of the `offered` scopes (see
/// [`grantable_scopes`]): the ticked ones, and [`REQUIRED_SCOPE`] whenever
/// it was asked for. A tick for anything not offered is refused, so a
/// crafted form cannot widen the grant.
pub fn chosen_scopes(
    offered: &[String],
    ticked: &[String],
) -> Result<Vec<String>, ScopeNotOffered> {
    if let Some(extra) = ticked.iter().find(|scope| !offered.contains(scope)) {
        return Err(ScopeNotOffered(extra.clone()));
    }
    Ok(offered
        .iter()
        .filter(|scope| scope.as_str() == REQUIRED_SCOPE || ticked.contains(scope))
        .cloned()
        .collect())
}

fn insert_some(claims: &mut Map<String, Value>, name: &str, value: &Option<String>) {
    if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
        claims.insert(name.into(), json!(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClaimTarget;
    use crate::store::users::{Profile, User};

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_ticks_choose_among_the_offered_scopes_only() {
        let offered = scopes(&["openid", "profile", "email"]);
        let chosen = |ticked: &[&str]| chosen_scopes(&offered, &scopes(ticked));
        assert_eq!(chosen(&["profile"]), Ok(scopes(&["openid", "profile"])));
        assert_eq!(
            chosen(&[]),
            Ok(scopes(&["openid"])),
            "openid alone is an answer"
        );
        assert_eq!(
            chosen(&["email", "openid", "email"]),
            Ok(scopes(&["openid", "email"]))
        );
        assert_eq!(chosen(&["address"]), Err(ScopeNotOffered("address".into())));
        assert_eq!(chosen(&["email", ""]), Err(ScopeNotOffered(String::new())));
        // Without openid asked for, nothing is required.
        let oauth_only = scopes(&["read", "write"]);
        assert_eq!(
            chosen_scopes(&oauth_only, &scopes(&["read"])),
            Ok(scopes(&["read"]))
        );
    }

    fn user() -> DirectoryUser {
        DirectoryUser::from(User {
            id: "u1".into(),
            phone: "+12015550123".into(),
            profile: Profile {
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                email: Some("ada@example.com".into()),
                email_verified: true,
                street_address: Some("12 Analytical St".into()),
                locality: Some("London".into()),
                region: None,
                postal_code: Some("N1".into()),
                country: Some("GB".into()),
            },
            phone_verified: true,
            disabled: false,
            created_at: 0,
            updated_at: 0,
        })
    }

    fn keys(scopes: &[&str], user: &DirectoryUser) -> Vec<String> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let mut keys: Vec<String> = id_token_claims(&scopes, user).keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn each_scope_adds_exactly_its_claims() {
        let user = user();
        assert!(keys(&["openid"], &user).is_empty());
        assert_eq!(
            keys(&["openid", "profile"], &user),
            ["family_name", "given_name", "name"]
        );
        assert_eq!(
            keys(&["openid", "email"], &user),
            ["email", "email_verified"]
        );
        assert_eq!(
            keys(&["openid", "phone"], &user),
            ["phone_number", "phone_number_verified"]
        );
        assert_eq!(keys(&["openid", "address"], &user), ["address"]);
        let claims = id_token_claims(&["address".to_string()], &user);
        assert_eq!(
            claims["address"],
            json!({"street_address": "12 Analytical St", "locality": "London",
                   "postal_code": "N1", "country": "GB"})
        );
        assert_eq!(
            id_token_claims(&["profile".to_string()], &user)["name"],
            "Ada Lovelace"
        );
    }

    #[test]
    fn missing_values_are_left_out() {
        let mut user = user();
        user.profile = Profile::default();
        assert!(keys(&["openid", "profile", "email", "address"], &user).is_empty());
        assert_eq!(
            keys(&["phone"], &user),
            ["phone_number", "phone_number_verified"],
            "every user has a phone"
        );
        user.profile.family_name = Some("Hopper".into());
        assert_eq!(
            id_token_claims(&["profile".to_string()], &user)["name"],
            "Hopper"
        );
    }

    #[test]
    fn custom_claims_follow_their_scope_and_target() {
        let mut user = user();
        user.record
            .insert("roles".into(), json!(["admin", "billing"]));
        user.record.insert("org".into(), json!({"id": 7}));
        let rule = |scope: &str, claim: &str, field: &str, into| CustomClaim {
            scope: scope.into(),
            claim: claim.into(),
            field: field.into(),
            into,
        };
        let custom = [
            rule("roles", "roles", "roles", ClaimTarget::AccessToken),
            rule("org", "org_id", "org.id", ClaimTarget::Both),
            rule("org", "missing", "no_such_field", ClaimTarget::Both),
        ];
        let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();

        let (id, access) = custom_claims(&scopes(&["openid"]), &user, &custom);
        assert!(
            id.is_empty() && access.is_empty(),
            "no custom scope granted"
        );

        let (id, access) = custom_claims(&scopes(&["openid", "roles"]), &user, &custom);
        assert!(id.is_empty());
        assert_eq!(access["roles"], json!(["admin", "billing"]));

        let (id, access) = custom_claims(&scopes(&["org"]), &user, &custom);
        assert_eq!(id, json!({"org_id": 7}).as_object().unwrap().clone());
        assert_eq!(access, id);
    }

    #[test]
    fn only_allowed_scopes_are_granted() {
        let requested: Vec<String> = ["openid", "email", "admin", "email"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            grantable_scopes(&requested, "openid offline_access email"),
            ["openid", "email"]
        );
    }
}
