//! Hot reload: watch → debounce → compare contents → build off the request path → atomic swap.
//!
//! Only changes to contents count. The watcher also reports opens and reads of the files (the
//! reload's own reads among them), and treating those as changes makes the reload trigger
//! itself forever; so only create, modify, remove and rename events signal, and a settled burst
//! of them is first compared, by a hash of the flow and locale files, with what the last reload
//! attempt saw. One save is one build; a broken save is logged and counted once however long it
//! stays, and a different broken save is logged again. A build that fails keeps the last good
//! flows serving and reports its diagnostics (one log line, /health, the dashboard). Flows and
//! locales are swapped together.
//! Must not touch: HTTP, SQL beyond registering versions.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::metrics::Metrics;
use crate::registry::{Registry, ReloadFailure};
use liza_core::flow::load::sources_fingerprint;
use liza_core::flow::{load_flows, Diagnostics};
use liza_store::{now_ms, Store};

/// Quiet time after the last change before rebuilding (editors write in bursts).
const DEBOUNCE: Duration = Duration::from_millis(100);
/// Longest wait for quiet: a file rewritten without pause is still reloaded.
const MAX_DEBOUNCE: Duration = Duration::from_secs(1);

/// Keeps the watcher alive; dropping it stops hot reload.
pub struct Watcher {
    _watcher: RecommendedWatcher,
}

/// True for events that may change what a load reads; false for opens, reads and closes after
/// reading (which the reload itself causes) and for metadata such as a `touch`.
fn is_content_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        // A writer closing the file: its last write is complete.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        // An overflowed event queue (rescan) or a platform's unclassified event.
        EventKind::Any | EventKind::Other => true,
    }
}

/// Starts watching `flows_dir` and `locales_dir`; every settled change of their contents
/// rebuilds the flows.
pub fn watch(
    registry: Arc<Registry>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    flows_dir: PathBuf,
    locales_dir: PathBuf,
) -> notify::Result<Watcher> {
    // Room for one signal: changes that come while one is pending add nothing to it.
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if is_content_change(&event.kind) => {
                let _ = tx.try_send(());
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "File watcher error."),
        })?;
    // Watching the directories (not the files) also sees editors that save by renaming.
    watcher.watch(&flows_dir, RecursiveMode::Recursive)?;
    watcher.watch(&locales_dir, RecursiveMode::Recursive)?;
    info!(flows = %flows_dir.display(), locales = %locales_dir.display(), "Watching flows and locales for changes.");
    let mut reloader = Reloader {
        registry,
        store,
        metrics,
        flows_dir,
        locales_dir,
        last_seen: None,
    };
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            let first = Instant::now();
            loop {
                match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    Ok(Some(())) if first.elapsed() < MAX_DEBOUNCE => continue,
                    Ok(Some(())) | Err(_) => break,
                    Ok(None) => return,
                }
            }
            reloader.reload_if_changed().await;
        }
    });
    Ok(Watcher { _watcher: watcher })
}

/// The reload loop's memory: what the last attempt read.
struct Reloader {
    registry: Arc<Registry>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    flows_dir: PathBuf,
    locales_dir: PathBuf,
    /// The fingerprint of the files the last reload attempt read; `None` before the first.
    last_seen: Option<[u8; 32]>,
}

impl Reloader {
    /// Rebuilds unless the files hold what the last attempt saw (a save of the same text, a
    /// temporary file of an editor, a flow test beside the flows).
    async fn reload_if_changed(&mut self) {
        let (flows, locales) = (self.flows_dir.clone(), self.locales_dir.clone());
        let fingerprint = match tokio::task::spawn_blocking(move || {
            sources_fingerprint(&flows, &locales)
        })
        .await
        {
            Ok(fingerprint) => Some(fingerprint),
            Err(e) => {
                warn!(error = %e, "Could not hash the flow files; reloading anyway.");
                None
            }
        };
        if fingerprint.is_some() && fingerprint == self.last_seen {
            debug!("Flow and locale files changed on disk but not in content; nothing to reload.");
            return;
        }
        self.last_seen = fingerprint;
        reload(
            &self.registry,
            &*self.store,
            &self.metrics,
            &self.flows_dir,
            &self.locales_dir,
        )
        .await;
    }
}

