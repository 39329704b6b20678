//! Doctor's checks of Hydra: the configured executable (supervised mode)
//! and the running Hydra, each against the pinned version.

use std::path::Path;

use super::{ok, problem, skip, warning, Finding, PROBE_TIMEOUT};
use crate::config::{Config, HydraMode};
use crate::hydra::version::binary_version;
use crate::hydra::{HydraClient, PINNED_VERSION};

/// `hydra.binary` exists, runs, and reports the pinned version.
pub(super) async fn binary(binary: &Path) -> Finding {
    let fix = format!(
        "install Hydra {PINNED_VERSION} (the gatehouse package bundles it; or \
         scripts/install-hydra, or an official release) and point `hydra.binary` at it"
    );
    match binary_version(binary, PROBE_TIMEOUT).await {
        Ok(version) if version == PINNED_VERSION => ok(format!(
            "Hydra binary {} is {version}, the pinned version",
            binary.display()
        )),
        Ok(version) => problem(
            format!(
                "Hydra binary {} reports version {version}, gatehouse needs the pinned {PINNED_VERSION}",
                binary.display()
            ),
            fix,
        ),
        Err(e) => problem(format!("Hydra binary {e}"), fix),
    }
}

/// The running Hydra answers ready, and which version it is.
pub(super) async fn running(config: &Config, running: bool) -> Vec<Finding> {
    let supervised = config.hydra.mode == HydraMode::Supervised;
    if supervised && !running {
        return vec![skip(
            "Hydra readiness and version: gatehouse (which runs Hydra) is not running",
        )];
    }
    let url = config.hydra_admin_url();
    let client = HydraClient::new(url.clone(), config.hydra.ca_file());
    if let Err(e) = client.ready().await {
        let fix = if supervised {
            "read Hydra's lines in gatehouse's log (journalctl -u gatehouse, target hydra)"
        } else {
            "check the Hydra named by `hydra.admin_url`"
        };
        return vec![problem(format!("Hydra at {url} is not ready: {e}"), fix)];
    }
    let ready = ok(format!("Hydra at {url} is ready"));
    let version = match client.version().await {
        Ok(version) if version == PINNED_VERSION => ok(format!(
            "the running Hydra is {version}, the pinned version"
        )),
        Ok(version) if supervised => problem(
            format!(
                "the running Hydra reports version {version}, gatehouse needs the pinned {PINNED_VERSION}"
            ),
            format!(
                "point `hydra.binary` at Hydra {PINNED_VERSION}, then restart gatehouse \
                 (systemctl restart gatehouse) so that it runs that one"
            ),
        ),
        Ok(version) => problem(
            format!(
                "the Hydra at {url} reports version {version}, gatehouse needs the pinned {PINNED_VERSION}"
            ),
            format!("run Hydra {PINNED_VERSION} at `hydra.admin_url`"),
        ),
        Err(e) => warning(
            format!("cannot tell which version the running Hydra is: {e}"),
            "check that `GET /version` on Hydra's admin API answers",
        ),
    };
    vec![ready, version]
}
