//! Development tools: `liza dev seed` fills a database with realistic calls,
//! `liza dev bench-dashboard` times the dashboard's pages against it, and
//! `liza dev bench-logins` fires parallel wrong logins at a server and watches its memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::auth;
use crate::store::admin::{CallDetail, CallSummary, TimelineStep, DAY_MS};
use crate::store::{NewCall, StatusUpdate, StepRow, Store, StoreError, StoreTx, TurnWrite, Work};
use crate::web::AppState;
use liza_model::{CallStatus, Consent, RecordRequest};

/// Calls generated per batch of work; the store's writers write them as webhooks' work.
const SEED_BATCH: usize = 2_000;

/// What the seeded calls look like.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub calls: usize,
    /// The calls spread evenly over this many days up to `now_ms`.
    pub days: i64,
    pub now_ms: i64,
    /// Statuses a new order may have (the flow's `records.order.statuses`).
    pub order_statuses: Vec<String>,
    pub flow_name: String,
    pub flow_version: String,
    pub rng_seed: u64,
}

/// Writes `plan.calls` calls with their steps and orders through the store's writers, as the
/// webhooks would have written them; returns how long it took.
pub async fn seed(store: &dyn Store, plan: &SeedPlan) -> anyhow::Result<Duration> {
    if plan.calls == 0 || plan.days <= 0 {
        bail!("--calls and --days must be positive");
    }
    let admin = store
        .admin()
        .context("this database backend has no dashboard tables")?;
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(plan.rng_seed);
    let span_ms = plan.days * DAY_MS;
    let first_ms = plan.now_ms - span_ms;
    let pool = (plan.calls / 3).max(100);
    let mut done = 0;
    while done < plan.calls {
        let batch: Vec<SeedCall> = (done..plan.calls.min(done + SEED_BATCH))
            .map(|i| {
                let at = first_ms + (i as i64 * span_ms) / plan.calls as i64;
                generate_call(&mut rng, plan, at, pool)
            })
            .collect();
        done += batch.len();
        let (reply, answer) = tokio::sync::oneshot::channel();
        store.submit(Box::new(SeedWork {
            calls: batch,
            flow_name: plan.flow_name.clone(),
            flow_version: plan.flow_version.clone(),
            reply: Some(reply),
            deadline: Instant::now() + Duration::from_secs(600),
        }));
        answer
            .await
            .context("the store closed")?
            .context("cannot write seed calls")?;
        if done % 20_000 < SEED_BATCH || done == plan.calls {
            tracing::info!(done, total = plan.calls, "Seeded calls.");
        }
    }
    // Seeded calls land in past days: their kept sums must be counted again.
    admin.forget_day_sums().await?;
    admin.refresh_planner_stats().await?;
    Ok(started.elapsed())
}

/// One generated call, with its steps and order.
#[derive(Debug, Clone)]
struct SeedCall {
    call: CallDetail,
    steps: Vec<TimelineStep>,
    /// (order number, status for a new order) when the caller entered one.
    order: Option<(String, String)>,
}

/// Seed calls written by a store writer with the webhooks' statements: the call opened, each
/// turn saved (steps, language, consent, status), the order saved and linked, the call ended.
struct SeedWork {
    calls: Vec<SeedCall>,
    flow_name: String,
    flow_version: String,
    reply: Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>,
    deadline: Instant,
}

