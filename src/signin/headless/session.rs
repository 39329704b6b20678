//! A headless sign-in's stored session: saved when it starts, found while
//! it lives, and the sign-in completed on it (Hydra's login and consent,
//! the tokens) once the person proved themselves.

use super::{hash_session_id, HeadlessService, Started, MAX_SESSION_ID_LEN};
use crate::config::HeadlessClient;
use crate::directory::DirectoryUser;
use crate::domain::PhoneNumber;
use crate::hydra::public::{Authorization, Tokens};
use crate::signin::audit::Event;
use crate::signin::error::SignInError;
use crate::store::sessions::{self, NewSession};

impl HeadlessService {
    /// Stores a started sign-in's session under `id_hash` (its id's hash).
    pub(super) async fn save_session(
        &self,
        client: &HeadlessClient,
        phone: &PhoneNumber,
        id_hash: &[u8],
        authorization: Authorization,
    ) -> Result<Started, SignInError> {
        let now = self.otp.clock().now();
        let ttl = self.config.session_ttl;
        let client_id = client.client_id.clone();
        let (phone, id_hash) = (phone.clone(), id_hash.to_vec());
        self.store
            .run(move |conn| {
                sessions::insert(
                    conn,
                    &NewSession {
                        id_hash: &id_hash,
                        client_id: &client_id,
                        phone: phone.as_str(),
                        state: &authorization.state,
                        nonce: &authorization.nonce,
                        code_verifier: &authorization.code_verifier,
                        login_challenge: &authorization.login_challenge,
                        cookies: &authorization.cookies,
                        created_at: now,
                        expires_at: now + ttl.as_secs() as i64,
                    },
                )
            })
            .await?;
        Ok(Started {
            session_id: String::new(),
            expires_in: ttl,
        })
    }

    /// A live session by its id (the app's), with its id's hash and number;
    /// `event` learns the number and the client.
    pub(super) async fn live_session(
        &self,
        session_id: &str,
        event: &mut Event,
    ) -> Result<(sessions::Session, Vec<u8>, PhoneNumber), SignInError> {
        if session_id.is_empty() || session_id.len() > MAX_SESSION_ID_LEN {
            return Err(SignInError::InvalidSession);
        }
        let id_hash = hash_session_id(session_id);
        let now = self.otp.clock().now();
        let session = {
            let id_hash = id_hash.clone();
            self.store
                .run(move |conn| sessions::find_live(conn, &id_hash, now))
                .await?
                .ok_or(SignInError::InvalidSession)?
        };
        let phone = PhoneNumber::from_trusted_e164(session.phone.clone());
        *event = event.clone().phone(&phone).client(&session.client_id);
        Ok((session, id_hash, phone))
    }

    /// After `user` proved themselves on `session` (by `amr`): Hydra's
    /// login and consent, and the tokens.
    pub(super) async fn complete(
        &self,
        client: &HeadlessClient,
        session: sessions::Session,
        user: &DirectoryUser,
        amr: &str,
    ) -> Result<(Tokens, String), SignInError> {
        let authorization = Authorization {
            login_challenge: session.login_challenge,
            state: session.state,
            nonce: session.nonce,
            code_verifier: session.code_verifier,
            cookies: session.cookies,
        };
        let tokens = self.finish(client, authorization, user, amr).await?;
        tracing::info!(
            client_id = %client.client_id,
            subject = %user.id,
            "headless sign-in finished"
        );
        Ok((tokens, user.id.clone()))
    }
}
