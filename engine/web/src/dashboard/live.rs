//! The live view: Server-Sent Events that tell an open page what changed, so it can update
//! itself (`templates/static/live.js`, same origin, no library).
//!
//! - `GET /live/calls`: the calls in progress ([`LiveCalls`]): the overview's tile and the
//!   list `/calls?status=in_progress`. One poller per server asks the store every
//!   [`CALLS_POLL`] while anyone watches (one index range, `calls_by_status`) and every stream
//!   shares its answer: the store's work does not grow with the watchers.
//! - `GET /live/calls/<id>`: one call while it runs ([`is_running`]): an event whenever its
//!   status, turns or end change (one row by its key every [`CALL_POLL`]); the stream ends
//!   once the call has ended, and so do the page's updates.
//!
//! Bounded: at most [`MAX_STREAMS`] streams in the server (429 beyond) and
//! [`MAX_STREAMS_PER_SESSION`] per session (a new one ends the session's oldest, most likely a
//! page left behind: a closed connection is noticed only at the next write); a comment every [`HEARTBEAT`] keeps proxies and the connection's idle
//! deadline from closing a quiet stream; a stream ends after [`STREAM_LIFETIME`] (the browser
//! reconnects and its session is checked again, so a logout or an expired session stops it)
//! and at once when the server shuts down ([`Live::shut_down`]), so a graceful shutdown is not
//! held up. Only a signed-in session may open one (401 otherwise: an `EventSource` does not
//! follow a login redirect).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::sse::{Event, SSE};
use poem::web::Path;
use poem::{handler, IntoResponse, Request, Response};
use serde::Serialize;
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::warn;

use super::extract::Board;
use super::Dashboard;
use liza_store::admin::{AdminStore, CallProgress, LiveCalls};
use liza_store::now_ms;

/// Live streams the server keeps open at once.
pub const MAX_STREAMS: usize = 64;
/// Live streams one session may keep open at once (a few tabs).
pub const MAX_STREAMS_PER_SESSION: usize = 4;
/// A comment line this often on a quiet stream. A stream whose browser has gone is noticed
/// only when a write fails, so its place is given back within two of these.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often the calls in progress are counted while anyone watches.
pub const CALLS_POLL: Duration = Duration::from_secs(2);
/// How often a watched call's row is read.
pub const CALL_POLL: Duration = Duration::from_secs(1);
/// A stream ends after this; the browser opens a new one (and its session is checked again).
pub const STREAM_LIFETIME: Duration = Duration::from_secs(600);

/// The live streams of one server: their bounds, the shared count of calls in progress, the
/// shutdown signal.
pub struct Live {
    slots: Arc<Semaphore>,
    sessions: Arc<Mutex<Sessions>>,
    /// `true` once the server shuts down.
    stop: watch::Sender<bool>,
    /// The last count of calls in progress (`None` until the poller's first answer).
    calls: watch::Sender<Option<LiveCalls>>,
    poller_started: AtomicBool,
}

/// Each session's open streams, oldest first, with the signal that ends each.
#[derive(Default)]
struct Sessions {
    next_id: u64,
    open: HashMap<i64, VecDeque<(u64, oneshot::Sender<()>)>>,
}

/// Why a stream was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// [`MAX_STREAMS`] open already.
    Server,
    /// The server is shutting down.
    ShuttingDown,
}

/// One open stream's place in the bounds; given back when the stream ends (dropped).
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    session: i64,
    id: u64,
    sessions: Arc<Mutex<Sessions>>,
    /// Fires when a newer stream of the same session takes this one's place.
    ended: oneshot::Receiver<()>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = sessions.open.get_mut(&self.session) {
            open.retain(|(id, _)| *id != self.id);
            if open.is_empty() {
                sessions.open.remove(&self.session);
            }
        }
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new(MAX_STREAMS)
    }
}