impl SeedWork {
    fn write(&self, tx: &mut dyn StoreTx, seed: &SeedCall) -> Result<(), StoreError> {
        let c = &seed.call;
        let s = &c.summary;
        let call = tx.open_call(&NewCall {
            call_sid: &s.call_sid,
            from: &s.from_number,
            to: &c.to_number,
            flow_name: &self.flow_name,
            flow_version: &self.flow_version,
            now_ms: s.started_at,
        })?;
        let language = s.language.as_deref().unwrap_or("");
        let consent = s.consent.as_deref().and_then(Consent::parse);
        let turns: Vec<&[TimelineStep]> = seed.steps.chunk_by(|a, b| a.turn == b.turn).collect();
        let last = turns.len().saturating_sub(1);
        for (turn, steps) in turns.into_iter().enumerate() {
            if turn > 0 {
                // Each turn is a webhook of its own, which locks the call first (a writer may
                // hold a turn back until the call's next statement).
                tx.lock_call(&s.call_sid)?;
            }
            let at = steps.last().map_or(s.started_at, |step| step.created_at);
            let rows: Vec<StepRow> = steps
                .iter()
                .map(|step| StepRow {
                    node: step.node.clone(),
                    message_ids: step.node.clone(),
                    text: step.text.clone(),
                    digits: step.digits.clone(),
                    outcome: step.outcome.clone(),
                })
                .collect();
            let mut records = Vec::new();
            if turn == last {
                if let Some((key, status)) = &seed.order {
                    let request = RecordRequest {
                        kind: "order".to_owned(),
                        key: key.clone(),
                        create_with_status: Some(status.clone()),
                    };
                    records.extend(tx.record(&request, call.id, at)?.map(|r| r.id));
                }
            }
            tx.save_turn(&TurnWrite {
                call_id: call.id,
                turn: turn as i64,
                state: "{}",
                language,
                status: (turn == last && s.status == CallStatus::Problem.as_str())
                    .then_some(CallStatus::Problem),
                consent: if turn == 0 { consent } else { None },
                steps: &rows,
                records: &records,
                twiml: "",
                now_ms: at,
            })?;
        }
        if let Some(ended_at) = c.ended_at {
            tx.call_ended(&StatusUpdate {
                call_sid: &s.call_sid,
                from: &s.from_number,
                to: &c.to_number,
                duration_secs: s.duration_secs,
                now_ms: ended_at,
            })?;
        }
        Ok(())
    }
}

impl Work for SeedWork {
    fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
        for seed in &self.calls {
            self.write(tx, seed)?;
        }
        Ok(())
    }

    fn done(mut self: Box<Self>, result: Result<(), StoreError>) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result);
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }
}

fn step(
    node: &str,
    text: &str,
    digits: Option<&str>,
    outcome: &str,
    turn: i64,
    at: i64,
) -> TimelineStep {
    TimelineStep {
        turn,
        node: node.to_owned(),
        text: text.to_owned(),
        digits: digits.map(str::to_owned),
        outcome: outcome.to_owned(),
        created_at: at,
    }
}

