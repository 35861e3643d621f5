//! Operator commands: `liza calls` (recent calls in the terminal), `liza backup FILE`,
//! `liza completions SHELL`.
//!
//! Callers' numbers are masked as the dashboard's call list masks them (`+49 151 ••• ••78`),
//! in the table, in `calls show` and in `--json`, unless `--show-numbers` asks for them: what
//! a terminal prints ends up in tickets, chats and scripts' logs, where nothing checks who
//! reads it. Filtering by `--number-part` still searches the numbers kept in clear (those of
//! callers who consented); a whole number also finds its callers' other calls by their keyed
//! hash (docs/privacy.md).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, Subcommand};
use serde::Serialize;

use liza_model::CallStatus;
use liza_store::admin::{CallFilter, CallSummary, DAY_MS};
use liza_store::backup::{self, BackupError};
use liza_store::now_ms;
use liza_web::dashboard::{consent_line, mask_phone, parse_day, Zone};
use secrecy::ExposeSecret;

use super::admin::{admin_store, print_table};
use super::{CliError, Outcome};
use crate::settings::Settings;

/// Most calls one `liza calls` lists.
const MAX_LIMIT: i64 = 10_000;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CallsArgs {
    #[command(subcommand)]
    command: Option<CallsCommand>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Debug, Subcommand)]
