//! Liza's requests to the shop's own systems: a flow's `fetch` requests performed over HTTP
//! (reqwest with rustls), bounded every way a slow or hostile server could hold Liza:
//!
//! - a timeout per request (the node's, at most 5 s, and never more than what is left of the
//!   turn's budget), counted from before the wait for a free slot to the host;
//! - at most [`Limits::per_host`] requests to one host at once (the rest wait inside their
//!   timeout), so one slow shop API cannot take every connection;
//! - answers of at most [`Limits::max_body_bytes`], read in chunks and cut off at the limit;
//! - at most [`Limits::max_redirects`] redirects (a redirect loop is an `error`); reqwest drops
//!   `Authorization` and cookies on a redirect to another host.
//!
//! Secrets come from the environment (`${env:NAME}`) when a request is made and never appear
//! in an answer's detail or a log line: errors are described by kind, not by reqwest's text
//! (which names the URL).
//!
//! Must not touch: SQL, the web server, flow logic (the core decides what an answer means).

pub mod courier;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use liza_core::runtime::{FetchAnswer, FetchRequest};
use liza_service::fetch::Fetcher;
use tokio::sync::Semaphore;

/// The environment a request's `${env:NAME}` pieces are read from.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How far one server may hold Liza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests to one host (and port) at once.
    pub per_host: usize,
    /// The largest answer read; a longer one is an `error`.
    pub max_body_bytes: usize,
    /// Redirects followed; one more is an `error` (a loop ends here).
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_host: 32,
            max_body_bytes: 256 * 1024,
            max_redirects: 3,
        }
    }
}

/// Hosts remembered with their slot counters; beyond this, idle ones are forgotten.
const MAX_HOSTS: usize = 256;

/// Performs fetch requests over HTTP.
pub struct HttpFetcher {
    client: reqwest::Client,
    env: Env,
    limits: Limits,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HttpFetcher {
    /// A fetcher reading `${env:…}` values through `env`.
    pub fn new(env: Env, limits: Limits) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(limits.max_redirects))
            .user_agent(concat!("Liza/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(limits.per_host)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("the HTTP client cannot start: {e}"))?;
        Ok(Self {
            client,
            env,
            limits,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// The slots of one host.
    fn slots(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if hosts.len() >= MAX_HOSTS && !hosts.contains_key(host) {
            hosts.retain(|_, slots| Arc::strong_count(slots) > 1);
        }
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_host)))
            .clone()
    }

    async fn perform(&self, request: &FetchRequest, budget: Duration) -> FetchAnswer {
        let resolved = match request.resolve(&*self.env) {
            Ok(resolved) => resolved,
            Err(answer) => return answer,
        };
        let Ok(url) = reqwest::Url::parse(&resolved.url) else {
            return FetchAnswer::error("the URL is not valid", 0);
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return FetchAnswer::error("the URL is not an http(s) URL", 0);
        }
        let timeout = Duration::from_millis(request.timeout_ms.into()).min(budget);
        if timeout.is_zero() {
            return FetchAnswer::timeout(0);
        }
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or(0)
        );
        let slots = self.slots(&host);
        let started = Instant::now();
        let max_body = self.limits.max_body_bytes;
        let exchange = async {
            let _slot = slots
                .acquire()
                .await
                .map_err(|_| "the host's slots are closed")?;
            let method = match request.method {
                liza_core::flow::fetch::Method::Get => reqwest::Method::GET,
                liza_core::flow::fetch::Method::Post => reqwest::Method::POST,
            };
            let mut builder = self
                .client
                .request(method, url)
                .header(reqwest::header::ACCEPT, "application/json");
            for (name, value) in &resolved.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            if let Some(body) = &request.body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let mut response = builder.send().await.map_err(describe)?;
            let status = response.status().as_u16();
            if response
                .content_length()
                .is_some_and(|n| n > max_body as u64)
            {
                return Err("the answer is larger than the limit");
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(describe)? {
                if body.len() + chunk.len() > max_body {
                    return Err("the answer is larger than the limit");
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, body))
        };
        let result = tokio::time::timeout(timeout, exchange).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Err(_) => FetchAnswer::timeout(timeout.as_millis() as u64),
            Ok(Err(why)) => FetchAnswer::error(why, elapsed_ms),
            Ok(Ok((status, body))) => request.answer(status, &body, elapsed_ms),
        }
    }
}

/// What went wrong, by kind: reqwest's own text names the URL, which may hold a secret.
fn describe(e: reqwest::Error) -> &'static str {
    if e.is_redirect() {
        "too many redirects"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "the connection failed"
    } else if e.is_builder() {
        "the request could not be built (a header value?)"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    }
}

impl Fetcher for HttpFetcher {
    fn at_once(&self, request: &FetchRequest) -> Option<FetchAnswer> {
        request.resolve(&*self.env).err()
    }

    fn fetch<'a>(
        &'a self,
        request: &'a FetchRequest,
        budget: Duration,
    ) -> Pin<Box<dyn Future<Output = FetchAnswer> + Send + 'a>> {
        Box::pin(self.perform(request, budget))
    }
}
