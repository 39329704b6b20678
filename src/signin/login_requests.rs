//! Hydra's login requests, as the browser sign-in reads them: the page asks
//! Hydra, and the form posts of the same sign-in on this instance take the
//! answer it kept instead of asking Hydra and the challenge memory again.
//!
//! Hydra 2 writes the whole login request into its challenge, so what it
//! answers for one challenge never changes: a kept answer is as good as a
//! fresh one while the challenge lives. Whether the challenge was answered
//! already is not part of it: the sign-in asks the challenge memory for
//! that on every post. A miss (another instance showed the page, the cache
//! was full, the challenge is close to its end) asks Hydra as before.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::hydra::{HydraClient, HydraError, LoginRequest};
use crate::infra::clock::Clock;
use crate::infra::ttl_cache::{SecretHash, TtlCache};

use super::challenges::ChallengeMemory;

/// Login requests kept at most: a few minutes of sign-ins at a busy
/// instance's rate, a few MB at most. Past it the expired ones go, then all.
const MAX_KEPT: usize = 1024;
/// A request is kept this long at most (seconds): the page's posts come
/// within minutes.
const KEPT_SECONDS: i64 = 600;
/// Nor in the last this many seconds of its challenge (which Hydra started
/// a moment before gatehouse first saw it): near the end, Hydra's own word
/// on whether it has expired counts.
const END_MARGIN_SECONDS: i64 = 30;

/// What the sign-in reads of Hydra's login request, with its challenge's
/// deadline. Small, since up to [`MAX_KEPT`] are kept: a whole request, its
/// client's registration included, takes several KB.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// The client's display name, or its id.
    pub client_name: String,
    pub client_id: String,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    pub acr_values: Vec<String>,
    /// Hydra remembers this browser's sign-in, as `subject`.
    pub skip: bool,
    pub subject: String,
    pub session_id: Option<String>,
    /// Unix seconds when the challenge expires (first sight + its lifetime).
    pub deadline: i64,
}

impl Login {
    fn new(request: LoginRequest, deadline: i64) -> Login {
        let client = request.client;
        Login {
            client_name: client.display_name().to_owned(),
            client_id: client.client_id,
            login_hint: request.oidc_context.login_hint,
            ui_locales: request.oidc_context.ui_locales,
            acr_values: request.oidc_context.acr_values,
            skip: request.skip,
            subject: request.subject,
            session_id: request.session_id,
            deadline,
        }
    }
}

#[derive(Clone)]
pub struct LoginRequests {
    hydra: HydraClient,
    challenges: ChallengeMemory,
    clock: Clock,
    kept: Arc<TtlCache<Arc<Login>>>,
}

impl LoginRequests {
    pub fn new(hydra: HydraClient, challenges: ChallengeMemory, clock: Clock) -> LoginRequests {
        LoginRequests {
            hydra,
            challenges,
            clock,
            kept: Arc::new(TtlCache::new(MAX_KEPT)),
        }
    }

    /// Asks Hydra, records the challenge's first sight, and keeps both for
    /// the sign-in's form posts.
    pub async fn fetch(&self, challenge: &str) -> Result<Arc<Login>, HydraError> {
        let request = self.hydra.login_request(challenge).await?;
        let deadline = self.challenges.seen(challenge, &request.request_url).await;
        let login = Arc::new(Login::new(request, deadline));
        let now = self.clock.now();
        let until = (deadline - END_MARGIN_SECONDS).min(now + KEPT_SECONDS);
        self.kept
            .insert(key(challenge), login.clone(), until, None, now);
        Ok(login)
    }

    /// The request as kept, else as [`LoginRequests::fetch`] gets it.
    pub async fn get(&self, challenge: &str) -> Result<Arc<Login>, HydraError> {
        match self.kept.get(&key(challenge), self.clock.now()) {
            Some(hit) => Ok(hit.value),
            None => self.fetch(challenge).await,
        }
    }
}

