//! The `liza` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use tracing_subscriber::EnvFilter;

use crate::auth::{self, MIN_PASSWORD_LEN};
use crate::dev::{self, SeedPlan};
use crate::flow::load_flows;
use crate::flow::load_paths;
use crate::loadtest::{self, LoadtestArgs};
use crate::settings::Settings;
use crate::speech::SpeechConfig;
use crate::startup::{open_store, shutdown_signal, Application, FlowErrors};
use crate::store::admin::{AdminStore, CallFilter, Cursor, PasswordSet};
use crate::store::now_ms;
use crate::tools::{flowtest, graph, simulate};
use crate::web::dashboard::format_datetime;

#[derive(Debug, Parser)]
#[command(
    name = "liza",
    version,
    about = "Liza: a declarative IVR engine for Twilio voice webhooks."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve Twilio's webhooks (the default command).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Check flows and locales without starting a server (exit 0 clean, 1 problems, 2 unreadable).
    Check {
        /// Flow files or directories of them (default: LIZA_FLOWS or flows/).
        paths: Vec<PathBuf>,
        /// Locales directory (default: LIZA_LOCALES or locales/).
        #[arg(long)]
        locales: Option<PathBuf>,
    },
    /// Play whole calls against a server the way Twilio does and report throughput and latency.
    Loadtest(LoadtestArgs),
    /// Play a call in the terminal (or from a pipe): no Twilio, no server, nothing stored.
    Simulate {
        /// The caller's number (decides the language), e.g. +447700900123 or anonymous.
        #[arg(long, default_value = "+4915112345678")]
        from: String,
        /// The flow to play (default: the one that answers new calls).
        #[arg(long)]
        flow: Option<String>,
        #[command(flatten)]
        dirs: FlowDirs,
    },
    /// Run flow tests (default: <flows>/tests/*.yaml): exit 0 all pass, 1 failures, 2 unreadable.
    Test {
        /// Test files or directories of them.
        paths: Vec<PathBuf>,
        #[command(flatten)]
        dirs: FlowDirs,
    },
    /// Draw a flow as a graph: DOT text or SVG.
    Graph {
        /// The flow file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
        /// Locales directory (default: LIZA_LOCALES or locales/).
        #[arg(long)]
        locales: Option<PathBuf>,
    },
    /// Manage dashboard users and API tokens.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Development tools: seed data, benchmarks.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GraphFormat {
    Dot,
    Svg,
}

#[derive(Debug, clap::Args)]
struct FlowDirs {
    /// Flows directory (default: LIZA_FLOWS or flows/).
    #[arg(long)]
    flows: Option<PathBuf>,
    /// Locales directory (default: LIZA_LOCALES or locales/).
    #[arg(long)]
    locales: Option<PathBuf>,
}

impl FlowDirs {
    fn resolve(self, settings: &Settings) -> (PathBuf, PathBuf) {
        (
            self.flows.unwrap_or_else(|| settings.flows_dir.clone()),
            self.locales.unwrap_or_else(|| settings.locales_dir.clone()),
        )
    }
}

fn speech_config(settings: &Settings) -> SpeechConfig {
    SpeechConfig {
        company: settings.company_name.clone(),
        website: settings.website_url.clone(),
        default_voice: settings.voice_name.clone(),
        base_url: String::new(),
    }
}

/// Loads flows for a tool, printing diagnostics; `Err` carries the exit code.
fn load_for_tool(
    paths: &[PathBuf],
    locales: &std::path::Path,
) -> Result<Vec<std::sync::Arc<crate::flow::Flow>>, ExitCode> {
    load_paths(paths, locales).map_err(|diagnostics| {
        eprint!("{diagnostics}");
        eprintln!(
            "error: {} problem(s) in the flows; run `liza check`",
            diagnostics.error_count()
        );
        ExitCode::from(2)
    })
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a dashboard user, or set a new password, which ends the user's sessions and
    /// revokes its API tokens; reads the password from stdin.
    AddUser { name: String },
    /// Create an API token for a user and print it (it is shown only once).
    AddToken {
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "api")]
        label: String,
        /// Refuse the token after this long: 30m, 12h, 90d or 52w (default: never).
        #[arg(long, value_parser = parse_lifetime)]
        expires: Option<i64>,
    },
    /// List API tokens (of one user, or of all): id, user, label, created, last used, expiry.
    ListTokens { name: Option<String> },
    /// Revoke an API token by its id (see list-tokens).
    RevokeToken { id: i64 },
    /// End every dashboard session of a user (its API tokens stay; see revoke-token).
    LogoutAll { name: String },
}

