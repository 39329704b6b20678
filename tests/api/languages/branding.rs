//! `[ui]` branding through the real server: the name, the logo and the
//! extra stylesheet are files gatehouse serves, the colour is in its
//! stylesheet, and the pages' Content-Security-Policy stays as strict.

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::world::World;

const SVG: &str = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
    width=\"10\" height=\"10\"><script>alert(1)</script><rect width=\"10\" height=\"10\"/></svg>";

#[tokio::test]
async fn the_operators_name_logo_colour_and_stylesheet_are_served() {
    let files = tempfile::tempdir().unwrap();
    let logo = files.path().join("logo.svg");
    std::fs::write(&logo, SVG).unwrap();
    let css = files.path().join("brand.css");
    std::fs::write(&css, "main { border-top: 4px solid #0a7d45; }\n").unwrap();
    let world = World::with(move |config| {
        config.ui.product_name = "Acme Sign-in".into();
        config.ui.logo = Some(logo);
        config.ui.primary_color = Some("#0a7d45".into());
        config.ui.extra_css = Some(css);
    })
    .await;
    let (browser, page) = world.on_login_page().await;
    assert!(page.body.contains("Acme Sign-in"), "{}", page.body);
    assert!(
        page.body.contains("<img src=\"/assets/logo\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("href=\"/assets/extra.css\""),
        "{}",
        page.body
    );
    // Nothing inline: no style element or attribute, no script in the page.
    for inline in ["<style", " style=", "<script>"] {
        assert!(!page.body.contains(inline), "{inline}: {}", page.body);
    }
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("style-src 'self'"), "{policy}");

    let sheet = browser.get(&world.app.url("/assets/style.css")).await;
    assert!(sheet.body.contains("--primary: #0a7d45"), "{}", sheet.body);
    assert!(
        sheet.body.contains("prefers-color-scheme: dark"),
        "{}",
        sheet.body
    );
    let extra = browser.get(&world.app.url("/assets/extra.css")).await;
    assert_eq!(extra.status, 200);
    assert_eq!(extra.headers["content-type"], "text/css; charset=utf-8");
    assert!(extra.body.contains("#0a7d45"), "{}", extra.body);

    // The logo: its type from its bytes; opened on its own, the SVG runs
    // nothing (a sandbox and no script source).
    let logo = browser.get(&world.app.url("/assets/logo")).await;
    assert_eq!(logo.status, 200);
    assert_eq!(logo.headers["content-type"], "image/svg+xml");
    let policy = logo.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("sandbox"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
}

#[tokio::test]
async fn without_branding_there_is_no_logo_and_no_extra_stylesheet() {
    let world = World::new().await;
    let browser = HttpBrowser::new();
    let (_, page) = world.on_login_page().await;
    assert!(page.body.contains("Gatehouse"), "{}", page.body);
    assert!(!page.body.contains("/assets/logo"), "{}", page.body);
    assert!(!page.body.contains("/assets/extra.css"), "{}", page.body);
    for path in ["/assets/logo", "/assets/extra.css"] {
        let hop = browser.get(&world.app.url(path)).await;
        assert_eq!(hop.status, 404, "{path}");
    }
}
