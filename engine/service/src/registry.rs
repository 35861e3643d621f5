//! The flows being served. New calls get the current snapshot; a call keeps the
//! version it started with (looked up by content hash) for as long as that version is known.
//!
//! Old versions are evicted from memory once no call has used them for [`VERSION_IDLE_LIMIT`]
//! (they stay in the database's `flow_versions`). Which calls are live is the database's
//! knowledge, not this process's (several instances share the calls), so use is counted
//! here by time: every webhook of a call looks its version up, and the longest wait between two
//! webhooks of a call is a prompt plus a Gather's timeout (at most 60 s), far below the limit.
//! A call whose version was evicted anyway (one silent for longer) is not lost: its version is
//! compiled again from `flow_versions.source`, as for a version another instance loaded.
//!
//! Must not touch: the store, HTTP. It only holds compiled flows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

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

/// A version no call has looked up for this long, and that is not current, is evicted.
pub const VERSION_IDLE_LIMIT: Duration = Duration::from_secs(10 * 60);

/// Lookups sweep idle versions out at most this often (reloads and fetched versions always do).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A compiled version and when a call last used it.
#[derive(Debug)]
struct Held {
    flow: Arc<Flow>,
    /// Milliseconds since the registry's `epoch`.
    last_used: AtomicU64,
}

#[derive(Debug)]
pub struct Registry {
    current: ArcSwap<Snapshot>,
    versions: RwLock<HashMap<String, Held>>,
    /// The instant `last_used` and `next_sweep` count from.
    epoch: Instant,
    /// When a lookup next sweeps idle versions out (ms since `epoch`).
    next_sweep: AtomicU64,
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
            epoch: Instant::now(),
            next_sweep: AtomicU64::new(SWEEP_EVERY.as_millis() as u64),
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

    fn millis_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// Makes `flows` current for new calls; older versions stay available to calls in progress
    /// (until idle for [`VERSION_IDLE_LIMIT`]).
    pub fn replace(&self, flows: Vec<Arc<Flow>>) {
        let now = self.millis_at(Instant::now());
        {
            let mut versions = self.versions.write().unwrap_or_else(|e| e.into_inner());
            // The versions that stop being current served new calls until now.
            for flow in &self.current.load().flows {
                if let Some(held) = versions.get(&flow.version) {
                    held.last_used.store(now, Ordering::Relaxed);
                }
            }
            for flow in &flows {
                versions.insert(
                    flow.version.clone(),
                    Held {
                        flow: flow.clone(),
                        last_used: AtomicU64::new(now),
                    },
                );
            }
            self.current.store(Arc::new(Snapshot { flows }));
        }
        self.evict_idle(Instant::now());
    }

    /// Evicts every version that is not current and that no call has used for
    /// [`VERSION_IDLE_LIMIT`] before `now`; returns how many. Runs by itself at each reload,
    /// each version fetched from the database and at most once a minute on lookups.
    pub fn evict_idle(&self, now: Instant) -> usize {
        // Nothing is idle for longer than the registry exists.
        let Some(cutoff) = now
            .checked_sub(VERSION_IDLE_LIMIT)
            .filter(|cutoff| *cutoff > self.epoch)
        else {
            return 0;
        };
        let cutoff = self.millis_at(cutoff);
        let current = self.current();
        let mut versions = self.versions.write().unwrap_or_else(|e| e.into_inner());
        let before = versions.len();
        versions.retain(|version, held| {
            current.flows.iter().any(|f| &f.version == version)
                || held.last_used.load(Ordering::Relaxed) >= cutoff
        });
        self.next_sweep
            .store(self.millis_at(now + SWEEP_EVERY), Ordering::Relaxed);
        let evicted = before - versions.len();
        if evicted > 0 {
            tracing::info!(
                evicted,
                held = versions.len(),
                "Flow versions no call used for ten minutes were evicted from memory."
            );
        }
        evicted
    }

