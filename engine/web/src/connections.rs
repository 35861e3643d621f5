//! The server's edge: how many connections are kept, and how long a client may take.
//!
//! poem 3 has no header-read timeout and no connection limit, and its idle timeout is reset by
//! every byte, so a client that trickles its headers one byte at a time is never closed. Rather
//! than fork it, the listener is wrapped: [`LimitedAcceptor`] counts connections and wraps each
//! in a [`GuardedStream`] that enforces the deadlines, and the [`Track`] middleware (outermost)
//! tells the connection while one of its requests is inside the application, so a slow handler
//! is never cut off by a read deadline.
//!
//! A connection is always in one of three phases:
//! - **head**: a request head is on its way. It must arrive whole within `header_timeout` of its
//!   first byte (of connecting, for a new connection) and be at most [`MAX_HEAD_BYTES`].
//! - **busy**: at least one request is inside the application. No deadline from here: the body
//!   has its own ([`BodyDeadline`]), handlers bound their own work. While the application waits
//!   for the rest of a body, the connection counts as waiting (see below).
//! - **idle**: between requests. Closed after `idle_timeout` without a new request or progress
//!   in writing the last answer to the client.
//!
//! At `max_connections`, a new connection closes the connection that has waited longest for its
//! client (idle, still sending its head, or still sending a body the application waits for):
//! those cost an attacker nothing to hold, so they must not be able to keep Twilio out (Twilio
//! sends head and body at once). A request being worked on is never closed for a new one; when
//! every connection has one, the new connection waits in the accept queue until one of them
//! ends or finishes its request (then it is idle and goes).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Endpoint, Middleware, Request};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use tracing::{debug, warn};

/// How long and how much the server waits for and keeps its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open connections at most (LIZA_MAX_CONNECTIONS).
    pub max_connections: usize,
    /// Time to send a request's head, from its first byte or from connecting (LIZA_HEADER_TIMEOUT).
    pub header_timeout: Duration,
    /// Time to send a request's body, from the moment its head arrived (LIZA_BODY_TIMEOUT).
    pub body_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request (LIZA_IDLE_TIMEOUT).
    pub idle_timeout: Duration,
    /// Largest webhook body accepted (LIZA_WEBHOOK_MAX_BYTES).
    pub webhook_max_bytes: usize,
    /// Connections the kernel completes and queues before the server accepts them
    /// (LIZA_LISTEN_BACKLOG; [`listen`]).
    pub listen_backlog: u32,
}

impl Default for ServerLimits {
    /// The defaults of LIZA_MAX_CONNECTIONS and the others (the settings table says the same;
    /// a test keeps them equal).
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            webhook_max_bytes: 16 * 1024,
            listen_backlog: 4096,
        }
    }
}

/// Listens on `addr` (`host:port`; the first of its addresses that can be bound) with room for
/// `backlog` connections the kernel has completed and the server not yet accepted (Linux caps
/// it at `net.core.somaxconn`, 4096 since Linux 5.4).
///
/// Not tokio's `TcpListener::bind`, whose queue holds 128 (the standard library's value): when
/// a burst of new connections outruns `accept` (a proxy that opens one per request, thousands
/// of calls whose webhooks come at once), the kernel drops the SYNs past the queue and each of
/// those clients waits for its retransmission, a second or more. At 10,000 live calls the
/// 128 were overrun (docs/BENCHMARKS.md, "At 10,000 live calls the load generator has two
/// states").
pub async fn listen(addr: &str, backlog: u32) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        // As tokio's bind: a restarted server may bind while the old one's connections linger
        // (not on Windows, where it would let another process take the port).
        if cfg!(unix) {
            socket.set_reuseaddr(true)?;
        }
        match socket.bind(addr).and_then(|()| socket.listen(backlog)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no address",
        )
    }))
}

/// A request head (request line and headers) larger than this closes the connection. Twilio's
/// are under 2 kB and a browser's under 8 kB; hyper's own cap is about 400 kB, which a few
/// hundred slow clients could turn into a lot of memory.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How often a warning about the connection limit may be logged: under attack it is hit
/// thousands of times a second.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// A connection's own address and its peer's: unique among open TCP connections.
type Key = (SocketAddr, SocketAddr);

/// The open connections of one server and its limits.
#[derive(Clone)]
pub struct Connections {
    shared: Arc<Shared>,
}

