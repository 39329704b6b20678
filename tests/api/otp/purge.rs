//! The purge of expired codes and old rate-limit rows, and its scheduled job.

use std::time::Duration;

use super::{phone, test_flow, StandaloneOtp};

#[tokio::test]
async fn purge_removes_dead_rows_and_keeps_live_ones() {
    let fx = StandaloneOtp::new().await;
    let (expired, used, live) = (phone(19), phone(20), phone(21));
    fx.send_code(&expired).await;
    fx.clock.advance(4 * 60);
    let code = fx.send_code(&used).await;
    fx.otp
        .verify(&test_flow(&used), &used, &code)
        .await
        .unwrap();
    let live_code = fx.send_code(&live).await;
    fx.clock.advance(60 + 1); // the first code is now expired, the others are not

    let purged = gatehouse::jobs::purge_expired(&fx.store, &fx.clock, &Default::default())
        .await
        .unwrap();
    assert_eq!(purged.challenges, 2, "the expired and the used code");
    assert_eq!(
        purged.rate_limit_buckets, 0,
        "all sends are within the hour"
    );
    let phones: Vec<String> = fx
        .rows("SELECT phone FROM otp_challenges")
        .await
        .iter()
        .map(|row| row["phone"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(phones, vec![live.as_str().to_string()]);
    fx.otp
        .verify(&test_flow(&live), &live, &live_code)
        .await
        .expect("live code still works");

    // Kept a day, for sms.policy's daily cap per country.
    fx.clock.advance(3600);
    let purged = gatehouse::jobs::purge_expired(&fx.store, &fx.clock, &Default::default())
        .await
        .unwrap();
    assert_eq!(purged.rate_limit_buckets, 0, "the day is not over");
    fx.clock.advance(86_400 - 3600);
    let purged = gatehouse::jobs::purge_expired(&fx.store, &fx.clock, &Default::default())
        .await
        .unwrap();
    // Three sends (at START and twice at START + 240), each counted for its
    // phone, the IP, the instance and the country, in a second, a minute and
    // an hour bucket: 9 seconds and 9 minutes have ended a day ago ...
    assert_eq!(
        purged.rate_limit_buckets, 18,
        "the seconds and minutes of three sends"
    );
    // ... and the 6 hours (3 phones, IP, instance, country) an hour later.
    fx.clock.advance(3600);
    let purged = gatehouse::jobs::purge_expired(&fx.store, &fx.clock, &Default::default())
        .await
        .unwrap();
    assert_eq!(purged.rate_limit_buckets, 6, "their hours");
    let left = fx.number("SELECT COUNT(*) FROM rate_limit_counters").await;
    assert_eq!(left, 0, "nothing is kept past the longest window");
}

#[tokio::test]
async fn the_scheduled_job_runs_the_purge() {
    let fx = StandaloneOtp::new().await;
    fx.send_code(&phone(22)).await;
    fx.clock.advance(10 * 60);
    let mut scheduler = gatehouse::jobs::start(
        fx.store.clone(),
        fx.clock.clone(),
        "* * * * * *",
        Default::default(),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fx.number("SELECT COUNT(*) FROM otp_challenges").await != 0 {
        assert!(std::time::Instant::now() < deadline, "the purge job ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scheduler.shutdown().await.unwrap();
}