/// Rebuilds the flows from disk and swaps them in if they are valid.
pub async fn reload(
    registry: &Registry,
    store: &dyn Store,
    metrics: &Metrics,
    flows_dir: &Path,
    locales_dir: &Path,
) {
    let (flows, locales) = (flows_dir.to_path_buf(), locales_dir.to_path_buf());
    let built = tokio::task::spawn_blocking(move || load_flows(&flows, &locales)).await;
    match built {
        Ok(Ok(flows)) => {
            let current = registry.current();
            let unchanged = current.flows.len() == flows.len()
                && current
                    .flows
                    .iter()
                    .zip(&flows)
                    .all(|(a, b)| a.version == b.version);
            if unchanged && registry.reload_failure().is_none() {
                return;
            }
            for flow in &flows {
                if let Err(e) = store
                    .register_flow_version(
                        &flow.name,
                        &flow.version,
                        &liza_core::flow::load::stored_form(flow),
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
            let summary = summary(&diagnostics, flows_dir, locales_dir);
            // One line: the first problem says where to look; `liza check` and the dashboard
            // show them all.
            let first = diagnostics
                .iter()
                .find(|d| d.is_error())
                .map(|d| one_line(&d.to_string()))
                .unwrap_or_default();
            warn!(
                problems = diagnostics.error_count(),
                first = %first,
                "Flow reload failed; the previous version keeps serving (`liza check` lists every problem)."
            );
            registry.reload_failed(ReloadFailure {
                summary,
                details: diagnostics.to_string(),
            });
            metrics.flow_reload_failed();
        }
        Err(e) => {
            warn!(error = %e, "Flow reload panicked; the previous version keeps serving.");
            registry.reload_failed(ReloadFailure {
                summary: "the reload failed unexpectedly".to_owned(),
                details: format!("reload failed: {e}"),
            });
            metrics.flow_reload_failed();
        }
    }
}

/// The first line of a rendered diagnostic (its source line and caret follow on the next).
fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// "3 problems in liza.yaml, de/liza.ftl": the count and the files, named relative to the
/// flows or locales directory, so the line can be shown to anyone (no paths, no source text).
pub fn summary(diagnostics: &Diagnostics, flows_dir: &Path, locales_dir: &Path) -> String {
    let count = diagnostics.error_count();
    let mut files: Vec<String> = Vec::new();
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        let name = relative_name(&d.file, flows_dir, locales_dir);
        if !files.contains(&name) {
            files.push(name);
        }
    }
    let problems = if count == 1 { "problem" } else { "problems" };
    format!("{count} {problems} in {}", files.join(", "))
}

fn relative_name(file: &Path, flows_dir: &Path, locales_dir: &Path) -> String {
    for (dir, what) in [
        (flows_dir, "the flows directory"),
        (locales_dir, "the locales directory"),
    ] {
        if let Ok(rest) = file.strip_prefix(dir) {
            return if rest.as_os_str().is_empty() {
                what.to_owned()
            } else {
                rest.display().to_string()
            };
        }
    }
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "a flow file".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use liza_core::diagnostics::{Diagnostic, Position};
    use notify::event::{CreateKind, DataChange, MetadataKind, ModifyKind, RemoveKind, RenameMode};

    #[test]
    fn only_content_changes_trigger_a_reload() {
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Remove(RemoveKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Other,
        ] {
            assert!(is_content_change(&kind), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
        ] {
            assert!(!is_content_change(&kind), "{kind:?}");
        }
    }

    #[test]
    fn the_summary_names_files_relative_to_their_directory() {
        let flows = Path::new("/srv/liza/flows");
        let locales = Path::new("/srv/liza/locales");
        let at = Position { line: 3, column: 7 };
        let diagnostics = Diagnostics(vec![
            Diagnostic::error(&flows.join("liza.yaml"), at, "a").with_source("x\ny\nz\n"),
            Diagnostic::error(&flows.join("liza.yaml"), at, "b"),
            Diagnostic::warning(&flows.join("other.yaml"), at, "only a warning"),
            Diagnostic::error(&locales.join("de/liza.ftl"), at, "c"),
        ]);
        assert_eq!(
            summary(&diagnostics, flows, locales),
            "3 problems in liza.yaml, de/liza.ftl"
        );
        let one = Diagnostics(vec![Diagnostic::error(flows, Position::default(), "x")]);
        assert_eq!(
            summary(&one, flows, locales),
            "1 problem in the flows directory"
        );
    }
}
