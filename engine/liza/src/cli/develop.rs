//! `liza dev`: seed data and benchmarks for development.

use anyhow::{bail, Context};
use clap::Subcommand;

use liza_core::flow::load_flows;
use liza_store::admin::{CallFilter, Cursor, DAY_MS};
use liza_store::now_ms;

use super::authoring::speech_config;
use super::Outcome;
use crate::dev::{self, SeedPlan};
use crate::settings::Settings;
use crate::startup::{open_store, Application};

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the database with realistic calls of the loaded flow, their steps and records.
    Seed {
        /// How many calls.
        #[arg(long)]
        calls: usize,
        /// Spread them over this many days up to now.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Time the dashboard's pages (server side, in process) against the database.
    BenchDashboard {
        /// Timed requests per page.
        #[arg(long, default_value_t = 20)]
        iterations: usize,
    },
    /// Fire parallel wrong logins at a running server and report its answers and memory.
    BenchLogins {
        /// The server, e.g. http://127.0.0.1:5000.
        #[arg(long)]
        url: String,
        /// The server's process id: its memory is read from /proc/PID/status.
        #[arg(long)]
        pid: Option<u32>,
        /// How many logins, all at once.
        #[arg(short = 'n', long, default_value_t = 500)]
        logins: usize,
        /// Each login as from an address of its own (X-Forwarded-For): start the server
        /// with LIZA_TRUSTED_PROXIES=127.0.0.1.
        #[arg(long)]
        spread: bool,
    },
}

pub async fn run(settings: Settings, command: DevCommand) -> Outcome {
    Ok(dev_command(settings, command).await?)
}

async fn dev_command(settings: Settings, command: DevCommand) -> anyhow::Result<()> {
    match command {
        DevCommand::Seed { calls, days } => {
            let store = open_store(&settings).await?;
            let flows = load_flows(&settings.flows_dir, &settings.locales_dir)
                .map_err(|e| anyhow::anyhow!("the seeded calls play the loaded flow:\n{e}"))?;
            let flow = flows
                .into_iter()
                .next()
                .context("no flow to play the seeded calls with")?;
            let plan = SeedPlan {
                calls,
                days,
                now_ms: now_ms(),
                flow,
                speech: speech_config(&settings),
                rng_seed: now_ms() as u64,
                privacy_key: settings.privacy_key.clone(),
            };
            let took = dev::seed(store.as_ref(), &plan).await;
            store.close().await;
            let took = took?;
            println!(
                "Seeded {calls} calls over {days} days in {:.1} s.",
                took.as_secs_f64()
            );
        }
        DevCommand::BenchLogins {
            url,
            pid,
            logins,
            spread,
        } => {
            print!("{}", dev::bench_logins(&url, pid, logins, spread).await?);
        }
        DevCommand::BenchDashboard { iterations } => {
            let mut settings = settings;
            settings.bind = "127.0.0.1:0".to_owned();
            settings.insecure_dev = true;
            let app = Application::build(settings).await?;
            let dashboard = app.state.dashboard.clone().context("no dashboard")?;
            let admin = dashboard.admin.clone();
            // A cursor half-way through the calls: keyset pagination costs the same at any depth.
            let newest = admin
                .list_calls(&CallFilter {
                    limit: 1,
                    ..CallFilter::default()
                })
                .await?;
            let oldest = admin.oldest_call_start().await?;
            let (Some(newest), Some(oldest)) = (newest.first(), oldest) else {
                bail!("the database has no calls; run `liza dev seed --calls N` first");
            };
            let middle = oldest + (newest.started_at - oldest) / 2;
            let paths = vec![
                "/calls".to_owned(),
                "/calls?status=problem&language=en-GB".to_owned(),
                // With a country code: a prefix, an index range.
                "/calls?number=%2B4915112".to_owned(),
                // A part seen in many numbers: found after a short walk down the time index.
                "/calls?number=0815".to_owned(),
                // A part nobody's number has: the walk reads every call of the last 90 days
                // (the default window of a part), and, asked for, of all time (the worst case).
                "/calls?number=99999999".to_owned(),
                "/calls?number=99999999&within=all".to_owned(),
                format!(
                    "/calls?before={}",
                    Cursor {
                        at_ms: middle,
                        id: i64::MAX
                    }
                    .encode()
                ),
                // The live list, open problems over a window, the four forms of a number.
                "/calls?status=in_progress".to_owned(),
                "/calls?status=problem&within=7d".to_owned(),
                "/calls?number=0151%2012345678".to_owned(),
                "/calls?number=%2B49%20151%2012345678".to_owned(),
                "/calls?number=%2B49%20151%20%E2%80%A2%E2%80%A2%E2%80%A2%20%E2%80%A2%E2%80%A278"
                    .to_owned(),
                "/stats".to_owned(),
                // A year: 365 days of kept day sums, weekly and monthly bars.
                "/stats?days=365".to_owned(),
                // Three years, the longest period: monthly bars.
                format!(
                    "/stats?from={}",
                    crate::web::dashboard::format_day(dashboard.zone().day_of(now_ms()) - 3 * 365)
                ),
                "/".to_owned(),
                "/?problems=all".to_owned(),
            ];
            let mut paths = paths;
            // The newest call's page (its timeline with the flow's step labels).
            paths.push(format!("/calls/{}", newest.id));
            let kinds = dashboard.record_kinds();
            for kind in &kinds {
                paths.push(format!("/records/{}", kind.name));
                // The record most called about this week: its page, a later page of its calls,
                // and the calls list filtered by it.
                let top = admin
                    .top_records_between(&kind.name, now_ms() - 7 * DAY_MS, now_ms(), 1)
                    .await?;
                if let Some(top) = top.first() {
                    paths.push(format!("/records/{}/{}", kind.name, top.id));
                    if top.calls > 50 {
                        paths.push(format!("/records/{}/{}?page=2", kind.name, top.id));
                    }
                    if top.key.chars().all(|c| c.is_ascii_alphanumeric()) {
                        paths.push(format!("/calls?record={}", top.key));
                    }
                }
            }
            let timings = dev::bench_pages(app.state.clone(), &paths, iterations).await?;
            println!("| page | first ms | median ms | p95 ms | max ms | bytes |");
            println!("|---|---:|---:|---:|---:|---:|");
            for t in timings {
                println!(
                    "| `{}` | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                    t.path,
                    t.first_ms,
                    t.median(),
                    t.p95(),
                    t.max(),
                    t.bytes
                );
            }
        }
    }
    Ok(())
}
