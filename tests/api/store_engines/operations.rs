//! Every store operation, the same calls and the same answers, on SQLite
//! and on PostgreSQL.

use gatehouse::domain::PhoneNumber;
use gatehouse::infra::clock::Clock;
use gatehouse::jobs::{self, Retention};
use gatehouse::store::audit::{self, AuditFilter, AuditRow, NewAuditRow};
use gatehouse::store::receipts::{self, Handed, ReceiptStatus};
use gatehouse::store::sessions::{self, Cookies, NewSession};
use gatehouse::store::users::{self, Profile, Upserted};
use gatehouse::store::{codes, event_outbox, outbox, proofs, StoreError};

use super::{challenge, fresh, per_phone, ENGINES};

const NOW: i64 = 1_800_000_000;

#[tokio::test]
async fn codes_limits_and_single_use_behave_alike_on_both_engines() {
    for engine in ENGINES {
        let db = fresh(engine).await;
        let phone = "+12015550123";
        let answers = db
            .store
            .run(move |db| {
                let limits = per_phone(phone, 2);
                let first =
                    codes::issue_challenge(db, &challenge("c1", "f", phone, NOW, false), &limits)?;
                let second = codes::issue_challenge(
                    db,
                    &challenge("c2", "f", phone, NOW + 10, false),
                    &limits,
                )?;
                let third = codes::issue_challenge(
                    db,
                    &challenge("c3", "g", phone, NOW + 20, false),
                    &limits,
                )?;
                let current = codes::current_challenge(db, "f", phone)?.map(|c| c.id);
                let other_phone = codes::current_challenge(db, "f", "+12015550199")?;
                let wrong: Vec<Option<u32>> = (0..4)
                    .map(|_| codes::record_wrong_attempt(db, "c1"))
                    .collect::<Result<_, _>>()?;
                let used = (
                    codes::consume(db, "c1", NOW + 30)?,
                    codes::consume(db, "c2", NOW + 30)?,
                    codes::consume(db, "c2", NOW + 31)?,
                    codes::consume(db, "c2", NOW + 400)?,
                );
                let consumed = codes::current_challenge(db, "f", phone)?.map(|c| c.consumed);
                codes::record_verified(db, "US", 100)?;
                codes::record_verified(db, "US", 100)?;
                codes::record_verified(db, "US", 99)?;
                let days = codes::verified_days(db, "US", 90, 100)?;
                for _ in 0..3 {
                    codes::record_failure(db, phone, NOW)?;
                }
                let failures = codes::failures_exceeded(db, phone, 3, 3600, NOW + 60)?;
                let no_failures = codes::failures_exceeded(db, "+12015550199", 3, 3600, NOW)?;
                let purged = codes::purge(db, NOW + 10_000, NOW + 10_000, 101)?;
                Ok((
                    first,
                    second,
                    third,
                    current,
                    other_phone.is_none(),
                    wrong,
                    used,
                    consumed,
                    days,
                    failures,
                    no_failures,
                    purged,
                ))
            })
            .await
            .unwrap();
        let (
            first,
            second,
            third,
            current,
            other_phone,
            wrong,
            used,
            consumed,
            days,
            failures,
            no_failures,
            purged,
        ) = answers;
        assert_eq!(first, Ok(vec![]), "{engine:?}");
        assert_eq!(second, Ok(vec![]), "{engine:?}");
        let exceeded = third.expect_err("the third code in the hour is refused");
        assert_eq!(exceeded.retry_after, 3600 - 20, "{engine:?}");
        assert_eq!(
            current.as_deref(),
            Some("c2"),
            "{engine:?}: the newest of the flow"
        );
        assert!(other_phone, "{engine:?}");
        assert_eq!(wrong, vec![Some(1), Some(2), Some(3), None], "{engine:?}");
        assert_eq!(
            used,
            (false, true, false, false),
            "{engine:?}: c1 burnt, c2 once"
        );
        assert_eq!(consumed, Some(true), "{engine:?}");
        assert_eq!(days, (2, 2), "{engine:?}");
        assert_eq!(failures, Some(3600 - 60), "{engine:?}");
        assert_eq!(no_failures, None, "{engine:?}");
        assert_eq!(purged.challenges, 2, "{engine:?}");
        // Buckets: the phone's hour, minute and two seconds (NOW, NOW + 10),
        // the failures' hour, minute and second.
        assert_eq!(purged.rate_limit_buckets, 7, "{engine:?}");
    }
}