struct Shared {
    limits: ServerLimits,
    table: Mutex<HashMap<Key, Arc<Conn>>>,
    /// Signalled whenever a connection ends or finishes a request (it may be closed then).
    freed: Notify,
    last_warning: Mutex<Option<Instant>>,
}

impl Connections {
    /// Connections kept within `limits`.
    pub fn new(limits: &ServerLimits) -> Self {
        Self {
            shared: Arc::new(Shared {
                limits: limits.clone(),
                table: Mutex::new(HashMap::new()),
                freed: Notify::new(),
                last_warning: Mutex::new(None),
            }),
        }
    }

    /// Accepts from `listener` within the limits.
    pub fn acceptor(&self, listener: TcpListener) -> io::Result<LimitedAcceptor> {
        let local_addr = listener.local_addr()?;
        Ok(LimitedAcceptor {
            listener,
            local_addr,
            shared: self.shared.clone(),
        })
    }

    /// The middleware that marks a connection busy while one of its requests is handled.
    pub fn track(&self) -> Track {
        Track {
            shared: self.shared.clone(),
        }
    }
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, HashMap<Key, Arc<Conn>>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a new connection may be kept, closing the longest-waiting idle one if needed.
    async fn make_room(&self) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let table = self.table();
                let max = self.limits.max_connections;
                if table.len() < max {
                    return;
                }
                let closing = table.values().filter(|c| c.lock().killed).count();
                if table.len() - closing >= max {
                    let victim = table
                        .values()
                        .filter_map(|c| c.waiting_since().map(|since| (since, c)))
                        .min_by_key(|(since, _)| *since);
                    match victim {
                        Some((_, conn)) => {
                            conn.kill();
                            debug!(open = table.len(), "Connection limit reached: closed the longest-waiting idle connection.");
                            self.warn(|| warn!(limit = max, "Connection limit reached: closing idle and slow connections to make room (LIZA_MAX_CONNECTIONS)."));
                        }
                        None => self.warn(|| warn!(limit = max, "Connection limit reached and every connection has a request in progress: new connections wait.")),
                    }
                }
            }
            // A connection that is being closed ends within a poll; the tick re-checks
            // connections that became idle meanwhile.
            let _ = tokio::time::timeout(Duration::from_millis(100), freed).await;
        }
    }

    fn warn(&self, log: impl FnOnce()) {
        let mut last = self.last_warning.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_none_or(|at| now.duration_since(at) >= WARNING_INTERVAL) {
            *last = Some(now);
            log();
        }
    }

    fn find(&self, local: &LocalAddr, remote: &RemoteAddr) -> Option<Arc<Conn>> {
        let key = (*local.as_socket_addr()?, *remote.as_socket_addr()?);
        self.table().get(&key).cloned()
    }
}

/// One connection's phase and deadline, shared by its stream and its requests.
struct Conn {
    state: Mutex<State>,
}