fn key(challenge: &str) -> SecretHash {
    Sha256::digest(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::{Arc, Mutex};

    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::{Json, Router};
    use serde_json::{json, Value};

    use super::*;
    use crate::store::Store;

    /// The challenges Hydra was asked about, in order.
    type Asked = Arc<Mutex<Vec<String>>>;

    /// Hydra's `GET /admin/oauth2/auth/requests/login` as v2.3.0 answers it:
    /// the request for a challenge it issued (here: any starting with
    /// `known`), 404 with its error document for any other.
    async fn login_request(
        State(asked): State<Asked>,
        Query(query): Query<HashMap<String, String>>,
    ) -> (StatusCode, Json<Value>) {
        let challenge = query.get("login_challenge").cloned().unwrap_or_default();
        asked.lock().unwrap().push(challenge.clone());
        if !challenge.starts_with("known") {
            let error = json!({"error": "Not Found", "error_description":
                "Unable to locate the requested resource", "status_code": 404});
            return (StatusCode::NOT_FOUND, Json(error));
        }
        let request = json!({
            "challenge": challenge,
            "requested_scope": ["openid"],
            "requested_access_token_audience": [],
            "skip": false,
            "subject": challenge,
            "oidc_context": {},
            "client": {"client_id": "app", "client_name": "App"},
            "request_url": format!("http://127.0.0.1/oauth2/auth?state={challenge}"),
            "session_id": "s1"
        });
        (StatusCode::OK, Json(request))
    }

    struct Setup {
        requests: LoginRequests,
        asked: Asked,
        clock: Clock,
        _dir: tempfile::TempDir,
    }

    /// Challenges live `lifetime` seconds.
    async fn started(lifetime: i64) -> Setup {
        let asked = Asked::default();
        let app = Router::new()
            .route("/admin/oauth2/auth/requests/login", get(login_request))
            .with_state(asked.clone());
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let admin = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite")).unwrap();
        let clock = Clock::manual(10_000);
        let challenges = ChallengeMemory::new(store, lifetime, clock.clone());
        let hydra = HydraClient::new(admin.parse().unwrap(), None);
        Setup {
            requests: LoginRequests::new(hydra, challenges, clock.clone()),
            asked,
            clock,
            _dir: dir,
        }
    }

    impl Setup {
        fn asked(&self) -> Vec<String> {
            self.asked.lock().unwrap().clone()
        }
    }

    #[tokio::test]
    async fn the_form_posts_take_the_pages_request_and_hydra_is_asked_once() {
        let setup = started(1800).await;
        let page = setup.requests.fetch("known-1").await.unwrap();
        assert_eq!(
            page.deadline,
            10_000 + 1800,
            "first sight plus the lifetime"
        );
        assert_eq!((&*page.client_name, page.skip), ("App", false));
        setup.clock.advance(60);
        for _ in 0..3 {
            let post = setup.requests.get("known-1").await.unwrap();
            assert_eq!(post, page);
        }
        assert_eq!(setup.asked(), ["known-1"]);
        // A reload of the page asks again.
        setup.requests.fetch("known-1").await.unwrap();
        assert_eq!(setup.asked().len(), 2);
    }

    #[tokio::test]
    async fn another_challenge_is_never_answered_from_ones_kept() {
        let setup = started(1800).await;
        setup.requests.fetch("known-a").await.unwrap();
        for other in ["known-a ", "known-A", "known-", "known-ab"] {
            let login = setup.requests.get(other).await.unwrap();
            assert_eq!(login.subject, other, "its own request");
        }
        assert_eq!(setup.asked().len(), 5, "each one asked of Hydra");
        // One Hydra does not know is refused, and asked again next time.
        for _ in 0..2 {
            let error = setup.requests.get("made-up").await.unwrap_err();
            assert!(matches!(error, HydraError::NotFound { .. }), "{error:?}");
        }
        assert_eq!(setup.asked().len(), 7, "a refusal is not kept");
    }

    #[tokio::test]
    async fn near_its_end_a_challenge_is_asked_of_hydra_again() {
        let setup = started(1800).await;
        let deadline = setup.requests.fetch("known-1").await.unwrap().deadline;
        // Kept for ten minutes at most.
        setup.clock.advance(KEPT_SECONDS - 1);
        setup.requests.get("known-1").await.unwrap();
        assert_eq!(setup.asked().len(), 1);
        setup.clock.advance(1);
        let again = setup.requests.get("known-1").await.unwrap();
        assert_eq!(setup.asked().len(), 2, "asked again after ten minutes");
        assert_eq!(again.deadline, deadline, "the first sight's deadline stays");

        // A challenge with less than the margin left is never kept.
        let short = started(END_MARGIN_SECONDS).await;
        short.requests.fetch("known-2").await.unwrap();
        short.requests.get("known-2").await.unwrap();
        assert_eq!(short.asked().len(), 2);
    }
}