/// Who the audit log names for changes made with `liza admin`.
const CLI_ACTOR: &str = "liza admin";

/// `90d` → milliseconds. Units: m (minutes), h, d, w; at most ten years.
fn parse_lifetime(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_ms: i64 = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => {
            return Err(format!(
                "`{text}` is not a lifetime; write a number and a unit: 30m, 12h, 90d or 52w"
            ))
        }
    };
    let number: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number; write e.g. 90d"))?;
    let ms = number.saturating_mul(unit_ms);
    if number == 0 || ms > 3653 * 86_400_000 {
        return Err(format!(
            "`{text}`: a lifetime is at least 1 minute and at most ten years"
        ));
    }
    Ok(ms)
}

/// A time for the terminal, `never` for none.
fn when(ms: Option<i64>) -> String {
    ms.map_or_else(|| "never".to_owned(), format_datetime)
}

#[derive(Debug, Subcommand)]
enum DevCommand {
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

#[derive(Debug, Default, clap::Args)]
struct ServeArgs {
    /// Accept unsigned webhooks (development only; same as LIZA_INSECURE_DEV=1).
    #[arg(long)]
    insecure_dev: bool,
    /// Address to listen on (overrides LIZA_BIND).
    #[arg(long)]
    bind: Option<String>,
}

/// `default` applies unless RUST_LOG is set.
fn init_logging(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // Bulk seeding trips sqlx's slow-statement warning on every batch: not news there.
    init_logging(match cli.command {
        Some(Command::Dev { .. }) => "info,sqlx=error,poem=warn",
        _ => "info,sqlx=warn,poem=warn",
    });
    let mut settings = Settings::from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    runtime.block_on(async move {
        match command {
            Command::Serve(args) => {
                settings.insecure_dev |= args.insecure_dev;
                if let Some(bind) = args.bind {
                    settings.bind = bind;
                }
                match Application::build(settings).await {
                    Ok(app) => match app.run_until(shutdown_signal()).await {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => {
                            eprintln!("error: {e}");
                            ExitCode::FAILURE
                        }
                    },
                    Err(e) => {
                        if let Some(FlowErrors(diagnostics)) = e.downcast_ref::<FlowErrors>() {
                            eprintln!("{diagnostics}");
                            eprintln!(
                                "error: Liza did not start: {} problem(s) in the flows",
                                diagnostics.error_count()
                            );
                        } else {
                            eprintln!("error: {e:#}");
                        }
                        ExitCode::FAILURE
                    }
                }
            }
            Command::Loadtest(args) => {
                if let Some(bind) = &args.bare_server {
                    let flow = match load_flows(&settings.flows_dir, &settings.locales_dir) {
                        Ok(flows) if !flows.is_empty() => flows[0].clone(),
                        Ok(_) => {
                            eprintln!("error: no flow to answer with");
                            return ExitCode::FAILURE;
                        }
                        Err(e) => {
                            eprintln!("error: the bare server answers with the flow:\n{e}");
                            return ExitCode::FAILURE;
                        }
                    };
                    let answers =
                        loadtest::BareAnswers::of_flow(&flow, &speech_config(&settings));
                    println!("Bare TwiML server listening on {bind} (flow {}).", flow.name);
                    return match loadtest::bare_server(bind, answers).await {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => {
                            eprintln!("error: {e}");
                            ExitCode::FAILURE
                        }
                    };
                }
                let mut args = args;
                if args.public_url.is_none() {
                    args.public_url = settings.public_url.clone();
                }
                let token = settings
                    .twilio_auth_token
                    .as_ref()
                    .map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned());
                if token.is_none() && !args.unsigned {
                    eprintln!("error: TWILIO_AUTH_TOKEN is not set; set it to the server's token, or pass --unsigned");
                    return ExitCode::FAILURE;
                }
                match loadtest::run(&args, token).await {
                    Ok(report) => {
                        print!("{report}");
                        if report.failed == 0 {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Command::Migrate => match open_store(&settings).await {
                Ok(store) => {
                    store.close().await;
                    println!("Migrations applied.");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            },
            Command::Admin { command } => exit_code(admin_command(&settings, command).await),
            Command::Dev { command } => exit_code(dev_command(settings, command).await),
            Command::Simulate { from, flow, dirs } => {
                let speech = speech_config(&settings);
                let (flows, locales) = dirs.resolve(&settings);
                let loaded = match load_for_tool(&[flows], &locales) {
                    Ok(l) => l,
                    Err(code) => return code,
                };
                let chosen = match &flow {
                    Some(name) => loaded.iter().find(|f| &f.name == name),
                    None => crate::flow::flow_for_number(&loaded, ""),
                };
                let Some(chosen) = chosen else {
                    eprintln!("error: no flow named `{}`", flow.unwrap_or_default());
                    return ExitCode::from(2);
                };
                let stdin = std::io::stdin();
                let mut stdout = std::io::stdout();
                match simulate::simulate(chosen, speech, &from, stdin.lock(), &mut stdout) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Command::Test { paths, dirs } => {
                let speech = speech_config(&settings);
                let (flows, locales) = dirs.resolve(&settings);
                let paths = if paths.is_empty() {
                    vec![flowtest::default_dir(&flows)]
                } else {
                    paths
                };
                let loaded = match load_for_tool(&[flows], &locales) {
                    Ok(l) => l,
                    Err(code) => return code,
                };
                let files = match flowtest::test_files(&paths) {
                    Ok(f) if !f.is_empty() => f,
                    Ok(_) => {
                        eprintln!(
                            "error: no flow tests found in {}",
                            paths
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        return ExitCode::from(2);
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                };
                match flowtest::run(&files, &loaded, &speech) {
                    Ok(summary) => {
                        print!("{}", summary.report);
                        if summary.failed == 0 {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::from(2)
                    }
                }
            }
            Command::Graph {
                file,
                format,
                locales,
            } => {
                let locales = locales.unwrap_or(settings.locales_dir);
                let loaded = match load_for_tool(std::slice::from_ref(&file), &locales) {
                    Ok(l) => l,
                    Err(code) => return code,
                };
                let dot = graph::to_dot(&loaded[0]);
                match format {
                    GraphFormat::Dot => {
                        print!("{dot}");
                        ExitCode::SUCCESS
                    }
                    GraphFormat::Svg => match graph::dot_to_svg(&dot) {
                        Ok(svg) => {
                            print!("{svg}");
                            ExitCode::SUCCESS
                        }
                        Err(e) => {
                            eprintln!("error: {e}");
                            ExitCode::FAILURE
                        }
                    },
                }
            }
            Command::Check { paths, locales } => {
                let paths = if paths.is_empty() {
                    vec![settings.flows_dir]
                } else {
                    paths
                };
                let locales = locales.unwrap_or(settings.locales_dir);
                match load_paths(&paths, &locales) {
                    Ok(loaded) => {
                        let warnings = crate::tools::lint::lint(&loaded);
                        print!("{warnings}");
                        for flow in &loaded {
                            println!(
                                "ok: {} ({}, version {})",
                                flow.name,
                                flow.path.display(),
                                flow.version
                            );
                        }
                        if !warnings.0.is_empty() {
                            println!("{} warning(s)", warnings.0.len());
                        }
                        ExitCode::SUCCESS
                    }
                    Err(diagnostics) => {
                        print!("{diagnostics}");
                        let unreadable = diagnostics
                            .iter()
                            .any(|d| d.message.starts_with("cannot read"));
                        println!("{} error(s)", diagnostics.error_count());
                        ExitCode::from(if unreadable { 2 } else { 1 })
                    }
                }
            }
        }
    })
}

fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn admin_store(settings: &Settings) -> anyhow::Result<Arc<dyn AdminStore>> {
    open_store(settings)
        .await?
        .admin()
        .context("this database backend has no dashboard tables")
}

async fn admin_command(settings: &Settings, command: AdminCommand) -> anyhow::Result<()> {
    let admin = admin_store(settings).await?;
    match command {
        AdminCommand::AddUser { name } => {
            let name = name.trim();
            if name.is_empty() {
                bail!("the user name is empty");
            }
            if std::io::stdin().is_terminal() {
                eprint!("Password for `{name}` (at least {MIN_PASSWORD_LEN} characters): ");
            }
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from stdin")?;
            let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_owned());
            let hash = auth::hash_password(&password)?;
            match admin.upsert_user(name, &hash, CLI_ACTOR, now_ms()).await? {
                PasswordSet::Created => println!("User `{name}` saved."),
                PasswordSet::Changed {
                    sessions_ended,
                    tokens_revoked,
                } => println!(
                    "Password of `{name}` changed: {sessions_ended} session(s) ended, \
                     {tokens_revoked} API token(s) revoked."
                ),
            }
        }
        AdminCommand::AddToken {
            name,
            label,
            expires,
        } => {
            let user = admin.user_by_name(&name).await?.with_context(|| {
                format!("no user `{name}`; create it with `liza admin add-user`")
            })?;
            let token = auth::new_token();
            let now = now_ms();
            let expires_at = expires.map(|ms| now + ms);
            let id = admin
                .create_api_token(&auth::token_hash(&token), user.id, &label, now, expires_at)
                .await?;
            // The token alone on stdout, so `TOKEN=$(liza admin add-token …)` works.
            println!("{token}");
            eprintln!(
                "API token {id} for `{name}` ({label}); expires: {}.",
                when(expires_at)
            );
        }
        AdminCommand::ListTokens { name } => {
            let user_id = match &name {
                Some(name) => Some(
                    admin
                        .user_by_name(name)
                        .await?
                        .with_context(|| format!("no user `{name}`"))?
                        .id,
                ),
                None => None,
            };
            let tokens = admin.list_api_tokens(user_id).await?;
            if tokens.is_empty() {
                println!("No API tokens.");
            }
            let now = now_ms();
            let rows: Vec<[String; 6]> = tokens
                .iter()
                .map(|t| {
                    let expires = match t.expires_at {
                        Some(at) if at <= now => format!("expired {}", format_datetime(at)),
                        other => when(other),
                    };
                    [
                        t.id.to_string(),
                        t.user_name.escape_debug().to_string(),
                        t.label.escape_debug().to_string(),
                        format_datetime(t.created_at),
                        when(t.last_used_at),
                        expires,
                    ]
                })
                .collect();
            print_table(
                ["ID", "USER", "LABEL", "CREATED", "LAST USED", "EXPIRES"],
                &rows,
            );
        }
        AdminCommand::RevokeToken { id } => {
            let token = admin
                .revoke_api_token(id, None, CLI_ACTOR, now_ms())
                .await?
                .with_context(|| {
                    format!("no API token with id {id}; see `liza admin list-tokens`")
                })?;
            println!(
                "API token {id} ({}) of `{}` revoked.",
                token.label, token.user_name
            );
        }
        AdminCommand::LogoutAll { name } => {
            let user = admin
                .user_by_name(&name)
                .await?
                .with_context(|| format!("no user `{name}`"))?;
            let ended = admin.end_all_sessions(user.id, CLI_ACTOR, now_ms()).await?;
            println!("{ended} session(s) of `{name}` ended.");
        }
    }
    Ok(())
}

/// Prints `rows` under `header`, columns padded to their widest cell.
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    if rows.is_empty() {
        return;
    }
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

async fn dev_command(settings: Settings, command: DevCommand) -> anyhow::Result<()> {
    match command {
        DevCommand::Seed { calls, days } => {
            let admin = admin_store(&settings).await?;
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
            };
            let took = dev::seed(admin.as_ref(), &plan).await?;
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
                // A part nobody's number has: the walk reads every call (the worst case).
                "/calls?number=99999999".to_owned(),
                format!(
                    "/calls?before={}",
                    Cursor {
                        at_ms: middle,
                        id: i64::MAX
                    }
                    .encode()
                ),
                "/stats".to_owned(),
                "/".to_owned(),
            ];
            let mut paths = paths;
            let kinds = dashboard.record_kinds();
            paths.extend(kinds.iter().map(|kind| format!("/records/{}", kind.name)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_take_a_number_and_a_unit() {
        assert_eq!(parse_lifetime("30m"), Ok(30 * 60_000));
        assert_eq!(parse_lifetime("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_lifetime("90d"), Ok(90 * 86_400_000));
        assert_eq!(parse_lifetime(" 2w "), Ok(14 * 86_400_000));
        for bad in [
            "",
            "90",
            "d",
            "90x",
            "-1d",
            "0d",
            "1.5d",
            "99999999999999999999d",
        ] {
            assert!(parse_lifetime(bad).is_err(), "{bad:?}");
        }
        assert!(parse_lifetime("3654d").unwrap_err().contains("ten years"));
    }
}
