//! A code belongs to the sign-in flow that asked for it (issue 17, point
//! 2): another person's flow can neither use it, burn it with wrong tries,
//! nor replace it with a new code, and wrong codes are capped per phone
//! across all flows.

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::world::{trusted, World};

#[tokio::test]
async fn another_flow_cannot_burn_or_replace_a_victims_code() {
    // No resend cooldown: the attacker's own code really is issued.
    let world = World::with(|config| {
        config.otp.resend_cooldown = std::time::Duration::ZERO;
    })
    .await;
    let client = world.client(trusted()).await;
    let victim_phone = "+12015550191";

    // The victim's flow A: a code is on its way.
    let victim = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(&victim, &auth).await;
    let code_page = world.send_code(&victim, &login, victim_phone).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let victims_code = world.sms.code_for(victim_phone).await;

    // The attacker's flow B (own browser, own cookies): a code to the same
    // number (the victim gets a second text), then five wrong codes.
    let attacker = HttpBrowser::new();
    let theirs = client.authorize(&world.app, "openid");
    let their_login = world.open(&attacker, &theirs).await;
    let their_page = world.send_code(&attacker, &their_login, victim_phone).await;
    assert_eq!(their_page.status, 200, "{}", their_page.body);
    let attackers_sms = world.sms.code_for(victim_phone).await;
    let wrong = ["000000", "111111", "222222"]
        .into_iter()
        .find(|guess| *guess != victims_code && *guess != attackers_sms)
        .unwrap();
    for _ in 0..5 {
        let hop = world
            .submit_code(&attacker, &their_page, wrong, false)
            .await;
        assert_ne!(hop.status, 303, "a wrong code never signs in");
    }

    // The victim's code still signs in, in flow A.
    let signed_in = world
        .submit_code(&victim, &code_page, &victims_code, false)
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    world.follow_to_callback(&victim, &signed_in).await;
}

#[tokio::test]
async fn a_code_is_checked_against_its_own_flows_number_only() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let victim_phone = "+12015550192";
    let attacker_phone = "+12015550193";

    let victim = HttpBrowser::new();
    let login = world
        .open(&victim, &client.authorize(&world.app, "openid"))
        .await;
    world.send_code(&victim, &login, victim_phone).await;
    let victims_code = world.sms.code_for(victim_phone).await;

    // The attacker's flow asked a code for their own number, then posts the
    // victim's number with a guess (or even with the victim's real code).
    let attacker = HttpBrowser::new();
    let theirs = world
        .open(&attacker, &client.authorize(&world.app, "openid"))
        .await;
    let their_page = world.send_code(&attacker, &theirs, attacker_phone).await;
    for code in ["000000", victims_code.as_str()] {
        let hop = attacker
            .submit(
                &world.app,
                &their_page,
                "/login",
                &[
                    ("action", "verify"),
                    ("phone", victim_phone),
                    ("code", code),
                ],
            )
            .await;
        assert_ne!(
            hop.status, 303,
            "flow B cannot use flow A's code: {}",
            hop.body
        );
    }
}