#[tokio::test]
async fn the_outbox_claims_delivers_withdraws_and_refunds_alike_on_both_engines() {
    for engine in ENGINES {
        let db = fresh(engine).await;
        let phone = "+12015550123";
        let answers = db
            .store
            .run(move |db| {
                let limits = per_phone(phone, 2);
                codes::issue_challenge(db, &challenge("m1", "f1", phone, NOW, true), &limits)?
                    .unwrap();
                codes::issue_challenge(db, &challenge("m2", "f2", phone, NOW, true), &limits)?
                    .unwrap();
                let full = codes::limit_reached(db, &limits, NOW)?.is_some();
                let claimed: Vec<String> = outbox::claim_due(db, NOW, NOW + 30, 10)?
                    .into_iter()
                    .map(|q| q.challenge_id)
                    .collect();
                let again = outbox::claim_due(db, NOW + 1, NOW + 31, 10)?.len();
                outbox::retry_later(db, "m2", 1, NOW + 5)?;
                let retried = outbox::claim_due(db, NOW + 5, NOW + 35, 10)?;
                let handed = Handed {
                    provider: "twilio",
                    message_id: "SM1".into(),
                    country: "US".into(),
                    sent_at: NOW,
                };
                outbox::delivered(db, "m1", Some(&handed))?;
                let receipt =
                    receipts::record(db, "twilio", "SM1", ReceiptStatus::Failed, NOW + 6)?;
                let repeated =
                    receipts::record(db, "twilio", "SM1", ReceiptStatus::Delivered, NOW + 7)?;
                let unknown = receipts::record(db, "twilio", "nope", ReceiptStatus::Failed, NOW)?;
                let room_after_refund = codes::limit_reached(db, &limits, NOW + 8)?.is_none();
                let withdrawn = (outbox::withdraw(db, "m2")?, outbox::withdraw(db, "m2")?);
                let pending = outbox::pending(db)?;
                let released = outbox::release_claims(db)?;
                Ok((
                    full,
                    claimed,
                    again,
                    retried.len(),
                    retried[0].attempts,
                    receipt,
                    repeated,
                    unknown,
                    room_after_refund,
                    withdrawn,
                    pending,
                    released,
                ))
            })
            .await
            .unwrap();
        let (
            full,
            mut claimed,
            again,
            retried,
            attempts,
            receipt,
            repeated,
            unknown,
            room,
            withdrawn,
            pending,
            released,
        ) = answers;
        claimed.sort();
        assert!(full, "{engine:?}: two sends fill the hour");
        assert_eq!(claimed, vec!["m1", "m2"], "{engine:?}");
        assert_eq!(
            again, 0,
            "{engine:?}: claimed messages are not claimed twice"
        );
        assert_eq!((retried, attempts), (1, 1), "{engine:?}");
        let receipt = receipt.expect("known message");
        assert!(
            receipt.changed && receipt.refunded,
            "{engine:?}: {receipt:?}"
        );
        assert_eq!(receipt.country, "US");
        assert!(
            !repeated.expect("known").changed,
            "{engine:?}: a final status stays"
        );
        assert!(unknown.is_none(), "{engine:?}");
        assert!(room, "{engine:?}: the failed text gave its send back");
        assert_eq!(withdrawn, (true, false), "{engine:?}");
        assert_eq!(pending, 0, "{engine:?}");
        assert_eq!(released, 0, "{engine:?}: nothing was claimed any more");
    }
}

