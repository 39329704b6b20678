//! The browser sign-in through the real Hydra with a gRPC code delegate:
//! the code it texts signs in; while it is down the login page says so,
//! with 503, and nothing is charged.

use super::code_service::CodeService;
use crate::helpers::english;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::id_token_claims;
use crate::helpers::world::{trusted, World};
use gatehouse::config::CodeIssuer;

const PHONE: &str = "+12015550190";

#[tokio::test]
async fn a_browser_signs_in_with_the_code_a_grpc_delegate_sent() {
    let service = CodeService::default();
    let url = service.serve_grpc().await;
    let world = World::with(move |config| {
        config.otp.issuer = CodeIssuer::Grpc;
        config.otp.grpc.url = Some(url.parse().unwrap());
        // One code an hour: a send charged during the outage would lock the phone.
        config.otp.max_per_phone_per_hour = 1;
    })
    .await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid phone");
    let login = world.open(&browser, &auth).await;

    service.set_down(true);
    let page = world.send_code(&browser, &login, PHONE).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains(&english("code-service-down")),
        "{}",
        page.body
    );

    service.set_down(false);
    let code_page = world.send_code(&browser, &page, PHONE).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let code = service.code_for(PHONE).expect("the delegate texted a code");

    service.set_down(true);
    let page = world.submit_code(&browser, &code_page, &code, false).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains(&english("code-service-down")),
        "{}",
        page.body
    );

    service.set_down(false);
    let accepted = world.submit_code(&browser, &page, &code, false).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let callback = world.follow_to_callback(&browser, &accepted).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["phone_number"], PHONE);
    world.app.outbox_drained().await;
    assert!(
        world.sms.received().is_empty(),
        "gatehouse sent no text itself"
    );
}