impl Live {
    /// Streams bounded to `max_streams` in the server.
    pub fn new(max_streams: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_streams)),
            sessions: Arc::new(Mutex::new(Sessions::default())),
            stop: watch::channel(false).0,
            calls: watch::channel(None).0,
            poller_started: AtomicBool::new(false),
        }
    }

    /// A place for one more stream of `session`. At [`MAX_STREAMS_PER_SESSION`] the session's
    /// oldest stream is ended to make room: it is most likely a page left behind, whose
    /// closed connection the server notices only at its next write (a heartbeat), and the
    /// page in front of the user is the one to keep live.
    pub fn open(&self, session: i64) -> Result<Slot, Refused> {
        if *self.stop.borrow() {
            return Err(Refused::ShuttingDown);
        }
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refused::Server)?;
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.next_id += 1;
        let id = sessions.next_id;
        let open = sessions.open.entry(session).or_default();
        while open.len() >= MAX_STREAMS_PER_SESSION {
            if let Some((_, end)) = open.pop_front() {
                let _ = end.send(());
            }
        }
        let (end, ended) = oneshot::channel();
        open.push_back((id, end));
        Ok(Slot {
            _permit: permit,
            session,
            id,
            sessions: self.sessions.clone(),
            ended,
        })
    }

    /// Streams of `session` open now (not yet told to end).
    pub fn session_streams(&self, session: i64) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open
            .get(&session)
            .map_or(0, VecDeque::len)
    }

    /// Ends every stream (and the poller) and refuses new ones: the server is shutting down.
    pub fn shut_down(&self) {
        self.stop.send_replace(true);
    }

    /// The shared count of calls in progress; starts its poller on first use.
    fn watch_calls(&self, admin: Arc<dyn AdminStore>) -> watch::Receiver<Option<LiveCalls>> {
        let receiver = self.calls.subscribe();
        if !self.poller_started.swap(true, Ordering::SeqCst) {
            tokio::spawn(poll_calls(admin, self.calls.clone(), self.stop.subscribe()));
        }
        receiver
    }
}

/// Counts the calls in progress every [`CALLS_POLL`] while a stream watches, until shutdown.
async fn poll_calls(
    admin: Arc<dyn AdminStore>,
    calls: watch::Sender<Option<LiveCalls>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failing = false;
    loop {
        if calls.receiver_count() > 0 {
            match admin.live_calls().await {
                Ok(now) => {
                    failing = false;
                    calls.send_if_modified(|last| {
                        let changed = *last != Some(now);
                        *last = Some(now);
                        changed
                    });
                }
                Err(error) if !failing => {
                    failing = true;
                    warn!(%error, "The live view cannot count the calls in progress; it keeps trying.");
                }
                Err(_) => {}
            }
        }
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(CALLS_POLL) => {}
        }
    }
}

/// What `/live/calls/<id>` says of the call.
#[derive(Debug, Serialize)]
struct CallEvent {
    /// Differs whenever the page would show something new.
    version: String,
    /// The call is over: no more events will come.
    ended: bool,
}

/// Twilio ends a call after four hours at most (its `timeLimit`); a call without an end by
/// then lost its final status callback and is not followed any longer.
pub const LONGEST_CALL_MS: i64 = 4 * 3_600_000;

/// Whether the call is still running: Twilio's final status callback has not come (a flow may
/// mark a call `processed` or `completed` while the caller is still on the line).
pub fn is_running(progress: &CallProgress, now_ms: i64) -> bool {
    progress.ended_at.is_none() && progress.started_at > now_ms - LONGEST_CALL_MS
}

/// The version a call page is rendered with and its stream compares against.
pub fn call_version(progress: &CallProgress) -> String {
    format!(
        "{}.{}.{}.{}",
        progress.status,
        progress.turns,
        progress.ended_at.unwrap_or(-1),
        progress.duration_secs.unwrap_or(-1)
    )
}

fn refused(status: StatusCode, text: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/plain; charset=utf-8")
        .header("cache-control", "no-store")
        .body(text.to_owned())
}

/// The signed-in session's slot, or the answer that refuses the stream.
async fn open_stream(d: &Dashboard, req: &Request) -> Result<Slot, Response> {
    let user = match d.session_user(req).await {
        Ok(Some(user)) => user,
        Ok(None) => return Err(refused(StatusCode::UNAUTHORIZED, "Sign in first.")),
        Err(error) => {
            warn!(%error, "The live view cannot check a session.");
            return Err(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database does not answer.",
            ));
        }
    };
    d.live.open(user.session_id).map_err(|why| match why {
        Refused::Server => refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many live pages open on this server; reload by hand.",
        ),
        Refused::ShuttingDown => refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is shutting down.",
        ),
    })
}

/// Ends when the server shuts down, the stream has lived [`STREAM_LIFETIME`] or a newer
/// stream of its session took its place.
async fn ended(stop: &mut watch::Receiver<bool>, deadline: Instant, slot: &mut Slot) {
    tokio::select! {
        _ = stop.wait_for(|stopped| *stopped) => {}
        () = tokio::time::sleep_until(deadline) => {}
        _ = &mut slot.ended => {}
    }
}

/// poem's event stream (`Cache-Control: no-cache`, no proxy buffering) with its heartbeat.
fn sse(stream: impl futures_util::Stream<Item = Event> + Send + 'static) -> Response {
    SSE::new(stream).keep_alive(HEARTBEAT).into_response()
}