struct State {
    phase: Phase,
    /// When the connection is closed unless it is busy by then.
    deadline: Instant,
    /// Since when it has waited for its client (for a request waiting for its body: since the
    /// request began): the longest waiting goes first.
    since: Instant,
    /// A request of this connection waits for more of its body from the client.
    awaiting_body: bool,
    /// An answer was written and not yet flushed: closing now would cut it off.
    answering: bool,
    /// Chosen to make room for a new connection.
    killed: bool,
    /// Wakes the connection's task so that a kill takes effect at once.
    reader: Option<Waker>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A head on its way: `bytes` of it so far; `lf` when its last line break (carriage
    /// returns aside) ended what came so far, so one more would end the head.
    Head {
        bytes: usize,
        lf: bool,
    },
    /// The head has come whole; the bytes after it (a body sent at once) are not the head's.
    HeadDone,
    Busy(usize),
    Idle,
}

/// How many of `data`'s bytes belong to the head whose last line break so far is `lf`, and
/// whether the head ends within them (an empty line: `\r\n\r\n`, or bare `\n\n` as
/// hyper's parser also accepts). A client sends its body right after the head, and a reader
/// whose buffer grew on an earlier large body reads much of the next body with the next head.
fn scan_head(mut lf: bool, data: &[u8]) -> (usize, bool, bool) {
    for (i, &byte) in data.iter().enumerate() {
        match byte {
            b'\n' if lf => return (i + 1, true, true),
            b'\n' => lf = true,
            b'\r' => {}
            _ => lf = false,
        }
    }
    (data.len(), false, lf)
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
}

impl Conn {
    fn new(limits: &ServerLimits) -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                phase: Phase::Head {
                    bytes: 0,
                    lf: false,
                },
                deadline: now + limits.header_timeout,
                since: now,
                awaiting_body: false,
                answering: false,
                killed: false,
                reader: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Some(since)` when this connection waits for its client: closing it loses no work done
    /// and no answer on its way.
    fn waiting_since(&self) -> Option<Instant> {
        let state = self.lock();
        let waiting = match state.phase {
            Phase::Busy(1) => state.awaiting_body,
            Phase::Busy(_) => false,
            Phase::Head { .. } | Phase::HeadDone | Phase::Idle => !state.answering,
        };
        (waiting && !state.killed).then_some(state.since)
    }

    fn kill(&self) {
        let mut state = self.lock();
        state.killed = true;
        if let Some(waker) = state.reader.take() {
            waker.wake();
        }
    }

    /// Whether reading may go on; when it may, the deadline to wait for (none while busy).
    fn before_read(&self, now: Instant) -> io::Result<Option<Instant>> {
        let state = self.lock();
        if matches!(state.phase, Phase::Busy(_)) {
            if state.killed && state.awaiting_body {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "closed to make room for a new connection while its body was awaited",
                ));
            }
            return Ok(None);
        }
        if state.killed && !state.answering {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection",
            ));
        }
        if now >= state.deadline {
            return Err(timed_out(match state.phase {
                Phase::Head { .. } | Phase::HeadDone => "the request head did not arrive in time",
                _ => "idle for too long",
            }));
        }
        Ok(Some(state.deadline))
    }

    fn remember_reader(&self, waker: &Waker) {
        let mut state = self.lock();
        if !state.reader.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.reader = Some(waker.clone());
        }
    }

    fn read(&self, data: &[u8], limits: &ServerLimits) -> io::Result<()> {
        let mut state = self.lock();
        let (before, lf) = match state.phase {
            Phase::Idle => {
                // The first byte of the next request: its head has header_timeout from here.
                state.deadline = Instant::now() + limits.header_timeout;
                (0, false)
            }
            Phase::Head { bytes, lf } => (bytes, lf),
            Phase::HeadDone | Phase::Busy(_) => return Ok(()),
        };
        let (head_bytes, ended, lf) = scan_head(lf, data);
        let bytes = before + head_bytes;
        if bytes > MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the request head is too large",
            ));
        }
        state.phase = if ended {
            Phase::HeadDone
        } else {
            Phase::Head { bytes, lf }
        };
        Ok(())
    }

    /// The deadline for a write that cannot go on yet (none while busy).
    fn write_deadline(&self, now: Instant) -> io::Result<Option<Instant>> {
        let state = self.lock();
        if matches!(state.phase, Phase::Busy(_)) {
            return Ok(None);
        }
        if now >= state.deadline {
            return Err(timed_out("the client does not read its answer"));
        }
        Ok(Some(state.deadline))
    }

    fn wrote(&self, limits: &ServerLimits) {
        let mut state = self.lock();
        state.answering = true;
        if state.phase == Phase::Idle {
            // A client that reads its answer, however slowly, is not idle.
            let now = Instant::now();
            state.deadline = now + limits.idle_timeout;
            state.since = now;
        }
    }

    /// The application waits for more of a body (`true`), or got some (`false`).
    fn awaiting_body(&self, awaiting: bool) {
        let mut state = self.lock();
        if let Phase::Busy(_) = state.phase {
            state.awaiting_body = awaiting;
            if !awaiting {
                // Chosen while it waited, but the client is sending: the kill would not be
                // carried out (see before_read), so let another connection be chosen.
                state.killed = false;
            }
        }
    }

    fn flushed(&self) {
        let mut state = self.lock();
        if std::mem::take(&mut state.answering) && state.phase == Phase::Idle {
            // Likewise: the next read must run with the deadline armed.
            if let Some(waker) = state.reader.take() {
                waker.wake();
            }
        }
    }

    fn begin(&self) {
        let mut state = self.lock();
        state.phase = match state.phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Head { .. } | Phase::HeadDone | Phase::Idle => {
                state.since = Instant::now();
                Phase::Busy(1)
            }
        };
        // Chosen while it looked idle, but a request arrived: it is not idle any more.
        state.killed = false;
    }

    fn end(&self, limits: &ServerLimits) {
        let mut state = self.lock();
        if let Phase::Busy(n) = state.phase {
            if n > 1 {
                state.phase = Phase::Busy(n - 1);
            } else {
                let now = Instant::now();
                state.phase = Phase::Idle;
                state.awaiting_body = false;
                state.deadline = now + limits.idle_timeout;
                state.since = now;
                // The answer is written after the handler returned.
                state.answering = true;
                // hyper last read while the request was in progress, without a deadline, and
                // reads again only when woken: wake it, so it reads with the idle deadline.
                if let Some(waker) = state.reader.take() {
                    waker.wake();
                }
            }
        }
    }
}

/// Accepts TCP connections within [`ServerLimits`]; see the module documentation.
pub struct LimitedAcceptor {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Acceptor for LimitedAcceptor {
    type Io = GuardedStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        vec![LocalAddr(self.local_addr.into())]
    }

    async fn accept(&mut self) -> io::Result<(GuardedStream, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            let (io, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly. poem would ask again at once and spin.
                    self.shared.warn(
                        || warn!(error = %e, "Cannot accept a connection; retrying shortly."),
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // The connection's own address: with a wildcard bind, the listener's is not unique.
            let Ok(local) = io.local_addr() else {
                continue;
            };
            self.shared.make_room().await;
            let conn = Arc::new(Conn::new(&self.shared.limits));
            let key = (local, peer);
            self.shared.table().insert(key, conn.clone());
            let stream = GuardedStream {
                io,
                conn,
                shared: self.shared.clone(),
                key,
                read_timer: Box::pin(tokio::time::sleep_until(Instant::now())),
                read_timer_at: None,
                write_timer: Box::pin(tokio::time::sleep_until(Instant::now())),
                write_timer_at: None,
            };
            return Ok((
                stream,
                LocalAddr(local.into()),
                RemoteAddr(peer.into()),
                Scheme::HTTP,
            ));
        }
    }
}

/// A TCP stream that fails with `TimedOut` once its connection's deadline passes (and with
/// `ConnectionAborted` once it is chosen to make room), which makes hyper close it.
pub struct GuardedStream {
    io: TcpStream,
    conn: Arc<Conn>,
    shared: Arc<Shared>,
    key: Key,
    read_timer: Pin<Box<Sleep>>,
    read_timer_at: Option<Instant>,
    write_timer: Pin<Box<Sleep>>,
    write_timer_at: Option<Instant>,
}

/// Pending until `deadline` (re-arming `timer` when it moved), then an error.
fn wait_until(
    timer: &mut Pin<Box<Sleep>>,
    armed: &mut Option<Instant>,
    deadline: Option<Instant>,
    cx: &mut Context<'_>,
    what: &str,
) -> Poll<io::Error> {
    let Some(deadline) = deadline else {
        return Poll::Pending;
    };
    if *armed != Some(deadline) {
        timer.as_mut().reset(deadline);
        *armed = Some(deadline);
    }
    timer.as_mut().poll(cx).map(|()| timed_out(what))
}

impl GuardedStream {
    fn after_write(
        &mut self,
        result: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match result {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.conn.wrote(&self.shared.limits);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.wait_for_write(cx).map(Err),
        }
    }

    fn wait_for_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.conn.write_deadline(Instant::now()) {
            Err(e) => Poll::Ready(e),
            Ok(deadline) => wait_until(
                &mut self.write_timer,
                &mut self.write_timer_at,
                deadline,
                cx,
                "the client does not read its answer",
            ),
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = this.conn.before_read(Instant::now()) {
            return Poll::Ready(Err(e));
        }
        let filled = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let bytes = buf.filled().len() - filled;
                if bytes > 0 {
                    let data = &buf.filled()[filled..];
                    this.conn.read(data, &this.shared.limits)?;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                this.conn.remember_reader(cx.waker());
                // Checked again: a kill between the first check and remembering the waker
                // would otherwise go unnoticed until the deadline.
                match this.conn.before_read(Instant::now()) {
                    Err(e) => Poll::Ready(Err(e)),
                    Ok(deadline) => wait_until(
                        &mut this.read_timer,
                        &mut this.read_timer_at,
                        deadline,
                        cx,
                        "the client took too long",
                    )
                    .map(Err),
                }
            }
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        this.after_write(result, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.after_write(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Ready(Ok(())) => {
                this.conn.flushed();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.wait_for_write(cx).map(Err),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl Drop for GuardedStream {
    fn drop(&mut self) {
        let mut table = self.shared.table();
        if table
            .get(&self.key)
            .is_some_and(|c| Arc::ptr_eq(c, &self.conn))
        {
            table.remove(&self.key);
        }
        drop(table);
        self.shared.freed.notify_one();
    }
}

/// Middleware: marks the request's connection busy while the request is handled.
pub struct Track {
    shared: Arc<Shared>,
}

impl<E: Endpoint> Middleware<E> for Track {
    type Output = TrackEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        TrackEndpoint {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The endpoint [`Track`] makes.
pub struct TrackEndpoint<E> {
    inner: E,
    shared: Arc<Shared>,
}

/// Ends a connection's busy phase when the request is answered or dropped.
struct BusyGuard<'a> {
    conn: Arc<Conn>,
    shared: &'a Shared,
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.conn.end(&self.shared.limits);
        // A new connection waiting for room may take this one's place now that it is idle.
        self.shared.freed.notify_one();
    }
}

/// Put into a request's extensions by [`Track`]: lets [`BodyDeadline`] tell the connection
/// while the application waits for the body.
#[derive(Clone)]
struct BodyWatch(Arc<Conn>);

impl<E: Endpoint> Endpoint for TrackEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let conn = self.shared.find(req.local_addr(), req.remote_addr());
        let _busy = conn.map(|conn| {
            conn.begin();
            req.extensions_mut().insert(BodyWatch(conn.clone()));
            BusyGuard {
                conn,
                shared: &self.shared,
            }
        });
        self.inner.call(req).await
    }
}

/// Middleware: a request body must arrive within `timeout` of the request reaching the
/// application; a later read fails with `TimedOut` (a webhook answers 408).
pub struct BodyDeadline {
    pub timeout: Duration,
}

impl<E: Endpoint> Middleware<E> for BodyDeadline {
    type Output = BodyDeadlineEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyDeadlineEndpoint {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The endpoint [`BodyDeadline`] makes.
pub struct BodyDeadlineEndpoint<E> {
    inner: E,
    timeout: Duration,
}

impl<E: Endpoint> Endpoint for BodyDeadlineEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let body = req.take_body();
        if body.is_empty() {
            req.set_body(body);
        } else {
            let watch = req.extensions().get::<BodyWatch>().cloned();
            req.set_body(Body::from_async_read(DeadlineRead {
                inner: body.into_async_read(),
                timer: Box::pin(tokio::time::sleep(self.timeout)),
                watch,
            }));
        }
        self.inner.call(req).await
    }
}

struct DeadlineRead<R> {
    inner: R,
    timer: Pin<Box<Sleep>>,
    watch: Option<BodyWatch>,
}

impl<R: AsyncRead + Unpin> AsyncRead for DeadlineRead<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Some(BodyWatch(conn)) = &this.watch {
            conn.awaiting_body(result.is_pending());
        }
        match result {
            Poll::Pending => this
                .timer
                .as_mut()
                .poll(cx)
                .map(|()| Err(timed_out("the request body did not arrive in time"))),
            ready => ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ServerLimits {
        ServerLimits::default()
    }

    #[test]
    fn only_connections_waiting_for_their_client_may_be_closed_to_make_room() {
        let conn = Conn::new(&limits());
        let connected = conn
            .waiting_since()
            .expect("a new connection waits for its head");
        conn.read(b"GET / HTTP/1.1\r\nHost: x", &limits()).unwrap();
        assert_eq!(
            conn.waiting_since(),
            Some(connected),
            "bytes do not make it younger"
        );
        conn.begin();
        assert_eq!(conn.waiting_since(), None, "a request being worked on");
        conn.awaiting_body(true);
        let began = conn
            .waiting_since()
            .expect("waiting for the rest of its body");
        assert!(began >= connected);
        conn.awaiting_body(false);
        assert_eq!(conn.waiting_since(), None, "the body came");
        conn.end(&limits());
        assert_eq!(conn.waiting_since(), None, "its answer is on its way");
        conn.flushed();
        assert!(conn.waiting_since().is_some(), "idle after the answer");
        conn.kill();
        assert_eq!(conn.waiting_since(), None, "chosen once");
    }

    #[test]
    fn a_kill_is_carried_out_only_where_it_loses_no_work() {
        let conn = Conn::new(&limits());
        conn.begin();
        conn.kill();
        assert!(
            conn.before_read(Instant::now()).unwrap().is_none(),
            "busy: no deadline, no kill"
        );
        conn.awaiting_body(true);
        conn.kill();
        let error = conn.before_read(Instant::now()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
        conn.awaiting_body(false);
        assert!(
            conn.before_read(Instant::now()).is_ok(),
            "the client sent more: not killed"
        );
        conn.end(&limits());
        conn.kill();
        assert!(
            conn.before_read(Instant::now()).is_ok(),
            "answer not yet flushed"
        );
        conn.flushed();
        let error = conn.before_read(Instant::now()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
    }

    #[test]
    fn a_head_has_header_timeout_from_its_first_byte_and_at_most_max_head_bytes() {
        let limits = ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            ..ServerLimits::default()
        };
        let conn = Conn::new(&limits);
        conn.begin();
        conn.end(&limits);
        conn.flushed();
        let idle_deadline = conn.before_read(Instant::now()).unwrap().unwrap();
        conn.read(b"GET / HTTP", &limits).unwrap();
        let head_deadline = conn.before_read(Instant::now()).unwrap().unwrap();
        assert!(
            head_deadline < idle_deadline,
            "the next head has 10 s, not 75"
        );
        let later = head_deadline + Duration::from_millis(1);
        assert_eq!(
            conn.before_read(later).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        let error = conn.read(&[b'x'; MAX_HEAD_BYTES], &limits).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn bytes_after_the_end_of_the_head_are_not_the_heads() {
        let limits = ServerLimits::default();
        // A head and a large body read at once, split anywhere (here inside `\r\n\r\n`).
        let conn = Conn::new(&limits);
        conn.read(b"POST /api HTTP/1.1\r\nHost: x\r\n\r", &limits)
            .unwrap();
        let mut rest = b"\n".to_vec();
        rest.extend(std::iter::repeat_n(b'{', MAX_HEAD_BYTES * 4));
        conn.read(&rest, &limits).unwrap();
        conn.read(&[b'}'; MAX_HEAD_BYTES], &limits).unwrap();
        // Bare line feeds end a head too.
        let conn = Conn::new(&limits);
        let mut data = b"POST /api HTTP/1.1\nHost: x\n\n".to_vec();
        data.extend(std::iter::repeat_n(b'{', MAX_HEAD_BYTES * 2));
        conn.read(&data, &limits).unwrap();
        // A head that never ends is still cut at MAX_HEAD_BYTES, over several reads.
        let conn = Conn::new(&limits);
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut sent = 0;
        let error = loop {
            match conn.read(line, &limits) {
                Ok(()) => sent += line.len(),
                Err(e) => break e,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(sent <= MAX_HEAD_BYTES && sent + line.len() > MAX_HEAD_BYTES);
        assert_eq!(scan_head(false, b"a\r\n\r\nbody"), (5, true, true));
        assert_eq!(scan_head(true, b"\r\nbody"), (2, true, true));
        assert_eq!(scan_head(false, b"a\r\nb\r\n"), (6, false, true));
    }

    /// Connects up to `clients` to `addr`, one after another, until one does not complete
    /// within `wait`; how many completed (the listener accepts none, so they stay queued).
    async fn completed_connects(addr: SocketAddr, clients: usize, wait: Duration) -> usize {
        let mut open = Vec::new();
        while open.len() < clients {
            match tokio::time::timeout(wait, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => open.push(stream),
                _ => break,
            }
        }
        open.len()
    }

    #[tokio::test]
    async fn the_listen_queue_holds_the_backlog_asked_for() {
        // Past a full queue Linux drops the SYN: that client waits for its retransmission
        // (a second), which is what a too short queue costs a burst of new connections.
        let short = listen("127.0.0.1:0", 2).await.unwrap();
        let addr = short.local_addr().unwrap();
        let completed = completed_connects(addr, 12, Duration::from_millis(300)).await;
        assert!(
            (2..=3).contains(&completed),
            "backlog 2: {completed} connects completed unaccepted"
        );
        let long = listen("127.0.0.1:0", 64).await.unwrap();
        let addr = long.local_addr().unwrap();
        assert_eq!(
            completed_connects(addr, 12, Duration::from_millis(300)).await,
            12,
            "backlog 64 holds all 12"
        );
        drop((short, long));
        let error = listen("no-such-host.invalid:5000", 16).await.unwrap_err();
        assert!(!error.to_string().is_empty());
    }
}
