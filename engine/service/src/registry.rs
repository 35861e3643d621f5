//! The flows being served. New calls get the current snapshot; a call keeps the
//! version it started with (looked up by content hash) for as long as that version is known.
//!
//! Must not touch: the store, HTTP. It only holds compiled flows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;

use liza_core::flow::Flow;

/// Every flow loaded together (flows and locales are swapped as one).
#[derive(Debug)]
pub struct Snapshot {
    pub flows: Vec<Arc<Flow>>,
}

impl Snapshot {
    /// The flow that answers a new call to `to`: one that lists the number, else one that lists none.
    pub fn flow_for_number(&self, to: &str) -> Option<&Arc<Flow>> {
        liza_core::flow::flow_for_number(&self.flows, to)
    }
}

/// A reload that failed, told twice: for anyone and for admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadFailure {
    /// One line without paths or source text, e.g. "2 problems in liza.yaml".
    pub summary: String,
    /// Every diagnostic with its file, line, column and source line.
    pub details: String,
}

#[derive(Debug)]
pub struct Registry {
    current: ArcSwap<Snapshot>,
    versions: RwLock<HashMap<String, Arc<Flow>>>,
    /// Why the last reload failed, if it did (the previous flows keep serving).
    reload_failure: RwLock<Option<ReloadFailure>>,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

impl Registry {
    pub fn new(flows: Vec<Arc<Flow>>) -> Self {
        let registry = Self {
            current: ArcSwap::from_pointee(Snapshot { flows: vec![] }),
            versions: RwLock::new(HashMap::new()),
            reload_failure: RwLock::new(None),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
        };
        registry.replace(flows);
        registry
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Makes `flows` current for new calls; older versions stay available to calls in progress.
    pub fn replace(&self, flows: Vec<Arc<Flow>>) {
        {
            let mut versions = self.versions.write().unwrap_or_else(|e| e.into_inner());
            for flow in &flows {
                versions.insert(flow.version.clone(), flow.clone());
            }
        }
        self.current.store(Arc::new(Snapshot { flows }));
    }

    /// Records a successful reload: `flows` serve new calls, the reload error is cleared.
    pub fn reloaded(&self, flows: Vec<Arc<Flow>>) {
        self.replace(flows);
        self.reloads.fetch_add(1, Ordering::Relaxed);
        *self
            .reload_failure
            .write()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Records a failed reload; the current flows keep serving.
    pub fn reload_failed(&self, failure: ReloadFailure) {
        self.reload_failures.fetch_add(1, Ordering::Relaxed);
        *self
            .reload_failure
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(failure);
    }

    /// Why the last reload failed, while the flows it could not replace keep serving.
    pub fn reload_failure(&self) -> Option<ReloadFailure> {
        self.reload_failure
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The full diagnostics of the last failed reload (paths and source lines: for admins).
    pub fn reload_error(&self) -> Option<String> {
        self.reload_failure().map(|f| f.details)
    }

    /// (successful reloads, failed reloads) since start.
    pub fn reload_counts(&self) -> (u64, u64) {
        (
            self.reloads.load(Ordering::Relaxed),
            self.reload_failures.load(Ordering::Relaxed),
        )
    }

    /// A flow version this instance has loaded (or fetched, see [`Registry::add_version`]).
    pub fn version(&self, version: &str) -> Option<Arc<Flow>> {
        let versions = self.versions.read().unwrap_or_else(|e| e.into_inner());
        versions.get(version).cloned()
    }

    /// Keeps a version compiled from the database (another instance loaded it) for the calls
    /// pinned to it; new calls still get the current flows.
    pub fn add_version(&self, flow: Arc<Flow>) {
        let mut versions = self.versions.write().unwrap_or_else(|e| e.into_inner());
        versions.insert(flow.version.clone(), flow);
    }

    /// The current flow called `name`: for a call whose version is known nowhere.
    pub fn current_named(&self, name: &str) -> Option<Arc<Flow>> {
        self.current()
            .flows
            .iter()
            .find(|f| f.name == name)
            .cloned()
    }
}