enum CallsCommand {
    /// One call: its facts, its conversation and its orders.
    Show {
        /// The call's SID (CA…), as `liza calls` lists it.
        call_sid: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
struct Output {
    /// JSON for scripts instead of text.
    #[arg(long)]
    json: bool,
    /// Print callers' numbers in full (masked like the dashboard's list otherwise).
    #[arg(long)]
    show_numbers: bool,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only calls with this status: in_progress, processed, completed or problem.
    #[arg(long, value_parser = parse_status)]
    status: Option<CallStatus>,
    /// Only calls started in the last 30m, 12h, 2d, 1w, or since a day (2026-11-01, from its
    /// midnight in LIZA_TIMEZONE).
    #[arg(long, value_parser = parse_since)]
    since: Option<Since>,
    /// Only callers whose number contains this (with a leading +, starts with it); a whole
    /// number also finds callers who did not consent (by its keyed hash).
    #[arg(long)]
    number_part: Option<String>,
    /// Only calls in this language, as the list shows it (de-DE, en-GB, …).
    #[arg(long)]
    language: Option<String>,
    /// At most this many calls, newest first.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=MAX_LIMIT))]
    limit: i64,
    #[command(flatten)]
    output: Output,
}

/// `--since`: a span back from now, or a local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Since {
    Ago(i64),
    Day(i64),
}

impl Since {
    fn start_ms(self, now: i64, zone: &Zone) -> i64 {
        match self {
            Since::Ago(ms) => now - ms,
            Since::Day(day) => zone.day_start(day),
        }
    }
}

/// LIZA_TIMEZONE, the zone times are printed in.
fn zone(settings: &Settings) -> anyhow::Result<Zone> {
    settings.time_zone.clone().map_err(anyhow::Error::msg)
}

fn parse_status(text: &str) -> Result<CallStatus, String> {
    CallStatus::parse(text).ok_or_else(|| {
        let known: Vec<&str> = CallStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status `{text}`; one of {}", known.join(", "))
    })
}

/// `30m`, `12h`, `2d`, `1w`, or `2026-11-01` (a day counts from its midnight in
/// LIZA_TIMEZONE, when the list is made).
fn parse_since(text: &str) -> Result<Since, String> {
    let text = text.trim();
    if let Some(day) = parse_day(text) {
        return Ok(Since::Day(day));
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_ms = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        _ => {
            return Err(format!(
                "`{text}`: write 30m, 12h, 2d, 1w or a day like 2026-11-01"
            ))
        }
    };
    let number: i64 = number
        .parse()
        .map_err(|_| format!("`{text}`: write 30m, 12h, 2d, 1w or a day like 2026-11-01"))?;
    Ok(Since::Ago(number.saturating_mul(unit_ms)))
}

/// The caller as shown: masked unless `--show-numbers`; a caller who did not consent has only
/// the masked form kept.
fn phone(call: &CallSummary, show: bool) -> String {
    match (call.from_number.as_str(), show) {
        ("", _) => call.caller().to_owned(),
        (number, true) => number.to_owned(),
        (number, false) => mask_phone(number),
    }
}

fn duration(secs: Option<i64>) -> String {
    match secs {
        Some(secs) if secs >= 60 => format!("{} min {:02} s", secs / 60, secs % 60),
        Some(secs) => format!("{secs} s"),
        None => "—".to_owned(),
    }
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub async fn calls(settings: &Settings, args: CallsArgs) -> Outcome {
    match args.command {
        Some(CallsCommand::Show { call_sid, output }) => show(settings, &call_sid, output).await,
        None => list(settings, args.list).await,
    }
}

async fn list(settings: &Settings, args: ListArgs) -> Outcome {
    let zone = zone(settings)?;
    let store = crate::startup::open_store(settings).await?;
    let admin = store
        .admin()
        .context("this database backend has no dashboard tables")?;
    // A whole number typed also finds the calls of that caller kept only as a hash.
    let whole = args
        .number_part
        .as_deref()
        .and_then(|n| liza_core::privacy::PhoneNumber::parse(n, None).ok());
    let caller_hash = match whole {
        Some(number) => Some(
            crate::startup::privacy_key(store.as_ref(), settings.privacy_key.as_ref())
                .await?
                .caller_hash(number.e164()),
        ),
        None => None,
    };
    let filter = CallFilter {
        caller_hash,
        status: args.status,
        since_ms: args.since.map(|s| s.start_ms(now_ms(), &zone)),
        number: args.number_part.filter(|n| !n.trim().is_empty()),
        language: args.language.filter(|l| !l.trim().is_empty()),
        limit: args.limit,
        ..Default::default()
    };
    let mut calls = admin.list_calls(&filter).await?;
    let show_numbers = args.output.show_numbers;
    for call in &mut calls {
        call.from_number = phone(call, show_numbers);
    }
    if args.output.json {
        return Ok(print_json(&calls)?);
    }
    if calls.is_empty() {
        println!("No calls.");
        return Ok(());
    }
    let rows: Vec<[String; 7]> = calls
        .iter()
        .map(|c: &CallSummary| {
            [
                zone.datetime(c.started_at),
                c.call_sid.escape_debug().to_string(),
                c.from_number.clone(),
                c.language.clone().unwrap_or_else(|| "—".into()),
                c.status.clone(),
                c.consent.clone().unwrap_or_else(|| "—".into()),
                duration(c.duration_secs),
            ]
        })
        .collect();
    let started = format!("STARTED ({})", zone.name());
    print_table(
        [
            &started, "CALL SID", "FROM", "LANG", "STATUS", "CONSENT", "DURATION",
        ],
        &rows,
    );
    if calls.len() as i64 == args.limit {
        eprintln!("(the newest {}; --limit shows more)", args.limit);
    }
    Ok(())
}

async fn show(settings: &Settings, call_sid: &str, output: Output) -> Outcome {
    let zone = zone(settings)?;
    let admin = admin_store(settings).await?;
    let id = admin
        .call_id_by_sid(call_sid.trim())
        .await?
        .ok_or_else(|| CliError::failed(format!("no call `{call_sid}`; see `liza calls`")))?;
    let mut call = admin
        .call(id)
        .await?
        .with_context(|| format!("call `{call_sid}` vanished"))?;
    let timeline = admin.call_timeline(id).await?;
    let records = admin.call_records(id).await?;
    call.summary.from_number = phone(&call.summary, output.show_numbers);
    let consent = consent_line(&zone, &call);
    if output.json {
        return Ok(print_json(&serde_json::json!({
            "call": call,
            "conversation": timeline,
            "records": records,
        }))?);
    }
    let c = &call.summary;
    let when = |ms: Option<i64>| ms.map_or_else(|| "—".to_owned(), |ms| zone.datetime(ms));
    let facts = [
        ("Call SID", c.call_sid.clone()),
        ("From", c.from_number.clone()),
        ("To", call.to_number.clone()),
        ("Status", c.status.clone()),
        ("Language", c.language.clone().unwrap_or_else(|| "—".into())),
        ("Consent", consent),
        (
            "Started",
            format!("{} {}", zone.datetime(c.started_at), zone.name()),
        ),
        ("Ended", when(call.ended_at)),
        ("Duration", duration(c.duration_secs)),
        (
            "Flow",
            format!(
                "{} {}",
                call.flow_name.as_deref().unwrap_or("—"),
                call.flow_version
                    .as_deref()
                    .map(|v| &v[..v.len().min(12)])
                    .unwrap_or("")
            )
            .trim_end()
            .to_owned(),
        ),
    ];
    for (name, value) in facts {
        println!("{name:<10} {}", value.escape_debug());
    }
    println!();
    println!("Conversation:");
    if timeline.is_empty() {
        println!("  No steps recorded.");
    }
    for step in &timeline {
        let clock = zone.time(step.created_at);
        println!("  {clock}  {}  [{}]", step.node, step.outcome);
        if !step.text.is_empty() {
            println!("            Liza: {}", step.text.escape_debug());
        }
        if let Some(digits) = &step.digits {
            println!("            Caller pressed: {}", digits.escape_debug());
        }
    }
    if !records.is_empty() {
        println!();
        println!("Records:");
        for record in &records {
            println!(
                "  {} {} ({})",
                record.kind.escape_debug(),
                record.key.escape_debug(),
                record.status
            );
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where the copy goes (a new file).
    file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
}

/// `liza backup FILE`: SQLite only; for PostgreSQL, says how to use pg_dump and exits 2.
pub fn backup(settings: &Settings, args: BackupArgs) -> Outcome {
    let url = settings.database_url.expose_secret();
    match backup::backup(url, &args.file, args.force) {
        Ok(report) => {
            println!(
                "Backed up {} to {}: {} calls, {} bytes; the copy opens and passes SQLite's integrity check.",
                report.source.display(),
                args.file.display(),
                report.calls,
                report.bytes
            );
            Ok(())
        }
        Err(BackupError::Postgres) => {
            // The URL carries the password: name the variable, never print its value.
            eprintln!(
                "liza backup copies SQLite databases. DATABASE_URL is PostgreSQL, whose own tool makes a\n\
                 consistent copy while Liza serves:\n\n\
                 \x20   pg_dump -Fc \"$DATABASE_URL\" > liza-$(date +%F).dump\n\n\
                 Restore with every instance stopped:\n\n\
                 \x20   pg_restore --clean --if-exists --no-owner -d \"$DATABASE_URL\" liza-YYYY-MM-DD.dump\n\n\
                 (docs/deploy.md, \"Backups and restore\")"
            );
            Err(CliError::Unreadable)
        }
        Err(e @ (BackupError::Unsupported | BackupError::Exists(_))) => Err(CliError::unusable(e)),
        Err(BackupError::Failed(e)) => Err(CliError::failed(format!("backup failed: {e}"))),
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

/// Prints the completion script for a shell.
pub fn completions(args: CompletionsArgs) -> Outcome {
    let mut command = super::Cli::command();
    // Generated into memory: clap_complete panics on a failed write (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "liza", &mut script);
    match std::io::stdout().lock().write_all(&script) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_span_or_a_day() {
        assert_eq!(parse_since("30m"), Ok(Since::Ago(30 * 60_000)));
        assert_eq!(parse_since("2d"), Ok(Since::Ago(2 * DAY_MS)));
        assert_eq!(parse_since("1w"), Ok(Since::Ago(7 * DAY_MS)));
        let berlin = Zone::named("Europe/Berlin").unwrap();
        let day = parse_since("2026-11-25").unwrap();
        // Midnight in Berlin (CET, +1) is 23:00 UTC the day before.
        assert_eq!(day.start_ms(0, &berlin), 1_795_564_800_000 - 3_600_000);
        for bad in ["", "2", "d", "2x", "-1d", "yesterday", "2026-02-31"] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Since::Ago(DAY_MS).start_ms(5 * DAY_MS, &berlin), 4 * DAY_MS);
    }

    #[test]
    fn callers_are_masked_unless_asked() {
        let call = |from: &str| CallSummary {
            id: 1,
            call_sid: "CA1".into(),
            from_number: from.into(),
            caller_masked: Some("+49 151 ••• ••78".into()),
            language: None,
            status: "completed".into(),
            consent: None,
            started_at: 0,
            duration_secs: None,
            records: Vec::new(),
        };
        assert_eq!(phone(&call("+4915112345678"), false), "+49 151 ••• ••78");
        assert_eq!(phone(&call("+4915112345678"), true), "+4915112345678");
        // Without consent only the masked form is kept, even for --show-numbers.
        assert_eq!(phone(&call(""), true), "+49 151 ••• ••78");
        assert_eq!(duration(Some(65)), "1 min 05 s");
        assert_eq!(duration(None), "—");
    }
}
