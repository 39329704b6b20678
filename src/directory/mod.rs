//! The user directory: who a phone number or a subject id belongs to.
//!
//! Login, consent and claims ask the directory, never the users table
//! directly, so gatehouse can sign in people who live in its own SQLite table
//! (`embedded`), in an existing user service (`http`) or in an existing
//! database (`sql`). Codes, limits and sessions always stay in gatehouse's
//! own store, whatever the directory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::config::{DirectoryConfig, DirectoryKind, FieldMapping};
use crate::domain::PhoneNumber;
use crate::infra::metrics::Metrics;
use crate::store::users::{self, Profile, User};
use crate::store::{Db, Store, StoreError};

pub mod fields;
mod grpc;
mod http;
mod sql;

/// A person as the directory knows them, mapped onto gatehouse's profile.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryUser {
    /// The stable id that becomes the tokens' `sub`.
    pub id: String,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub profile: Profile,
    pub disabled: bool,
    /// Every field of the directory's record, for custom claims.
    pub record: Map<String, Value>,
}

impl From<User> for DirectoryUser {
    fn from(user: User) -> Self {
        let record = match serde_json::to_value(&user) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        DirectoryUser {
            id: user.id,
            phone: Some(user.phone),
            phone_verified: user.phone_verified,
            profile: user.profile,
            disabled: user.disabled,
            record,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The user service or database did not answer, or answered nonsense.
    #[error("the user directory is unavailable: {0}")]
    Unavailable(String),
    /// A record does not fit `[directory.fields]`: an operator's fix.
    #[error("the user directory answered a record gatehouse cannot use: {0}")]
    BadRecord(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One lookup: by phone (at sign-in) or by subject id (consent, remembered logins).
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Phone(&'a PhoneNumber),
    Id(&'a str),
}

impl Key<'_> {
    fn cache_key(&self) -> String {
        match self {
            Key::Phone(phone) => format!("phone:{}", phone.as_str()),
            Key::Id(id) => format!("id:{id}"),
        }
    }
}

#[derive(Clone)]
enum Source {
    Embedded(Store),
    External(Arc<External>),
}

/// A directory gatehouse only reads.
enum External {
    Http(http::HttpDirectory),
    Sql(sql::SqlDirectory),
    Grpc(grpc::GrpcDirectory),
}

impl External {
    /// The record for `key`, as the directory holds it; `None` when nobody has it.
    async fn fetch(&self, key: Key<'_>) -> Result<Option<Map<String, Value>>, DirectoryError> {
        match self {
            External::Http(http) => http.fetch(key).await,
            External::Sql(sql) => sql.fetch(key).await,
            External::Grpc(grpc) => grpc.fetch(key).await,
        }
    }
}

#[derive(Clone)]
pub struct Directory {
    source: Source,
    fields: Arc<FieldMapping>,
    cache: Arc<LookupCache>,
    metrics: Metrics,
}

impl Directory {
    /// The directory `[directory]` names; `store` is gatehouse's own.
    pub fn from_config(
        config: &DirectoryConfig,
        store: Store,
    ) -> Result<Directory, DirectoryError> {
        match config.kind {
            DirectoryKind::Embedded => Ok(Directory::embedded(store)),
            DirectoryKind::Http(_) | DirectoryKind::Sql(_) | DirectoryKind::Grpc(_) => {
                Directory::external(config)
            }
        }
    }

    /// An `http`, `sql` or `grpc` directory. Nothing is contacted yet: an
    /// unreachable service must not stop gatehouse from starting.
    pub fn external(config: &DirectoryConfig) -> Result<Directory, DirectoryError> {
        let external = match &config.kind {
            DirectoryKind::Http(service) => {
                External::Http(http::HttpDirectory::new(service, &config.http)?)
            }
            DirectoryKind::Sql(database) => {
                External::Sql(sql::SqlDirectory::new(database, &config.sql)?)
            }
            DirectoryKind::Grpc(url) => {
                External::Grpc(grpc::GrpcDirectory::new(url, &config.grpc)?)
            }
            DirectoryKind::Embedded => {
                return Err(DirectoryError::Unavailable(
                    "the embedded directory is gatehouse's own store".into(),
                ))
            }
        };
        Ok(Directory {
            source: Source::External(Arc::new(external)),
            fields: Arc::new(config.fields.clone()),
            cache: Arc::new(LookupCache::new(config.cache_ttl)),
            metrics: Metrics::default(),
        })
    }

    /// Gatehouse's own users table.
    pub fn embedded(store: Store) -> Directory {
        Directory {
            source: Source::Embedded(store),
            fields: Arc::new(FieldMapping::default()),
            cache: Arc::new(LookupCache::new(Duration::ZERO)),
            metrics: Metrics::default(),
        }
    }

    /// Counts lookups and outages in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Directory {
        self.metrics = metrics;
        self
    }

    /// Does gatehouse own these users (and so may create and update them)?
    pub fn is_embedded(&self) -> bool {
        matches!(self.source, Source::Embedded(_))
    }

    pub async fn find_by_phone(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Option<DirectoryUser>, DirectoryError> {
        self.find(Key::Phone(phone)).await
    }

    pub async fn find_by_id(&self, id: &str) -> Result<Option<DirectoryUser>, DirectoryError> {
        self.find(Key::Id(id)).await
    }

    /// Starts looking `phone` up for work that is about to run on `store`.
    /// When this is the embedded directory on that same store, the lookup is
    /// left to [`PhoneLookup::resolve`] inside that work: one trip to the
    /// store's thread instead of two (a code is issued or checked right after
    /// the lookup). Any other directory is asked now.
    pub async fn phone_lookup(
        &self,
        phone: &PhoneNumber,
        store: &Store,
    ) -> Result<PhoneLookup, DirectoryError> {
        match &self.source {
            Source::Embedded(own) if own.same_as(store) => Ok(PhoneLookup::InStore {
                phone: phone.clone(),
                metrics: self.metrics.clone(),
            }),
            _ => Ok(PhoneLookup::Answered(
                self.find_by_phone(phone).await?.map(Box::new),
            )),
        }
    }

    async fn find(&self, key: Key<'_>) -> Result<Option<DirectoryUser>, DirectoryError> {
        let found = self.find_uncounted(key).await;
        self.metrics.directory_lookup(lookup_label(&found));
        found
    }

    async fn find_uncounted(&self, key: Key<'_>) -> Result<Option<DirectoryUser>, DirectoryError> {
        let external = match &self.source {
            Source::Embedded(store) => return Ok(find_embedded(store, key).await?),
            Source::External(external) => external,
        };
        let cache_key = key.cache_key();
        if let Some(found) = self.cache.get(&cache_key) {
            return Ok(found);
        }
        let looked_up_phone = match key {
            Key::Phone(phone) => Some(phone),
            Key::Id(_) => None,
        };
        let found = external
            .fetch(key)
            .await?
            .map(|record| fields::to_user(record, &self.fields, looked_up_phone))
            .transpose()?;
        self.cache.put(cache_key, found.clone());
        Ok(found)
    }

    /// Checks that the directory answers (for `gatehouse doctor`): a lookup
    /// of a subject id nobody has.
    pub async fn probe(&self) -> Result<(), DirectoryError> {
        self.find(Key::Id("gatehouse-doctor-probe"))
            .await
            .map(|_| ())
    }
}

/// A phone lookup prepared by [`Directory::phone_lookup`].
pub enum PhoneLookup {
    /// The directory has answered (boxed: a user is much larger than the
    /// other variant).
    Answered(Option<Box<DirectoryUser>>),
    /// Gatehouse's own users table, read by [`PhoneLookup::resolve`].
    InStore {
        phone: PhoneNumber,
        metrics: Metrics,
    },
}

impl PhoneLookup {
    /// The person the phone belongs to; run on the store's thread. Counted
    /// in the lookup metrics like any other directory lookup.
    pub fn resolve(self, db: &Db) -> Result<Option<DirectoryUser>, StoreError> {
        let (phone, metrics) = match self {
            PhoneLookup::Answered(user) => return Ok(user.map(|user| *user)),
            PhoneLookup::InStore { phone, metrics } => (phone, metrics),
        };
        let found = users::find_by_phone(db, &phone).map(|user| user.map(DirectoryUser::from));
        metrics.directory_lookup(lookup_label(&found));
        found
    }
}

/// The `result` label of `gatehouse_directory_lookups_total`.
fn lookup_label<E>(found: &Result<Option<DirectoryUser>, E>) -> &'static str {
    match found {
        Ok(Some(_)) => "found",
        Ok(None) => "not_found",
        Err(_) => "unavailable",
    }
}

async fn find_embedded(store: &Store, key: Key<'_>) -> Result<Option<DirectoryUser>, StoreError> {
    let user = match key {
        Key::Phone(phone) => {
            let phone = phone.clone();
            store
                .run(move |conn| users::find_by_phone(conn, &phone))
                .await?
        }
        Key::Id(id) => {
            let id = id.to_string();
            store.run(move |conn| users::find_by_id(conn, &id)).await?
        }
    };
    Ok(user.map(DirectoryUser::from))
}

/// Recent answers of an outside directory, found or not, for `cache_ttl`:
/// a sign-in looks the same person up several times within seconds.
struct LookupCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Option<DirectoryUser>, Instant)>>,
}

/// Bounds the cache's memory whatever phones are tried.
const CACHE_MAX_ENTRIES: usize = 10_000;

impl LookupCache {
    fn new(ttl: Duration) -> LookupCache {
        LookupCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    fn get(&self, key: &str) -> Option<Option<DirectoryUser>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, stored)| stored.elapsed() < self.ttl)
            .map(|(user, _)| user.clone())
    }

    fn put(&self, key: String, user: Option<DirectoryUser>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_MAX_ENTRIES {
            entries.retain(|_, (_, stored)| stored.elapsed() < self.ttl);
            if entries.len() >= CACHE_MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (user, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn embedded_phone_lookups_run_inside_the_same_stores_call() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("own.sqlite")).unwrap();
        let other = Store::open(&dir.path().join("other.sqlite")).unwrap();
        let phone = PhoneNumber::parse("+12015550100", None).unwrap();
        let created = {
            let phone = phone.clone();
            store
                .run(move |conn| users::find_or_create(conn, &phone, 1_700_000_000))
                .await
                .unwrap()
        };
        let directory = Directory::embedded(store.clone());

        let lookup = directory.phone_lookup(&phone, &store).await.unwrap();
        assert!(matches!(lookup, PhoneLookup::InStore { .. }));
        let found = store.run(move |conn| lookup.resolve(conn)).await.unwrap();
        assert_eq!(found.map(|user| user.id), Some(created.id.clone()));

        // Work on another store: the directory answers first, from its own.
        let lookup = directory.phone_lookup(&phone, &other).await.unwrap();
        assert!(matches!(lookup, PhoneLookup::Answered(Some(_))));
        let found = other.run(move |conn| lookup.resolve(conn)).await.unwrap();
        assert_eq!(found.map(|user| user.id), Some(created.id));
    }
}