#[tokio::test]
async fn users_sessions_proofs_and_the_audit_trail_alike_on_both_engines() {
    for engine in ENGINES {
        let db = fresh(engine).await;
        let phone = PhoneNumber::parse("+12015550123", None).unwrap();
        let answers = db
            .store
            .run(move |db| {
                let profile = Profile {
                    given_name: Some("Ada".into()),
                    email_verified: true,
                    ..Profile::default()
                };
                let user = users::insert(db, &phone, &profile, true, NOW)?;
                let taken = matches!(
                    users::insert(db, &phone, &profile, true, NOW),
                    Err(StoreError::Conflict(_))
                );
                let same = users::find_or_create(db, &phone, NOW)?.id == user.id;
                let other = PhoneNumber::parse("+12015550124", None).unwrap();
                let upserts = (
                    users::upsert_profile(db, &other, &profile, NOW)?,
                    users::upsert_profile(db, &other, &profile, NOW)?,
                    users::upsert_profile(db, &other, &Profile::default(), NOW)?,
                );
                let disabled = (
                    users::set_disabled(db, &user.id, true, NOW)?,
                    users::set_disabled(db, "nobody", true, NOW)?,
                );
                let found = users::find_by_id_or_phone(db, "+12015550123")?.expect("by phone");
                let listed = users::list(db)?.len();

                let cookies = Cookies::from([("c".to_string(), "v".to_string())]);
                sessions::insert(
                    db,
                    &NewSession {
                        id_hash: b"h",
                        client_id: "app",
                        phone: "+12015550123",
                        state: "s",
                        nonce: "n",
                        code_verifier: "v",
                        login_challenge: "l",
                        cookies: &cookies,
                        created_at: NOW,
                        expires_at: NOW + 60,
                    },
                )?;
                let session = sessions::find_live(db, b"h", NOW)?.map(|s| s.cookies);
                let used = (
                    sessions::consume(db, b"h", NOW)?,
                    sessions::consume(db, b"h", NOW)?,
                );
                let proofs = (
                    proofs::spend(db, "salt", NOW + 60)?,
                    proofs::spend(db, "salt", NOW + 60)?,
                    proofs::purge(db, NOW + 60)?,
                );

                let row = AuditRow {
                    at: NOW,
                    kind: "code_sent".into(),
                    result: "ok".into(),
                    subject: Some(user.id.clone()),
                    user_agent: Some("ü agent".into()),
                    ..AuditRow::default()
                };
                let queued = NewAuditRow {
                    row: &row,
                    phone_hash: Some(b"ph"),
                    queue: Some(Some("key")),
                };
                let first = audit::insert(db, &queued)?;
                let second = audit::insert(db, &queued)?;
                let by_subject = audit::search(
                    db,
                    &AuditFilter {
                        subject: Some(user.id.clone()),
                        phone_hash: Some(b"ph".to_vec()),
                        kinds: vec!["code_sent".into(), "logout".into()],
                        since: Some(NOW),
                        limit: Some(1),
                        ..AuditFilter::default()
                    },
                )?;
                let backlog = event_outbox::backlog(db)?;
                let claimed: Vec<i64> = event_outbox::claim_due(db, NOW, NOW + 30, 10)?
                    .into_iter()
                    .map(|q| q.event.id)
                    .collect();
                event_outbox::delivered(db, first)?;
                let next: Vec<i64> = event_outbox::claim_due(db, NOW, NOW + 30, 10)?
                    .into_iter()
                    .map(|q| q.event.id)
                    .collect();
                let purged = audit::purge(db, NOW + 1, 10)?;
                Ok((
                    user,
                    taken,
                    same,
                    upserts,
                    disabled,
                    found.disabled,
                    listed,
                    session,
                    used,
                    proofs,
                    first,
                    second,
                    by_subject,
                    backlog,
                    claimed,
                    next,
                    purged,
                ))
            })
            .await
            .unwrap();
        let (
            user,
            taken,
            same,
            upserts,
            disabled,
            found_disabled,
            listed,
            session,
            used,
            proofs,
            first,
            second,
            by_subject,
            backlog,
            claimed,
            next,
            purged,
        ) = answers;
        assert_eq!(
            user.profile.given_name.as_deref(),
            Some("Ada"),
            "{engine:?}"
        );
        assert!(user.profile.email_verified && user.phone_verified && !user.disabled);
        assert!(taken && same, "{engine:?}");
        assert_eq!(
            upserts,
            (Upserted::Created, Upserted::Unchanged, Upserted::Updated)
        );
        assert_eq!(disabled, (true, false), "{engine:?}");
        assert!(found_disabled, "{engine:?}");
        assert_eq!(listed, 2, "{engine:?}");
        assert_eq!(
            session.expect("live").get("c").map(String::as_str),
            Some("v")
        );
        assert_eq!(used, (true, false), "{engine:?}");
        assert_eq!(proofs, (true, false, 1), "{engine:?}");
        assert!(second > first, "{engine:?}: ids grow");
        assert_eq!(by_subject.len(), 1, "{engine:?}: the newest one");
        assert_eq!(by_subject[0].id, second);
        assert_eq!(by_subject[0].user_agent.as_deref(), Some("ü agent"));
        assert_eq!(backlog.depth, 2, "{engine:?}");
        assert_eq!(backlog.oldest, Some(NOW));
        assert_eq!(
            claimed,
            vec![first],
            "{engine:?}: one at a time per ordering key"
        );
        assert_eq!(next, vec![second], "{engine:?}");
        assert_eq!(purged, 2, "{engine:?}");
    }
}