    /// Compiled versions held in memory: the current ones and those kept for calls.
    pub fn versions_held(&self) -> usize {
        self.versions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
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

    /// A flow version this instance has loaded (or fetched, see [`Registry::add_version`]),
    /// marked as used now.
    pub fn version(&self, version: &str) -> Option<Arc<Flow>> {
        let now = Instant::now();
        let found = {
            let versions = self.versions.read().unwrap_or_else(|e| e.into_inner());
            versions.get(version).map(|held| {
                held.last_used.store(self.millis_at(now), Ordering::Relaxed);
                held.flow.clone()
            })
        };
        if self.millis_at(now) >= self.next_sweep.load(Ordering::Relaxed) {
            self.evict_idle(now);
        }
        found
    }

    /// Keeps a version compiled from the database (another instance loaded it, or it was
    /// evicted here) for the calls pinned to it; new calls still get the current flows.
    pub fn add_version(&self, flow: Arc<Flow>) {
        let now = Instant::now();
        {
            let mut versions = self.versions.write().unwrap_or_else(|e| e.into_inner());
            versions.insert(
                flow.version.clone(),
                Held {
                    flow,
                    last_used: AtomicU64::new(self.millis_at(now)),
                },
            );
        }
        self.evict_idle(now);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The project's flow, compiled, under the version name `version`.
    fn flow(version: &str) -> Arc<Flow> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let flows =
            liza_core::flow::load::load_flows(&root.join("flows"), &root.join("locales")).unwrap();
        let mut flow = Arc::try_unwrap(flows.into_iter().next().unwrap()).unwrap();
        flow.version = version.to_owned();
        Arc::new(flow)
    }

    #[test]
    fn old_versions_are_evicted_once_idle_and_the_current_one_never() {
        let start = Instant::now();
        let registry = Registry::new(vec![flow("v0")]);
        for n in 1..=30 {
            registry.reloaded(vec![flow(&format!("v{n}"))]);
        }
        // Calls may still be using any of them.
        assert_eq!(registry.versions_held(), 31);
        assert_eq!(registry.evict_idle(Instant::now()), 0);
        assert_eq!(
            registry.evict_idle(start + VERSION_IDLE_LIMIT - Duration::from_secs(1)),
            0
        );
        // Ten minutes later no call has asked for them.
        let later = Instant::now() + VERSION_IDLE_LIMIT + Duration::from_secs(1);
        assert_eq!(registry.evict_idle(later), 30);
        assert_eq!(registry.versions_held(), 1);
        assert!(registry.version("v0").is_none());
        assert!(registry.version("v29").is_none());
        assert_eq!(registry.version("v30").unwrap().version, "v30");
        // The current version stays however long nobody calls.
        assert_eq!(registry.evict_idle(later + VERSION_IDLE_LIMIT * 10), 0);
        assert_eq!(registry.current().flows[0].version, "v30");
    }

    #[test]
    fn a_version_a_call_keeps_using_stays() {
        // Loaded beforehand: reading the files takes longer than the margins below on a busy
        // machine.
        let (old, unused, new) = (flow("old"), flow("unused"), flow("new"));
        let registry = Registry::new(vec![old]);
        let replaced = Instant::now();
        registry.reloaded(vec![unused]);
        registry.reloaded(vec![new]);
        std::thread::sleep(Duration::from_millis(50));
        // A call pinned to `old` answers another webhook.
        assert!(registry.version("old").is_some());
        // Ten minutes after the reload, but not after that webhook.
        let evicted =
            registry.evict_idle(replaced + VERSION_IDLE_LIMIT + Duration::from_millis(20));
        assert_eq!(evicted, 1, "only `unused` goes");
        assert!(registry.version("old").is_some());
        assert!(registry.version("unused").is_none());
        assert_eq!(registry.versions_held(), 2);
    }

    #[test]
    fn a_version_fetched_from_the_database_is_held_and_evicted_alike() {
        let registry = Registry::new(vec![flow("current")]);
        registry.add_version(flow("elsewhere"));
        assert_eq!(registry.versions_held(), 2);
        assert!(registry.version("elsewhere").is_some());
        let later = Instant::now() + VERSION_IDLE_LIMIT + Duration::from_secs(1);
        assert_eq!(registry.evict_idle(later), 1);
        assert!(registry.version("elsewhere").is_none());
        // Fetched again for a call that still needs it.
        registry.add_version(flow("elsewhere"));
        assert!(registry.version("elsewhere").is_some());
    }
}