fn generate_call(rng: &mut StdRng, plan: &SeedPlan, at: i64, pool: usize) -> SeedCall {
    let at = at + rng.gen_range(0..60_000);
    let (from, language, english) = match rng.gen_range(0..100) {
        0..=69 => (
            format!("+49151{:08}", rng.gen_range(0..100_000_000)),
            "de-DE",
            false,
        ),
        70..=84 => (
            format!("+1202555{:04}", rng.gen_range(0..10_000)),
            "en-US",
            true,
        ),
        _ => (
            format!("+447700{:06}", rng.gen_range(0..1_000_000)),
            "en-GB",
            true,
        ),
    };
    let say = |de: &str, en: &str| if english { en } else { de }.to_owned();
    let mut steps = vec![step(
        "greeting",
        &say(
            "Hallo, hier ist Liza, die Sprachassistentin von Liza Shop.",
            "Hello, this is Liza, the voice assistant of Liza Shop.",
        ),
        None,
        "said",
        0,
        at,
    )];
    let consent_q = say(
        "Dürfen wir Ihre Daten für diesen Anruf verarbeiten? Drücken Sie 1 für ja, 2 für nein.",
        "May we process your data for this call? Press 1 for yes, 2 for no.",
    );
    let mut t = at + 8_000;
    let mut turn = 0;
    let roll = rng.gen_range(0..100);
    let mut order = None;
    let (status, consent) = match roll {
        0..=7 => {
            steps.push(step("consent", &consent_q, Some("2"), "refused", turn, t));
            turn += 1;
            t += 5_000;
            steps.push(step(
                "goodbye-refused",
                &say("Auf Wiederhören.", "Goodbye."),
                None,
                "hangup",
                turn,
                t,
            ));
            ("completed", Some("refused"))
        }
        8..=12 => {
            for _ in 0..3 {
                steps.push(step("consent", &consent_q, None, "no_input", turn, t));
                turn += 1;
                t += 7_000;
            }
            ("completed", None)
        }
        _ => {
            steps.push(step("consent", &consent_q, Some("1"), "given", turn, t));
            turn += 1;
            t += 6_000;
            let prompt = say(
                "Bitte geben Sie Ihre Bestellnummer ein und drücken Sie die Raute-Taste.",
                "Please type your order number and finish with the hash key.",
            );
            if roll < 20 {
                for _ in 0..3 {
                    steps.push(step("order", &prompt, Some("12"), "invalid", turn, t));
                    turn += 1;
                    t += 9_000;
                }
                ("problem", Some("given"))
            } else {
                // Skewed towards low numbers, so some orders are asked about again and again.
                let index = (pool as f64 * rng.gen::<f64>().powi(3)) as usize;
                let number = format!("{}", 100_000 + index);
                steps.push(step("order", &prompt, Some(&number), "valid", turn, t));
                turn += 1;
                t += 8_000;
                let spaced: Vec<String> = number.chars().map(String::from).collect();
                steps.push(step(
                    "order-confirm",
                    &say(
                        &format!(
                            "Sie haben {} eingegeben. Drücken Sie 1, wenn das stimmt.",
                            spaced.join(", ")
                        ),
                        &format!(
                            "You entered {}. Press 1 if that is correct.",
                            spaced.join(", ")
                        ),
                    ),
                    Some("1"),
                    "confirmed",
                    turn,
                    t,
                ));
                let status = plan
                    .order_statuses
                    .get(rng.gen_range(0..plan.order_statuses.len().max(1)))
                    .cloned()
                    .unwrap_or_else(|| "received".to_owned());
                order = Some((number, status));
                ("completed", Some("given"))
            }
        }
    };
    let duration = (t - at) / 1000 + rng.gen_range(5..90);
    let live = at > plan.now_ms - 5 * 60_000;
    SeedCall {
        call: CallDetail {
            summary: CallSummary {
                id: 0,
                call_sid: format!("CA{:032x}", rng.gen::<u128>()),
                from_number: from,
                language: Some(language.to_owned()),
                status: if live { "in_progress" } else { status }.to_owned(),
                consent: consent.map(str::to_owned),
                started_at: at,
                duration_secs: (!live).then_some(duration),
            },
            to_number: "+4930123456".to_owned(),
            consent_at: consent.map(|_| at + 14_000),
            ended_at: (!live).then_some(at + duration * 1000),
            flow_name: Some(plan.flow_name.clone()),
            flow_version: Some(plan.flow_version.clone()),
        },
        steps,
        order,
    }
}

/// One page's timings.
#[derive(Debug)]
pub struct PageTiming {
    pub path: String,
    pub bytes: usize,
    /// The first request: cold caches (and, for /stats, summing the closed days).
    pub first_ms: f64,
    pub samples_ms: Vec<f64>,
}

impl PageTiming {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.samples_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index]
    }

    pub fn median(&self) -> f64 {
        self.percentile(0.5)
    }

    pub fn p95(&self) -> f64 {
        self.percentile(0.95)
    }

    pub fn max(&self) -> f64 {
        self.percentile(1.0)
    }
}

/// Times `paths` through the whole app (routing, session check, queries, template),
/// without the network: what the server spends per page.
pub async fn bench_pages(
    state: Arc<AppState>,
    paths: &[String],
    iterations: usize,
) -> anyhow::Result<Vec<PageTiming>> {
    let dashboard = state
        .dashboard
        .clone()
        .context("this database backend has no dashboard")?;
    let admin = dashboard.admin.clone();
    let password = secrecy::SecretString::from(auth::new_token());
    admin
        .upsert_user(
            "bench",
            &auth::hash_password(&password)?,
            "liza dev",
            crate::store::now_ms(),
        )
        .await?;
    let user = admin.user_by_name("bench").await?.context("bench user")?;
    let token = auth::new_token();
    let now = crate::store::now_ms();
    admin
        .create_session(
            &auth::token_hash(&token),
            user.id,
            &auth::new_token(),
            now,
            now + DAY_MS,
        )
        .await?;
    let app = crate::web::app(state);
    let mut timings = Vec::new();
    for path in paths {
        let mut timing = PageTiming {
            path: path.clone(),
            bytes: 0,
            first_ms: 0.0,
            samples_ms: Vec::with_capacity(iterations),
        };
        // Two warm-up requests: the first fills SQLite's page cache.
        for round in 0..iterations + 2 {
            let request = Request::builder()
                .uri(path.parse()?)
                .header("cookie", format!("liza_session={token}"))
                .finish();
            let started = Instant::now();
            let response = app
                .call(request)
                .await
                .map_err(|e| anyhow::anyhow!("{path}: {e}"))?
                .into_response();
            let status = response.status();
            let body = response.into_body().into_bytes().await?;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            if status != StatusCode::OK {
                bail!("{path} answered {status}");
            }
            timing.bytes = body.len();
            if round == 0 {
                timing.first_ms = elapsed;
            }
            if round >= 2 {
                timing.samples_ms.push(elapsed);
            }
        }
        timings.push(timing);
    }
    Ok(timings)
}