/// `GET /live/calls`: the calls in progress, an event `calls` (`{"in_progress":…,
/// "signature":…}`) at once and whenever they change.
#[handler]
pub async fn live_calls(Board(d): Board<'_>, req: &Request) -> Response {
    let slot = match open_stream(d, req).await {
        Ok(slot) => slot,
        Err(answer) => return answer,
    };
    struct State {
        calls: watch::Receiver<Option<LiveCalls>>,
        stop: watch::Receiver<bool>,
        deadline: Instant,
        first: bool,
        slot: Slot,
    }
    let state = State {
        calls: d.live.watch_calls(d.admin.clone()),
        stop: d.live.stop.subscribe(),
        deadline: Instant::now() + STREAM_LIFETIME,
        first: true,
        slot,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if !std::mem::take(&mut state.first) {
                tokio::select! {
                    () = ended(&mut state.stop, state.deadline, &mut state.slot) => return None,
                    changed = state.calls.changed() => if changed.is_err() { return None },
                }
            }
            let now = *state.calls.borrow_and_update();
            if let Some(now) = now {
                let data = serde_json::to_string(&now).unwrap_or_default();
                return Some((Event::message(data).event_type("calls"), state));
            }
        }
    });
    sse(stream)
}

/// `GET /live/calls/<id>`: one call, an event `call` at once and whenever it changes; the
/// stream ends after the event that says the call has ended.
#[handler]
pub async fn live_call(
    Board(d): Board<'_>,
    Path(id_text): Path<String>,
    req: &Request,
) -> Response {
    let slot = match open_stream(d, req).await {
        Ok(slot) => slot,
        Err(answer) => return answer,
    };
    let Ok(id) = id_text.parse::<i64>() else {
        return refused(StatusCode::NOT_FOUND, "No such call.");
    };
    struct State {
        admin: Arc<dyn AdminStore>,
        id: i64,
        stop: watch::Receiver<bool>,
        deadline: Instant,
        last: Option<String>,
        done: bool,
        slot: Slot,
    }
    let state = State {
        admin: d.admin.clone(),
        id,
        stop: d.live.stop.subscribe(),
        deadline: Instant::now() + STREAM_LIFETIME,
        last: None,
        done: false,
        slot,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        loop {
            if state.last.is_some() {
                tokio::select! {
                    () = ended(&mut state.stop, state.deadline, &mut state.slot) => return None,
                    () = tokio::time::sleep(CALL_POLL) => {}
                }
            }
            let progress = match state.admin.call_progress(state.id).await {
                Ok(Some(progress)) => progress,
                // Gone (erased): nothing more to watch.
                Ok(None) => return None,
                // The database is away for a moment: ask again at the next poll.
                Err(_) => {
                    state.last.get_or_insert_with(String::new);
                    continue;
                }
            };
            let version = call_version(&progress);
            let ended = !is_running(&progress, now_ms());
            if state.last.as_deref() != Some(version.as_str()) || ended {
                state.last = Some(version.clone());
                state.done = ended;
                let data = serde_json::to_string(&CallEvent { version, ended }).unwrap_or_default();
                return Some((Event::message(data).event_type("call"), state));
            }
        }
    });
    sse(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_keeps_its_newest_streams_and_the_server_refuses_beyond_its_bound() {
        let live = Live::new(MAX_STREAMS_PER_SESSION + 2);
        let mut first: Vec<Slot> = (0..MAX_STREAMS_PER_SESSION)
            .map(|_| live.open(1).unwrap())
            .collect();
        assert!(first.iter_mut().all(|s| s.ended.try_recv().is_err()));
        // One more: the oldest is told to end, the session keeps its bound.
        let newest = live.open(1).unwrap();
        assert!(first[0].ended.try_recv().is_ok(), "the oldest ends");
        assert!(first[1..].iter_mut().all(|s| s.ended.try_recv().is_err()));
        assert_eq!(live.session_streams(1), MAX_STREAMS_PER_SESSION);
        // Its place in the server's bound is given back only once it has ended.
        let other = live.open(2).unwrap();
        assert_eq!(live.open(3).err(), Some(Refused::Server));
        drop(first.remove(0));
        let third = live.open(3).unwrap();
        assert_eq!(live.session_streams(3), 1);
        drop((first, newest, other, third));
        assert_eq!(live.session_streams(1), 0);
        live.shut_down();
        assert_eq!(live.open(4).err(), Some(Refused::ShuttingDown));
    }
}
