//! axe-core (Deque's accessibility rules, installed by `scripts/install-axe`)
//! run in a real Chromium page: injected through WebDriver's execute script
//! (DevTools evaluation, which the page's Content-Security-Policy does not
//! govern, so the pages keep theirs), run on the whole document with the
//! WCAG 2.x A and AA rules and axe's best practices.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::chromium::Chromium;

/// `scripts/install-axe`'s default.
const VERSION: &str = "4.10.3";

/// axe.min.js: `AXE_CORE_JS`, else the cached install.
fn script_path() -> PathBuf {
    if let Some(path) = std::env::var_os("AXE_CORE_JS") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    cache.join(format!("gatehouse/axe-core-{VERSION}/axe.min.js"))
}

fn script() -> String {
    let path = script_path();
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: run scripts/install-axe first", path.display()))
}

/// axe's violations on the page `browser` shows, as (rule, target, summary).
pub async fn violations(browser: &Chromium) -> Result<Vec<String>> {
    let client = browser.client();
    let injected = client
        .execute(&format!("{}\n;return typeof window.axe;", script()), vec![])
        .await
        .context("injecting axe-core")?;
    if injected != json!("object") {
        bail!("axe-core did not load: {injected}");
    }
    let run = "const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ['violations'] })
          .then(r => done(JSON.stringify(r.violations)))
          .catch(e => done('error: ' + e));";
    let answer = client.execute_async(run, vec![]).await.context("axe.run")?;
    let text = answer.as_str().context("axe answered no text")?;
    let violations: Vec<Value> = serde_json::from_str(text).with_context(|| text.to_string())?;
    Ok(violations
        .iter()
        .flat_map(|rule| {
            let id = rule["id"].as_str().unwrap_or_default().to_string();
            let help = rule["help"].as_str().unwrap_or_default().to_string();
            let nodes = rule["nodes"].as_array().cloned().unwrap_or_default();
            nodes.into_iter().map(move |node| {
                format!(
                    "{id} at {}: {help} ({})",
                    node["target"],
                    node["failureSummary"].as_str().unwrap_or_default()
                )
            })
        })
        .collect())
}

/// Fails the test when axe finds anything on the page.
pub async fn assert_accessible(browser: &Chromium, page: &str) {
    let found = violations(browser).await.expect("axe-core ran");
    assert!(
        found.is_empty(),
        "accessibility violations on {page}: {found:#?}"
    );
}

/// Emulates `prefers-color-scheme: dark` (or light) through DevTools.
pub async fn color_scheme(browser: &Chromium, dark: bool) -> Result<()> {
    let value = if dark { "dark" } else { "light" };
    let command = json!({
        "cmd": "Emulation.setEmulatedMedia",
        "params": { "features": [{ "name": "prefers-color-scheme", "value": value }] }
    });
    browser
        .webdriver("POST", "goog/cdp/execute", command)
        .await
        .map(|_| ())
}
