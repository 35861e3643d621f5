//! The port through which a turn's `fetch` nodes reach the shop's systems. The webhook plays
//! its turn on a store writer until a fetch pauses it, performs the request here on the async
//! side (outside any transaction: the writers never wait for a slow API), then plays the turn
//! again on a writer with the answer. `liza-outbound` performs requests over HTTP; tests and
//! the offline tools answer them from data.
//!
//! Must not touch: HTTP types, SQL.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

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
