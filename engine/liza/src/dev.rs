//! Development tools: `liza dev seed` fills a database with realistic calls (played through
//! the loaded flow's state machine, so their steps, texts and records are a real call's, and
//! written by the store's writers with the webhooks' statements), `liza dev bench-dashboard`
//! times the dashboard's pages against it, and `liza dev bench-logins` fires parallel wrong
//! logins at a server and watches its memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::auth;
use crate::flow::{Flow, NodeKind};
use crate::model::{CallStatus, Consent, RecordRequest};
use crate::privacy::PrivacyKey;
use crate::speech::SpeechConfig;
use crate::store::admin::{CallDetail, CallSummary, TimelineStep, DAY_MS};
use crate::store::{
    ConsentAsked, NewCall, StatusUpdate, StepRow, Store, StoreError, StoreTx, TurnWrite, Work,
};
use crate::tools::offline::{MemoryRecords, OfflineCall};
use crate::web::AppState;
use liza_core::turn::ConsentQuestion;
use secrecy::SecretString;

/// Calls generated per batch of work; the store's writers write them as webhooks' work.
const SEED_BATCH: usize = 2_000;
/// A seeded call that has not ended after this many turns hangs up.
const MAX_TURNS: usize = 12;

/// What the seeded calls look like: calls of `flow`, played through its state machine.
#[derive(Clone)]
pub struct SeedPlan {
    pub calls: usize,
    /// The calls spread evenly over this many days up to `now_ms`.
    pub days: i64,
    pub now_ms: i64,
    pub flow: Arc<Flow>,
    pub speech: SpeechConfig,
    pub rng_seed: u64,
    /// `LIZA_PRIVACY_KEY`, if set (else the key Liza generated and kept in the database):
    /// seeded callers are hashed with it, as the webhooks hash them.
    pub privacy_key: Option<SecretString>,
}

