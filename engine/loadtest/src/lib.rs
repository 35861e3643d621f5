//! `liza loadtest`: plays whole calls against a Liza (or any Twilio webhook server) the way
//! Twilio does — signed webhooks, scripted key presses, redirects, hang-up, status callback —
//! N calls at concurrency C, and reports throughput, latency percentiles and the first errors.
//!
//! With `--think`, each caller takes that long (±50 %) to press keys, so C is the number of
//! simultaneous live calls; without it, C callers hammer the server back to back (saturation).
//! Must not touch: the engine's internals. It speaks HTTP like Twilio and nothing else.

mod bare;
mod call;
mod shop;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

pub use call::{next_step, webhook_name, Next};
use call::{Script, Target, Timings};

/// Errors kept for the report.
const KEPT_ERRORS: usize = 5;

#[derive(Debug, clap::Args)]
pub struct LoadtestArgs {
    /// Base URL requests are sent to.
    #[arg(long, default_value = "http://127.0.0.1:5000")]
    pub url: String,
    /// Base URL Twilio would sign (the server's LIZA_PUBLIC_URL); defaults to LIZA_PUBLIC_URL, else --url.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Calls to play.
    #[arg(long, short = 'n', default_value_t = 1000)]
    pub calls: usize,
    /// Calls played at the same time.
    #[arg(long, short = 'c', default_value_t = 16)]
    pub concurrency: usize,
    /// Time a caller takes to press keys, jittered ±50 % (e.g. 1s, 250ms); 0 = saturation.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub think: Duration,
    /// Requests in flight at once, at most, and so about as many open connections, as a
    /// proxy's pool of upstream connections holds them (0 = one per caller). A request that
    /// waits for a free one counts the wait in its latency and in its --timeout.
    #[arg(long, default_value_t = 256)]
    pub connections: usize,
    /// Spread the first calls over this long (default: think × answers, so calls overlap evenly).
    #[arg(long, value_parser = parse_duration)]
    pub ramp: Option<Duration>,
    /// Digits pressed at a gather, by webhook name (repeatable).
    #[arg(long = "answer", value_name = "WEBHOOK=DIGITS", default_values = ["consent=1", "order=12345", "order_confirm=1", "help=2"])]
    pub answers: Vec<String>,
    /// A call counts as completed only if its last TwiML contains this text.
    #[arg(long)]
    pub expect: Option<String>,
    /// Per-request timeout (Twilio gives up after 15 s).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Caller ID sent as `From`.
    #[arg(long, default_value = "+4915112345678")]
    pub from: String,
    /// Number called, sent as `To`.
    #[arg(long, default_value = "+4930123456")]
    pub to: String,
    /// Send unsigned requests (for a server started with --insecure-dev).
    #[arg(long)]
    pub unsigned: bool,
    /// For an https:// --url: trust this PEM certificate (a test CA, a self-signed
    /// certificate) besides the public CAs (repeatable).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Connect to ADDR for HOST instead of looking HOST up, like curl's --resolve; PORT must
    /// be --url's port (repeatable). E.g. liza.example.com:8443:127.0.0.1.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Instead of generating load, serve the fixed-TwiML ceiling server on this address.
    #[arg(long, value_name = "ADDR")]
    pub bare_server: Option<String>,
    /// Instead of generating load, serve a stand-in shop API on this address: every GET
    /// answers `{"status":"shipped"}` after --shop-delay.
    #[arg(long, value_name = "ADDR")]
    pub fake_shop: Option<String>,
    /// How long the stand-in shop API takes to answer.
    #[arg(long, default_value = "5ms", value_parser = parse_duration)]
    pub shop_delay: Duration,
}

/// `250ms`, `1s`, `1.5s`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|i| text.split_at(i))
        .unwrap_or((text, "s"));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try 1s or 250ms)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (use ms, s or m)")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// `HOST:PORT:ADDR` (ADDR an IPv4 or IPv6 address, brackets allowed) as curl reads it.
pub fn parse_resolve(text: &str) -> Result<(String, SocketAddr), String> {
    let bad = || {
        format!("--resolve `{text}`: expected HOST:PORT:ADDR, e.g. liza.example.com:443:127.0.0.1")
    };
    let mut parts = text.splitn(3, ':');
    let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addr: IpAddr = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), SocketAddr::new(addr, port)))
}

