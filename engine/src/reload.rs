//! Hot reload: watch → debounce → build off the request path → atomic swap.
//!
//! The watcher only signals. A build that fails keeps the last good flows serving and
//! reports its diagnostics (log and /health). Flows and locales are swapped together.
//! Must not touch: HTTP, SQL beyond registering versions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::flow::load_flows;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::store::{now_ms, Store};

/// Quiet time after the last file event before rebuilding (editors write in bursts).
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Keeps the watcher alive; dropping it stops hot reload.
pub struct Watcher {
    _debouncer: Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
}

/// Starts watching `flows_dir` and `locales_dir`; every settled change rebuilds the flows.
pub fn watch(
    registry: Arc<Registry>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    flows_dir: PathBuf,
    locales_dir: PathBuf,
) -> notify_debouncer_mini::notify::Result<Watcher> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| match result {
        Ok(events) if !events.is_empty() => {
            let _ = tx.send(());
        }
        Ok(_) => {}
        Err(e) => warn!(error = %e, "File watcher error."),
    })?;
    // Watching the directories (not the files) also sees editors that save by renaming.
    debouncer
        .watcher()
        .watch(&flows_dir, RecursiveMode::Recursive)?;
    debouncer
        .watcher()
        .watch(&locales_dir, RecursiveMode::Recursive)?;
    info!(flows = %flows_dir.display(), locales = %locales_dir.display(), "Watching flows and locales for changes.");
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Coalesce signals that arrived while the last build ran.
            while rx.try_recv().is_ok() {}
            reload(&registry, &*store, &metrics, &flows_dir, &locales_dir).await;
        }
    });
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

/// Rebuilds the flows from disk and swaps them in if they are valid.
pub async fn reload(
    registry: &Registry,
    store: &dyn Store,
    metrics: &Metrics,
    flows_dir: &std::path::Path,
    locales_dir: &std::path::Path,
) {
    let (flows_dir, locales_dir) = (flows_dir.to_path_buf(), locales_dir.to_path_buf());
    let built = tokio::task::spawn_blocking(move || load_flows(&flows_dir, &locales_dir)).await;
    match built {
        Ok(Ok(flows)) => {
            let current = registry.current();
            let unchanged = current.flows.len() == flows.len()
                && current
                    .flows
                    .iter()
                    .zip(&flows)
                    .all(|(a, b)| a.version == b.version);
            if unchanged && registry.reload_error().is_none() {
                return;
            }
            for flow in &flows {
                if let Err(e) = store
                    .register_flow_version(
                        &flow.name,
                        &flow.version,
                        &crate::flow::load::stored_form(flow),
                        now_ms(),
                    )
                    .await
                {
                    warn!(flow = %flow.name, error = %e, "Could not record the flow version.");
                }
                info!(flow = %flow.name, version = %flow.version, "Flow reloaded.");
            }
            registry.reloaded(flows);
            metrics.flow_reloaded();
        }
        Ok(Err(diagnostics)) => {
            warn!(
                problems = diagnostics.error_count(),
                "Flow reload failed; the previous version keeps serving.\n{diagnostics}"
            );
            registry.reload_failed(diagnostics.to_string());
            metrics.flow_reload_failed();
        }
        Err(e) => {
            warn!(error = %e, "Flow reload panicked; the previous version keeps serving.");
            registry.reload_failed(format!("reload failed: {e}"));
            metrics.flow_reload_failed();
        }
    }
}