/// Writes `plan.calls` calls with their steps and records through the store's writers, as the
/// webhooks would have written them; returns how long it took.
pub async fn seed(store: &dyn Store, plan: &SeedPlan) -> anyhow::Result<Duration> {
    if plan.calls == 0 || plan.days <= 0 {
        bail!("--calls and --days must be positive");
    }
    let admin = store
        .admin()
        .context("this database backend has no dashboard tables")?;
    let privacy = Arc::new(crate::startup::privacy_key(store, plan.privacy_key.as_ref()).await?);
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(plan.rng_seed);
    let mut records = MemoryRecords::default();
    let span_ms = plan.days * DAY_MS;
    let first_ms = plan.now_ms - span_ms;
    let pool = (plan.calls / 3).max(100);
    let mut done = 0;
    while done < plan.calls {
        let batch: Vec<SeedCall> = (done..plan.calls.min(done + SEED_BATCH))
            .map(|i| {
                let at = first_ms + (i as i64 * span_ms) / plan.calls as i64;
                generate_call(&mut rng, plan, at, pool, &mut records)
            })
            .collect();
        done += batch.len();
        let (reply, answer) = tokio::sync::oneshot::channel();
        store.submit(Box::new(SeedWork {
            calls: batch,
            flow_name: plan.flow.name.clone(),
            flow_version: plan.flow.version.clone(),
            privacy: privacy.clone(),
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

/// One generated call, with its steps and the records it touched.
#[derive(Debug, Clone)]
struct SeedCall {
    /// The caller's number; `call.summary.from_number` keeps it only if they consented.
    from: String,
    call: CallDetail,
    steps: Vec<TimelineStep>,
    /// The turn in which the caller answered the consent question, if they did.
    consent_turn: Option<i64>,
    /// The consent question last heard before the decision, and the turn that asked it.
    consent_question: Option<(i64, ConsentQuestion)>,
    /// The records the call saved or found.
    records: Vec<SeedRecord>,
}

/// A record a seeded call is about; `status` is used when the record is new.
#[derive(Debug, Clone)]
struct SeedRecord {
    kind: String,
    key: String,
    status: String,
}

/// Seed calls written by a store writer with the webhooks' statements: the call opened, each
/// turn saved (steps, language, consent, status), the order saved and linked, the call ended.
struct SeedWork {
    calls: Vec<SeedCall>,
    flow_name: String,
    flow_version: String,
    privacy: Arc<PrivacyKey>,
    reply: Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>,
    deadline: Instant,
}

impl SeedWork {
    fn write(&self, tx: &mut dyn StoreTx, seed: &SeedCall) -> Result<(), StoreError> {
        let c = &seed.call;
        let s = &c.summary;
        let caller = self.privacy.caller(&seed.from);
        let call = tx.open_call(&NewCall {
            call_sid: &s.call_sid,
            caller_hash: &caller.hash,
            caller_masked: &caller.masked,
            to: &c.to_number,
            flow_name: &self.flow_name,
            flow_version: &self.flow_version,
            language: s.language.as_deref(),
            now_ms: s.started_at,
        })?;
        let consent = s.consent.as_deref().and_then(Consent::parse);
        let consent_turn = seed.consent_turn.unwrap_or(0);
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
                for record in &seed.records {
                    let request = RecordRequest {
                        kind: record.kind.clone(),
                        key: record.key.clone(),
                        create_with_status: Some(record.status.clone()),
                    };
                    records.extend(tx.record(&request, call.id, at)?.map(|r| r.id));
                }
            }
            tx.save_turn(&TurnWrite {
                call_id: call.id,
                turn: turn as i64,
                state: "{}",
                status: (turn == last && s.status == CallStatus::Problem.as_str())
                    .then_some(CallStatus::Problem),
                consent: if turn as i64 == consent_turn {
                    consent
                } else {
                    None
                },
                steps: &rows,
                records: &records,
                twiml: "",
                now_ms: at,
                from_number: (turn as i64 == consent_turn && !s.from_number.is_empty())
                    .then_some(s.from_number.as_str()),
                consent_question: seed
                    .consent_question
                    .as_ref()
                    .filter(|(asked, _)| *asked == turn as i64)
                    .map(|(_, q)| ConsentAsked {
                        message: &q.message,
                        locale: &q.locale,
                        text: &q.text,
                    }),
            })?;
        }
        if let Some(ended_at) = c.ended_at {
            tx.call_ended(&StatusUpdate {
                call_sid: &s.call_sid,
                caller_hash: &caller.hash,
                caller_masked: &caller.masked,
                to: &c.to_number,
                duration_secs: s.duration_secs,
                now_ms: ended_at,
                forget_state: None,
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

/// A caller's number: most callers get the flow's default language, the rest are spread
/// over its prefixes.
fn caller_number(rng: &mut StdRng, flow: &Flow) -> String {
    let prefixes = &flow.languages.prefixes;
    let roll = rng.gen_range(0..100);
    let prefix = if prefixes.is_empty() || roll < 70 {
        // A country code no prefix claims, so the default language answers.
        ["+49", "+1", "+44", "+43", "+33", "+31", "+39"]
            .into_iter()
            .find(|code| flow.language_for(&format!("{code}5550000")) == flow.languages.default)
            .unwrap_or("+999")
    } else {
        prefixes[roll as usize % prefixes.len()].0.as_str()
    };
    let digits = 13usize.saturating_sub(prefix.len()).max(6);
    let number: String = (0..digits)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect();
    format!("{prefix}{number}")
}

/// How a seeded caller presses keys: percent chances of a wrong answer and of silence.
#[derive(Debug, Clone, Copy)]
struct Caller {
    slips: u32,
    silence: u32,
}

impl Caller {
    /// Most callers answer well; some keep mistyping, a few say nothing.
    fn pick(rng: &mut StdRng) -> Self {
        match rng.gen_range(0..100) {
            0..=84 => Self {
                slips: 5,
                silence: 3,
            },
            85..=94 => Self {
                slips: 70,
                silence: 10,
            },
            _ => Self {
                slips: 5,
                silence: 80,
            },
        }
    }

    /// What the caller presses at the node `waiting`: `None` for nothing. Keys are skewed
    /// towards a few, so some records are asked about again and again.
    fn press(self, rng: &mut StdRng, flow: &Flow, waiting: &str, pool: usize) -> Option<String> {
        let roll = rng.gen_range(0..100);
        if roll < self.silence {
            return None;
        }
        let slip = roll < self.silence + self.slips;
        match flow.node_named(waiting).map(|id| &flow.node(id).kind) {
            Some(NodeKind::Confirm(confirm)) => {
                let valid = |key: &str| confirm.choices.iter().any(|(k, _)| k == key);
                if slip {
                    return (0..10).map(|d| d.to_string()).find(|k| !valid(k));
                }
                // The first choice most often (yes, go on), else any.
                let index = if rng.gen_range(0..100) < 75 {
                    0
                } else {
                    rng.gen_range(0..confirm.choices.len().max(1))
                };
                confirm.choices.get(index).map(|(key, _)| key.clone())
            }
            Some(NodeKind::Gather(gather)) => {
                if slip {
                    let short = gather.min_length.saturating_sub(1).max(1) as usize;
                    return Some("1".repeat(short));
                }
                let index = (pool as f64 * rng.gen::<f64>().powi(3)) as u64;
                let length = 6u32.clamp(gather.min_length.max(1), gather.max_length.max(1));
                let first = 10u64.pow(length - 1);
                Some(format!("{}", first + index % (9 * first)))
            }
            _ => None,
        }
    }
}

fn generate_call(
    rng: &mut StdRng,
    plan: &SeedPlan,
    at: i64,
    pool: usize,
    records: &mut MemoryRecords,
) -> SeedCall {
    let flow = plan.flow.as_ref();
    let at = at + rng.gen_range(0..60_000);
    let from = caller_number(rng, flow);
    let caller = Caller::pick(rng);
    // As a server without Twilio's account for texts: seeded calls queue no texts (their
    // outbox rows are not seeded), so no call's timeline shows a text that never existed.
    let mut call =
        OfflineCall::new(flow, plan.speech.clone(), std::mem::take(records)).without_texting();
    let mut steps = Vec::new();
    let mut t = at;
    let mut report = call.start(&from);
    let mut consent_at = None;
    let mut consent_turn = None;
    let mut consent_question = None;
    for turn in 0..MAX_TURNS as i64 {
        if call.consent.is_none() {
            if let Some(question) = report.consent_question.take() {
                consent_question = Some((turn, question));
            }
        }
        for visit in &report.visits {
            // As the webhooks store it: what was said and keyed only once consent covers it.
            let kept = flow.keeps(visit.consent).conversation;
            let text: Vec<&str> = visit.said.iter().map(|s| s.text.as_str()).collect();
            steps.push(TimelineStep {
                turn,
                node: visit.node.clone(),
                text: if kept { text.join(" ") } else { String::new() },
                digits: visit.digits.clone().filter(|_| kept),
                outcome: visit.outcome.clone(),
                created_at: t,
            });
        }
        if consent_at.is_none() && call.consent.is_some() {
            consent_at = Some(t);
            consent_turn = Some(turn);
        }
        let Some(waiting) = report.waiting.clone().filter(|_| !report.ended) else {
            break;
        };
        t += rng.gen_range(4_000..10_000);
        let keys = caller.press(rng, flow, &waiting, pool);
        report = call.press(keys.as_deref());
    }
    if !call.ended() {
        call.hang_up();
    }
    // Staff have moved new records on since: any status the flow declares.
    let mut seeded = Vec::new();
    for (kind, key) in call.touched.clone() {
        let statuses = flow.records.get(&kind).map(|k| k.statuses.as_slice());
        let status = statuses
            .filter(|s| !s.is_empty())
            .map(|s| s[rng.gen_range(0..s.len())].clone());
        if let Some(status) = status {
            call.records.set_status(&kind, &key, &status);
            seeded.push(SeedRecord { kind, key, status });
        }
    }
    *records = std::mem::take(&mut call.records);
    let duration = (t - at) / 1000 + rng.gen_range(5..90);
    let live = at > plan.now_ms - 5 * 60_000;
    let status = if live {
        CallStatus::InProgress
    } else {
        call.status
    };
    let kept_number = flow.keeps(call.consent).caller_number;
    SeedCall {
        from: from.clone(),
        call: CallDetail {
            summary: CallSummary {
                id: 0,
                call_sid: format!("CA{:032x}", rng.gen::<u128>()),
                caller_masked: Some(crate::privacy::mask(&from)),
                from_number: if kept_number { from } else { String::new() },
                language: Some(call.state.language.clone()),
                status: status.as_str().to_owned(),
                consent: call.consent.map(|c| c.as_str().to_owned()),
                started_at: at,
                duration_secs: (!live).then_some(duration),
                records: Vec::new(),
            },
            to_number: flow
                .numbers
                .first()
                .cloned()
                .unwrap_or_else(|| "+4930123456".to_owned()),
            consent_at,
            ended_at: (!live).then_some(at + duration * 1000),
            flow_name: Some(flow.name.clone()),
            flow_version: Some(flow.version.clone()),
            consent_asked_at: None,
            consent_message: None,
            consent_locale: None,
            consent_text: None,
        },
        steps,
        consent_turn,
        consent_question,
        records: seeded,
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