#[tokio::test]
async fn the_clean_up_job_and_readiness_work_on_both_engines() {
    for engine in ENGINES {
        let db = fresh(engine).await;
        let phone = "+12015550123";
        db.store
            .run(move |db| {
                codes::issue_challenge(
                    db,
                    &challenge("old", "f", phone, NOW, true),
                    &per_phone(phone, 5),
                )?
                .unwrap();
                Ok(())
            })
            .await
            .unwrap();
        let clock = Clock::manual(NOW + 100_000);
        let purged = jobs::purge_expired(&db.store, &clock, &Retention::default())
            .await
            .unwrap();
        assert_eq!(purged.challenges, 1, "{engine:?}");
        // The one send's second, minute and hour.
        assert_eq!(purged.rate_limit_buckets, 3, "{engine:?}");
        let pending = db.store.run(|db| outbox::pending(db)).await.unwrap();
        assert_eq!(pending, 0, "{engine:?}: the message died with its code");
        db.store
            .ready(std::time::Duration::from_secs(1), NOW)
            .await
            .unwrap_or_else(|e| panic!("{engine:?}: {e}"));
    }
}

#[tokio::test]
async fn a_postgresql_database_from_a_newer_gatehouse_is_refused() {
    let location = super::postgres_location().await;
    drop(super::open(&location).await);
    let gatehouse::config::DatabaseLocation::Postgres { url, .. } = &location else {
        unreachable!()
    };
    let (client, connection) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
             VALUES (999, 'future', '2030-01-01T00:00:00Z', '1')",
        )
        .await
        .unwrap();
    let opened =
        tokio::task::spawn_blocking(move || gatehouse::store::Store::open_at(&location, 2))
            .await
            .unwrap();
    let err = opened.err().expect("refused").to_string();
    assert!(
        err.contains("newer gatehouse") && err.contains("999"),
        "{err}"
    );
}

#[tokio::test]
async fn doctors_postgresql_status_reads_versions_without_migrating() {
    let location = super::postgres_location().await;
    let status = |location: gatehouse::config::DatabaseLocation| {
        tokio::task::spawn_blocking(move || gatehouse::store::postgres_status(&location))
    };
    let before = status(location.clone()).await.unwrap().unwrap();
    assert_eq!(before.schema_version, None, "doctor migrated nothing");
    assert!(!before.server_version.is_empty());
    drop(super::open(&location).await);
    let after = status(location).await.unwrap().unwrap();
    assert_eq!(
        after.schema_version,
        Some(gatehouse::store::known_schema_version())
    );
}