/// Requests in flight at once, at most (`--connections`; 0: one per caller).
fn slots(args: &LoadtestArgs) -> usize {
    match args.connections {
        0 => args.concurrency.max(1),
        n => n,
    }
    .min(tokio::sync::Semaphore::MAX_PERMITS)
}

/// The HTTP client: TLS trusts the public CAs plus `ca_certs`; `resolve` pins host names. It
/// keeps as many idle connections as requests may be in flight.
fn client(args: &LoadtestArgs, url: &str) -> Result<reqwest::Client, String> {
    // No timeout of the client's own: `Target::post` times the whole exchange, the wait for a
    // slot included (`args.timeout`), with one timer per request.
    let mut builder = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(slots(args))
        .tcp_nodelay(true);
    for path in &args.ca_certs {
        let pem = std::fs::read(path).map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "--ca-cert {}: no PEM certificate in the file",
                path.display()
            ));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    let url_port = reqwest::Url::parse(url)
        .map_err(|e| format!("--url {url}: {e}"))?
        .port_or_known_default();
    for entry in &args.resolve {
        let (host, addr) = parse_resolve(entry)?;
        // reqwest connects to the URL's port whatever the entry says: refuse a mismatch
        // rather than silently ignore it.
        if Some(addr.port()) != url_port {
            return Err(format!(
                "--resolve `{entry}`: port {} is not --url's port",
                addr.port()
            ));
        }
        builder = builder.resolve(&host, addr);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))
}

/// An error with its causes (`reqwest` hides a TLS or connect failure in them).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// What a run measured.
#[derive(Debug)]
pub struct Report {
    pub completed: usize,
    pub failed: usize,
    pub requests: u64,
    pub elapsed: Duration,
    pub peak_live_calls: usize,
    /// Webhook latency in microseconds.
    pub latency: Histogram<u64>,
    /// The same by webhook name, so a slow kind of turn (one that waits for the shop's
    /// system, say) shows apart from the others.
    pub by_webhook: BTreeMap<String, Histogram<u64>>,
    pub first_errors: Vec<String>,
}

impl Report {
    pub fn calls_per_sec(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    pub fn requests_per_sec(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "calls:     {} completed, {} failed in {:.2} s ({:.1} calls/s), peak {} live calls",
            self.completed,
            self.failed,
            self.elapsed.as_secs_f64(),
            self.calls_per_sec(),
            self.peak_live_calls
        )?;
        writeln!(
            f,
            "requests:  {} ({:.0} requests/s)",
            self.requests,
            self.requests_per_sec()
        )?;
        writeln!(
            f,
            "latency:   p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.ms(0.5),
            self.ms(0.9),
            self.ms(0.99),
            self.latency.max() as f64 / 1000.0
        )?;
        for (webhook, latency) in &self.by_webhook {
            let ms = |q| latency.value_at_quantile(q) as f64 / 1000.0;
            writeln!(
                f,
                "  {webhook:<14} {:>7} requests, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                latency.len(),
                ms(0.5),
                ms(0.9),
                ms(0.99),
                latency.max() as f64 / 1000.0
            )?;
        }
        for error in &self.first_errors {
            writeln!(f, "error:     {error}")?;
        }
        Ok(())
    }
}

/// The latencies of every caller: one collector for the whole run, shared by the callers.
/// A histogram (1 µs … 60 s at 3 digits) takes about 140 KB; one per caller and webhook made
/// the load generator zero about 10 GB at 10,000 live calls, and that page clearing was most
/// of the machine's time (the server got a third of it).
struct Collector {
    latency: Histogram<u64>,
    by_webhook: BTreeMap<String, Histogram<u64>>,
    requests: u64,
}

impl Collector {
    fn new() -> Self {
        Collector {
            latency: histogram(),
            by_webhook: BTreeMap::new(),
            requests: 0,
        }
    }
}

/// A caller's handle on the shared collector: each request is recorded under the lock (two
/// histogram increments and a lookup by name).
struct SharedTimings<'a>(&'a Mutex<Collector>);

impl Timings for SharedTimings<'_> {
    fn request(&mut self, webhook: &str, elapsed: Duration) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .request(webhook, elapsed);
    }
}

