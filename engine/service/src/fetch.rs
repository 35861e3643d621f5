//! The port through which a turn's `fetch` nodes reach the shop's systems. The webhook plays
//! its turn on a store writer until a fetch pauses it, performs the request here on the async
//! side (outside any transaction: the writers never wait for a slow API), then plays the turn
//! again on a writer with the answer. `liza-outbound` performs requests over HTTP; tests and
//! the offline tools answer them from data.
//!
//! Must not touch: HTTP types, SQL.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use liza_core::runtime::{FetchAnswer, FetchRequest};

/// Most fetches one turn may make; a further one is answered `error` at once.
pub const MAX_FETCHES_PER_TURN: usize = 3;

/// The time all fetches of one turn may take together (each also has its own timeout): with
/// the two short transactions around them, the caller's answer stays well inside the 15 s
/// Twilio waits.
pub const TURN_FETCH_BUDGET: Duration = Duration::from_secs(6);

/// Performs a flow's requests.
pub trait Fetcher: Send + Sync + 'static {
    /// The answer that needs no request, if there is one: an environment value the request
    /// needs is not set (`not_configured`). Called on a store writer: it must not wait.
    fn at_once(&self, request: &FetchRequest) -> Option<FetchAnswer>;

    /// Performs the request within `budget` (and the request's own timeout, whichever is
    /// shorter). Never fails: a refused connection, a slow or wrong answer are answers too.
    fn fetch<'a>(
        &'a self,
        request: &'a FetchRequest,
        budget: Duration,
    ) -> Pin<Box<dyn Future<Output = FetchAnswer> + Send + 'a>>;
}

/// A fetcher for a server without outbound requests: every fetch is `not_configured`.
#[derive(Debug, Default)]
pub struct NoFetcher;

impl Fetcher for NoFetcher {
    fn at_once(&self, _request: &FetchRequest) -> Option<FetchAnswer> {
        Some(FetchAnswer::not_configured("no fetcher"))
    }

    fn fetch<'a>(
        &'a self,
        _request: &'a FetchRequest,
        _budget: Duration,
    ) -> Pin<Box<dyn Future<Output = FetchAnswer> + Send + 'a>> {
        Box::pin(async { FetchAnswer::not_configured("no fetcher") })
    }
}

/// Which fetch of which call: a webhook delivered again asks for the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlightKey {
    pub call_sid: String,
    /// The turn's how-many-th fetch.
    pub index: usize,
    /// The request as shown (method, connection, path with the variables filled in).
    pub shown: String,
}

/// The fetches in flight on this instance, so a webhook Twilio delivers again while the first
/// delivery's fetch still runs waits for that answer instead of asking the shop a second time.
/// (Once the first delivery's turn is stored, a repeat is answered from the database.) An entry
/// lives as long as the webhook that made it: at most one per webhook being answered.
#[derive(Default)]
pub struct InFlight {
    fetches: std::sync::Mutex<HashMap<FlightKey, Arc<OnceCell<FetchAnswer>>>>,
}

impl InFlight {
    /// The answer to `key`: `fetch`'s, or the one a webhook already waiting for the same fetch
    /// gets. The first to ask keeps the entry in `flights`, which removes it when dropped.
    pub async fn once<'a>(
        &'a self,
        key: FlightKey,
        flights: &mut Flights<'a>,
        fetch: impl Future<Output = FetchAnswer>,
    ) -> FetchAnswer {
        let (cell, first) = {
            let mut fetches = self.fetches.lock().unwrap_or_else(|e| e.into_inner());
            match fetches.get(&key) {
                Some(cell) => (cell.clone(), false),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    fetches.insert(key.clone(), cell.clone());
                    (cell, true)
                }
            }
        };
        if first {
            flights.keys.push(key);
        }
        cell.get_or_init(|| fetch).await.clone()
    }

    /// Fetches in flight now (for tests).
    pub fn len(&self) -> usize {
        self.fetches.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no fetch is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The entries one webhook made in [`InFlight`]; removed when the webhook is answered (or its
/// request is dropped).
pub struct Flights<'a> {
    in_flight: &'a InFlight,
    keys: Vec<FlightKey>,
}

impl<'a> Flights<'a> {
    pub fn new(in_flight: &'a InFlight) -> Self {
        Self {
            in_flight,
            keys: Vec::new(),
        }
    }
}

impl Drop for Flights<'_> {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let mut fetches = self
            .in_flight
            .fetches
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for key in self.keys.drain(..) {
            fetches.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(call_sid: &str) -> FlightKey {
        FlightKey {
            call_sid: call_sid.to_owned(),
            index: 0,
            shown: "GET shop /orders/12345".to_owned(),
        }
    }

    #[tokio::test]
    async fn a_repeat_waits_for_the_fetch_in_flight_and_the_entry_goes_with_the_first() {
        let in_flight = InFlight::default();
        let asked = AtomicUsize::new(0);
        let slow = |status: &'static str| {
            let asked = &asked;
            async move {
                asked.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                FetchAnswer::not_configured(status)
            }
        };
        let mut first = Flights::new(&in_flight);
        let mut repeat = Flights::new(&in_flight);
        let mut other = Flights::new(&in_flight);
        let (a, b, c) = tokio::join!(
            in_flight.once(key("CA1"), &mut first, slow("first")),
            in_flight.once(key("CA1"), &mut repeat, slow("repeat")),
            in_flight.once(key("CA2"), &mut other, slow("other call")),
        );
        assert_eq!(asked.load(Ordering::SeqCst), 2, "one request per call");
        assert_eq!(a, b, "the repeat got the first delivery's answer");
        assert_ne!(a, c);
        assert_eq!(in_flight.len(), 2);
        drop(repeat);
        assert_eq!(in_flight.len(), 2, "the repeat made no entry");
        drop(first);
        drop(other);
        assert!(in_flight.is_empty());
    }
}
