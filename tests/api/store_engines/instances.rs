//! Two instances on one PostgreSQL, each with its own store (its own
//! connections, as separate processes have), racing for the same code,
//! the same hourly cap, the same queued messages and the clean-up job.

use std::collections::HashSet;
use std::time::Duration;

use gatehouse::store::{self, codes, outbox, Store};

use super::{challenge, open, per_phone, postgres_location};

const NOW: i64 = 1_800_000_000;
const NO_LIMITS: &[codes::WindowLimit<&str>] = &[];

/// Two stores on one fresh PostgreSQL database.
async fn two_instances() -> (Store, Store) {
    let location = postgres_location().await;
    let (a, b) = tokio::join!(open(&location), open(&location));
    (a, b)
}

#[tokio::test]
async fn instances_started_together_migrate_once_and_both_open() {
    let location = postgres_location().await;
    let (a, b, c) = tokio::join!(open(&location), open(&location), open(&location));
    for store in [a, b, c] {
        assert_eq!(store.engine(), store::Engine::Postgres);
        let version = store.run(|db| store::schema_version(db)).await.unwrap();
        assert_eq!(version, Some(store::known_schema_version()));
    }
}

#[tokio::test]
async fn fifty_concurrent_verifications_on_two_instances_use_a_code_once() {
    let (a, b) = two_instances().await;
    a.run(|db| {
        codes::issue_challenge(
            db,
            &challenge("code", "flow", "+12015550123", NOW, false),
            NO_LIMITS,
        )
        .map(|issued| issued.map(|_| ()).map_err(|_| ()))
    })
    .await
    .unwrap()
    .unwrap();
    let attempts = (0..50).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            store
                .run(|db| codes::consume(db, "code", NOW + 1))
                .await
                .unwrap()
        }
    });
    let won = futures_util::future::join_all(attempts).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
}

#[tokio::test]
async fn wrong_tries_on_two_instances_never_pass_the_maximum() {
    let (a, b) = two_instances().await;
    a.run(|db| {
        codes::issue_challenge(
            db,
            &challenge("code", "flow", "+12015550123", NOW, false),
            NO_LIMITS,
        )
        .map(|_| ())
    })
    .await
    .unwrap();
    let tries = (0..20).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            store
                .run(|db| codes::record_wrong_attempt(db, "code"))
                .await
                .unwrap()
        }
    });
    let counted: Vec<u32> = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut sorted = counted.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![1, 2, 3],
        "each try counted once, none past max_attempts = 3"
    );
}

#[tokio::test]
async fn the_hourly_cap_counts_sends_on_both_instances() {
    let (a, b) = two_instances().await;
    let phone = "+12015550123";
    let requests = (0..40).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            store
                .run(move |db| {
                    let id = format!("c{i}");
                    let flow = format!("f{i}");
                    let issued = codes::issue_challenge(
                        db,
                        &challenge(&id, &flow, phone, NOW, true),
                        &per_phone(phone, 5),
                    )?;
                    Ok(issued.is_ok())
                })
                .await
                .unwrap()
        }
    });
    let issued = futures_util::future::join_all(requests).await;
    assert_eq!(issued.iter().filter(|i| **i).count(), 5, "{issued:?}");
    let queued = b.run(|db| outbox::pending(db)).await.unwrap();
    assert_eq!(queued, 5, "only the codes issued were queued");
}

#[tokio::test]
async fn a_queued_message_is_claimed_by_one_instance_only() {
    let (a, b) = two_instances().await;
    a.run(|db| {
        for i in 0..40 {
            let (id, flow) = (format!("m{i}"), format!("f{i}"));
            codes::issue_challenge(
                db,
                &challenge(&id, &flow, "+12015550123", NOW, true),
                NO_LIMITS,
            )?
            .map_err(|_| store::StoreError::Conflict("limited".into()))?;
        }
        Ok(())
    })
    .await
    .unwrap();
    // Workers on both instances claim small batches at the same time, as
    // their delivery loops do, until nothing is due.
    let workers = (0..6).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .run(|db| outbox::claim_due(db, NOW, NOW + 60, 3))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|q| q.challenge_id));
            }
        }
    });
    let claimed: Vec<String> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .flatten()
        .collect();
    let distinct: HashSet<&String> = claimed.iter().collect();
    assert_eq!(claimed.len(), 40, "each message claimed once: {claimed:?}");
    assert_eq!(distinct.len(), 40);
}

#[tokio::test]
async fn the_clean_up_runs_on_one_instance_at_a_time() {
    let (a, b) = two_instances().await;
    let (held, release) = std::sync::mpsc::channel::<()>();
    let (started, has_started) = tokio::sync::oneshot::channel();
    let holder = tokio::spawn(async move {
        a.run(move |db| {
            store::exclusively(db, "clean-up", |_| {
                let _ = started.send(());
                let _ = release.recv_timeout(Duration::from_secs(10));
                Ok(())
            })
        })
        .await
        .unwrap()
    });
    has_started.await.unwrap();
    let meanwhile = b
        .run(|db| store::exclusively(db, "clean-up", |_| Ok(())))
        .await
        .unwrap();
    assert_eq!(meanwhile, None, "the other instance skips while one purges");
    let other_job = b
        .run(|db| store::exclusively(db, "another-job", |_| Ok(())))
        .await
        .unwrap();
    assert_eq!(other_job, Some(()), "only the same job is excluded");
    held.send(()).unwrap();
    assert_eq!(holder.await.unwrap(), Some(()));
    let afterwards = b
        .run(|db| store::exclusively(db, "clean-up", |_| Ok(())))
        .await
        .unwrap();
    assert_eq!(afterwards, Some(()), "free again once the first is done");
}