/// What `liza dev bench-logins` saw.
#[derive(Debug, Clone, Default)]
pub struct LoginBench {
    pub logins: usize,
    /// (HTTP status, how many), by status.
    pub statuses: Vec<(u16, usize)>,
    /// Requests that got no answer at all.
    pub errors: usize,
    pub took: Duration,
    /// The server's resident memory (kB, /proc/PID/status) before, at most while (sampled
    /// every 5 ms) and one second after; its VmHWM (peak since start) after.
    pub rss_before_kb: Option<u64>,
    pub rss_peak_kb: Option<u64>,
    pub rss_after_kb: Option<u64>,
    pub hwm_after_kb: Option<u64>,
}

impl std::fmt::Display for LoginBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status} × {n}"))
            .collect();
        writeln!(
            f,
            "{} parallel wrong logins in {:.2} s: {}{}",
            self.logins,
            self.took.as_secs_f64(),
            statuses.join(", "),
            if self.errors > 0 {
                format!(", {} without answer", self.errors)
            } else {
                String::new()
            }
        )?;
        let mb = |kb: Option<u64>| {
            kb.map_or("?".to_owned(), |kb| format!("{:.1} MB", kb as f64 / 1024.0))
        };
        writeln!(
            f,
            "server RSS: before {}, peak while running {}, 1 s after {}; VmHWM {}",
            mb(self.rss_before_kb),
            mb(self.rss_peak_kb),
            mb(self.rss_after_kb),
            mb(self.hwm_after_kb)
        )
    }
}

/// A `kB` field of /proc/PID/status.
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Fires `logins` wrong logins for `admin` at once at the server at `url`, all from this
/// address or (`spread`) each as from an address of its own (`X-Forwarded-For`; the server
/// must trust this client as a proxy), and reads the memory of process `pid` meanwhile.
pub async fn bench_logins(
    url: &str,
    pid: Option<u32>,
    logins: usize,
    spread: bool,
) -> anyhow::Result<LoginBench> {
    let url = url.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()?;
    let page = client
        .get(format!("{url}/login"))
        .send()
        .await
        .context("GET /login")?;
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("liza_login_csrf="))
        .and_then(|v| v.split(';').next())
        .context("no login CSRF cookie: is the dashboard on?")?
        .to_owned();
    let html = page.text().await?;
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).context("no CSRF field in /login")? + marker.len();
    let csrf = html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned();

    let rss = |field: &str| pid.and_then(|pid| proc_status_kb(pid, field));
    let rss_before_kb = rss("VmRSS");
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(
        rss_before_kb.unwrap_or(0),
    ));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = pid.map(|pid| {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kb) = proc_status_kb(pid, "VmRSS") {
                    peak.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..logins)
        .map(|i| {
            let (client, cookie, csrf) = (client.clone(), cookie.clone(), csrf.clone());
            let url = format!("{url}/login");
            tokio::spawn(async move {
                let mut request = client.post(url).header("cookie", cookie);
                if spread {
                    request = request.header(
                        "x-forwarded-for",
                        format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                    );
                }
                let password = format!("wrong-password-{i}");
                request
                    .form(&[
                        ("csrf", csrf.as_str()),
                        ("name", "admin"),
                        ("password", password.as_str()),
                    ])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(status)) => *counts.entry(status).or_default() += 1,
            _ => errors += 1,
        }
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(sampler) = sampler {
        let _ = sampler.join();
    }
    Ok(LoginBench {
        logins,
        statuses: counts.into_iter().collect(),
        errors,
        took,
        rss_before_kb,
        rss_peak_kb: pid.map(|_| peak.load(std::sync::atomic::Ordering::Relaxed)),
        rss_after_kb: rss("VmRSS"),
        hwm_after_kb: rss("VmHWM"),
    })
}