/// Webhook names reported apart; a server that makes up more (one per call, say) has the
/// rest counted in the total only.
const MAX_WEBHOOK_NAMES: usize = 32;

impl Timings for Collector {
    fn request(&mut self, webhook: &str, elapsed: Duration) {
        self.requests += 1;
        let micros = elapsed.as_micros().max(1) as u64;
        let _ = self.latency.record(micros);
        if !self.by_webhook.contains_key(webhook) {
            if self.by_webhook.len() >= MAX_WEBHOOK_NAMES {
                return;
            }
            self.by_webhook.insert(webhook.to_owned(), histogram());
        }
        if let Some(latency) = self.by_webhook.get_mut(webhook) {
            let _ = latency.record(micros);
        }
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs … 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Plays `args.calls` calls; `auth_token` signs them (`None` = unsigned).
pub async fn run(args: &LoadtestArgs, auth_token: Option<String>) -> Result<Report, String> {
    let answers = args
        .answers
        .iter()
        .map(|a| {
            a.split_once('=')
                .map(|(n, d)| (n.to_owned(), d.to_owned()))
                .ok_or_else(|| format!("--answer `{a}`: expected WEBHOOK=DIGITS"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let url = args.url.trim_end_matches('/').to_owned();
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| url.clone())
        .trim_end_matches('/')
        .to_owned();
    let client = client(args, &url)?;
    let ramp = args
        .ramp
        .unwrap_or_else(|| args.think * answers.len().max(1) as u32);
    let target = Arc::new(Target {
        client,
        url,
        public_url,
        auth_token: if args.unsigned { None } else { auth_token },
        from: args.from.clone(),
        to: args.to.clone(),
        in_flight: tokio::sync::Semaphore::new(slots(args)),
        timeout: args.timeout,
    });
    let script = Arc::new(Script {
        answers,
        think: args.think,
        expect: args.expect.clone(),
        max_requests: 50,
    });
    let next_call = Arc::new(AtomicUsize::new(0));
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let collector = Arc::new(Mutex::new(Collector::new()));
    let total = args.calls;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (target, script, next_call, live, peak, errors, collector) = (
            target.clone(),
            script.clone(),
            next_call.clone(),
            live.clone(),
            peak.clone(),
            errors.clone(),
            collector.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut timings = SharedTimings(&collector);
            let (mut completed, mut failed) = (0usize, 0usize);
            if !ramp.is_zero() {
                tokio::time::sleep(ramp.mul_f64(fastrand::f64())).await;
            }
            while next_call.fetch_add(1, Ordering::Relaxed) < total {
                let now_live = live.fetch_add(1, Ordering::Relaxed) + 1;
                peak.fetch_max(now_live, Ordering::Relaxed);
                match call::play(&target, &script, &mut timings).await {
                    Ok(()) => completed += 1,
                    Err(e) => {
                        failed += 1;
                        let mut errors = errors.lock().unwrap_or_else(|p| p.into_inner());
                        if errors.len() < KEPT_ERRORS {
                            errors.push(e);
                        }
                    }
                }
                live.fetch_sub(1, Ordering::Relaxed);
            }
            (completed, failed)
        }));
    }
    let (mut completed, mut failed) = (0, 0);
    for worker in workers {
        let (c, f) = worker
            .await
            .map_err(|e| format!("a caller task failed: {e}"))?;
        completed += c;
        failed += f;
    }
    let elapsed = started.elapsed();
    let collector = std::mem::replace(
        &mut *collector.lock().unwrap_or_else(|p| p.into_inner()),
        Collector::new(),
    );
    let first_errors = std::mem::take(&mut *errors.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Report {
        completed,
        failed,
        requests: collector.requests,
        elapsed,
        peak_live_calls: peak.load(Ordering::Relaxed),
        latency: collector.latency,
        by_webhook: collector.by_webhook,
        first_errors,
    })
}

pub use bare::Answers as BareAnswers;

/// Serves the stand-in shop API (see `shop.rs`) until the process ends.
pub async fn fake_shop(bind: &str, delay: Duration) -> std::io::Result<()> {
    shop::serve(bind, delay).await
}

/// Serves the bare ceiling server (see `bare.rs`) with `answers` (see [`BareAnswers::of_flow`])
/// on `listener`.
pub async fn bare_server(
    listener: tokio::net::TcpListener,
    answers: BareAnswers,
) -> std::io::Result<()> {
    bare::serve(listener, answers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers every webhook with a hang-up after 20 ms (a call is its first
    /// webhook and its status callback), and counts the requests it holds at once.
    async fn counting_server() -> (String, Arc<AtomicUsize>) {
        use poem::{handler, web::Data, EndpointExt, Route};

        #[derive(Clone)]
        struct Held(Arc<AtomicUsize>, Arc<AtomicUsize>);

        #[handler]
        async fn answer(Data(held): Data<&Held>) -> poem::Response {
            let now = held.0.fetch_add(1, Ordering::SeqCst) + 1;
            held.1.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            held.0.fetch_sub(1, Ordering::SeqCst);
            poem::Response::builder()
                .content_type("text/xml")
                .body("<Response><Hangup/></Response>")
        }

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let peak = Arc::new(AtomicUsize::new(0));
        let app = Route::new()
            .at("/*path", poem::post(answer))
            .data(Held(Arc::new(AtomicUsize::new(0)), peak.clone()));
        tokio::spawn(async move {
            poem::Server::new_with_acceptor(
                poem::listener::TcpAcceptor::from_tokio(listener).unwrap(),
            )
            .run(app)
            .await
        });
        (format!("http://{addr}"), peak)
    }

    fn args(url: &str, concurrency: usize, connections: usize) -> LoadtestArgs {
        use clap::Parser;

        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: LoadtestArgs,
        }
        let mut args = Cli::parse_from(["loadtest", "--url", url, "--unsigned"]).args;
        (args.calls, args.concurrency, args.connections) =
            (concurrency * 2, concurrency, connections);
        args
    }

    #[tokio::test]
    async fn requests_in_flight_are_capped_by_connections() {
        let (url, peak) = counting_server().await;
        let report = run(&args(&url, 8, 2), None).await.unwrap();
        assert_eq!(
            (report.completed, report.failed),
            (16, 0),
            "{:?}",
            report.first_errors
        );
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        // 32 requests of 20 ms, two at a time, and the wait for a slot counts in each one's
        // latency: the median request waited for at least two others.
        assert!(
            report.elapsed >= Duration::from_millis(16 * 20),
            "{:?}",
            report.elapsed
        );
        let median = report.latency.value_at_quantile(0.5);
        assert!(median >= 40_000, "p50 {median} µs");

        // The wait counts against Twilio's timeout too: with one slot, the last of 8 callers
        // waits for 7 others (140 ms), longer than a timeout of 100 ms.
        let (url, _) = counting_server().await;
        let mut waiting = args(&url, 8, 1);
        waiting.timeout = Duration::from_millis(100);
        let report = run(&waiting, None).await.unwrap();
        assert!(report.failed > 0, "{report}");
        assert!(
            report.first_errors[0].contains("no answer within 0.1 s"),
            "{:?}",
            report.first_errors
        );

        let (url, peak) = counting_server().await;
        let report = run(&args(&url, 8, 0), None).await.unwrap();
        assert_eq!(
            (report.completed, report.failed),
            (16, 0),
            "{:?}",
            report.first_errors
        );
        assert!(
            peak.load(Ordering::SeqCst) > 2,
            "0 = a request per caller at once"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn resolve_entries() {
        assert_eq!(
            parse_resolve("Liza.Example.com:8443:127.0.0.1"),
            Ok(("liza.example.com".into(), "127.0.0.1:8443".parse().unwrap()))
        );
        assert_eq!(
            parse_resolve("h:443:[::1]"),
            Ok(("h".into(), "[::1]:443".parse().unwrap()))
        );
        assert_eq!(
            parse_resolve("h:443:::1"),
            Ok(("h".into(), "[::1]:443".parse().unwrap()))
        );
        assert!(parse_resolve("h:443").is_err());
        assert!(parse_resolve("h:port:127.0.0.1").is_err());
        assert!(parse_resolve(":443:127.0.0.1").is_err());
        assert!(parse_resolve("h:443:localhost").is_err());
    }
}
