//! The `liza` command line: one function per command, one error type, one place that turns
//! an outcome into an exit code (0 done, 1 problems found or failed, 2 input unusable).

mod admin;
mod authoring;
mod develop;
mod operator;
mod privacy;
mod records;
mod server;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "liza",
    version = VERSION,
    about = "Liza: a declarative IVR engine for Twilio voice webhooks."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// `0.1.0 (commit 0123456789ab)`: the commit comes from build.rs (git, or LIZA_GIT_COMMIT
/// where there is no repository, as in the Docker build).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LIZA_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve Twilio's webhooks (the default command).
    Serve(server::ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Check flows and locales without starting a server (exit 0 clean, 1 problems, 2 unreadable).
    Check(authoring::CheckArgs),
    /// Play whole calls against a server the way Twilio does and report throughput and latency.
    Loadtest(liza_loadtest::LoadtestArgs),
    /// Play a call in the terminal (or from a pipe): no Twilio, no server, nothing stored.
    Simulate(authoring::SimulateArgs),
    /// Run flow tests (default: <flows>/tests/*.yaml): exit 0 all pass, 1 failures, 2 unreadable.
    Test(authoring::TestArgs),
    /// Draw a flow as a graph: DOT text or SVG.
    Graph(authoring::GraphArgs),
    /// Recent calls in the terminal, filtered like the dashboard's list; `calls show CALL_SID`
    /// prints one call's conversation. Callers' numbers are masked unless --show-numbers.
    Calls(operator::CallsArgs),
    /// Copy the SQLite database to FILE while Liza serves (SQLite's online backup API), and
    /// check the copy by opening it. PostgreSQL: explains pg_dump, exit 2.
    Backup(operator::BackupArgs),
    /// Print a shell completion script: `liza completions bash > /etc/bash_completion.d/liza`.
    Completions(operator::CompletionsArgs),
    /// Manage dashboard users and API tokens.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// A caller's data rights: export or erase everything stored about a phone number, run
    /// the retention purge (docs/privacy.md).
    Privacy {
        #[command(subcommand)]
        command: privacy::PrivacyCommand,
    },
    /// Records from the shop's system: `records import FILE.csv` creates or updates them.
    Records {
        #[command(subcommand)]
        command: records::RecordsCommand,
    },
    /// Development tools: seed data, benchmarks.
    Dev {
        #[command(subcommand)]
        command: develop::DevCommand,
    },
}

/// Why a command did not succeed; decides the exit code.
#[derive(Debug)]
pub enum CliError {
    /// The command ran and found problems, already printed (errors in flows, failed flow
    /// tests, failed calls): exit 1.
    Found,
    /// The input could not be used and the details are printed already (e.g. `check` on a
    /// file that cannot be read): exit 2.
    Unreadable,
    /// The input could not be used (no such flow, no tests, flows with errors for a tool):
    /// `error: …`, exit 2.
    Unusable(anyhow::Error),
    /// Anything else that went wrong: `error: …`, exit 1.
    Failed(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(error: E) -> Self {
        Self::Failed(error.into())
    }
}

impl CliError {
    /// An unusable input, for this reason.
    fn unusable(message: impl std::fmt::Display) -> Self {
        Self::Unusable(anyhow::anyhow!("{message}"))
    }

    /// A failure, for this reason.
    fn failed(message: impl std::fmt::Display) -> Self {
        Self::Failed(anyhow::anyhow!("{message}"))
    }

    /// Prints what is not printed yet and gives the exit code.
    fn report(self) -> ExitCode {
        match self {
            Self::Found => ExitCode::FAILURE,
            Self::Unreadable => ExitCode::from(2),
            Self::Unusable(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
            Self::Failed(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

type Outcome = Result<(), CliError>;

/// Where a command's log lines go. `serve` logs to standard output, which the journal and
/// `docker compose logs` collect; every other command prints its own output there (`calls
/// --json`, `completions`, `graph`, a loadtest's report), so its log lines go to standard
/// error, where a warning cannot break the JSON or the script a user pipes on.
#[derive(Clone, Copy)]
enum LogTo {
    Stdout,
    Stderr,
}

impl LogTo {
    fn writer(self) -> BoxMakeWriter {
        match self {
            Self::Stdout => BoxMakeWriter::new(std::io::stdout),
            Self::Stderr => BoxMakeWriter::new(std::io::stderr),
        }
    }

    fn is_terminal(self) -> bool {
        match self {
            Self::Stdout => std::io::stdout().is_terminal(),
            Self::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

/// `default` applies unless RUST_LOG is set; LIZA_LOG_FORMAT chooses `human` or `json`.
fn init_logging(default: &str, to: LogTo) {
    // .env first, so that RUST_LOG and LIZA_LOG_FORMAT may live there like every setting.
    let _ = dotenvy::dotenv();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let format = std::env::var("LIZA_LOG_FORMAT").unwrap_or_default();
    match format.trim().to_ascii_lowercase().as_str() {
        // One object per line: the event's fields at the top level, and the request's span
        // (`request_id`, `call_sid`) under "span".
        "json" => {
            let _ = tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_env_filter(filter)
                .with_target(false)
                .with_writer(to.writer())
                .try_init();
        }
        other => {
            // Colours only for a person at a terminal: the journal, a file or a pipe gets
            // plain text (a `grep 'call_sid=CA…'` found nothing between escape codes).
            let _ = tracing_subscriber::fmt()
                .with_ansi(to.is_terminal())
                .with_env_filter(filter)
                .with_target(false)
                .with_writer(to.writer())
                .try_init();
            if !matches!(other, "" | "human") {
                tracing::warn!(
                    "LIZA_LOG_FORMAT={other} is neither `human` nor `json`; logging as `human`."
                );
            }
        }
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // Bulk seeding trips sqlx's slow-statement warning on every batch: not news there.
    init_logging(
        match cli.command {
            Some(Command::Dev { .. }) => "info,sqlx=error,poem=warn",
            _ => "info,sqlx=warn,poem=warn",
        },
        match cli.command {
            None | Some(Command::Serve(_)) => LogTo::Stdout,
            Some(_) => LogTo::Stderr,
        },
    );
    let settings = Settings::from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return CliError::failed(format!("cannot start the async runtime: {e}")).report(),
    };
    let command = cli.command.unwrap_or(Command::Serve(Default::default()));
    match runtime.block_on(dispatch(settings, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

async fn dispatch(settings: Settings, command: Command) -> Outcome {
    match command {
        Command::Serve(args) => server::serve(settings, args).await,
        Command::Migrate => server::migrate(&settings).await,
        Command::Loadtest(args) => server::loadtest(&settings, args).await,
        Command::Check(args) => authoring::check(&settings, args),
        Command::Simulate(args) => authoring::simulate(&settings, args),
        Command::Test(args) => authoring::test(&settings, args),
        Command::Graph(args) => authoring::graph(&settings, args),
        Command::Calls(args) => operator::calls(&settings, args).await,
        Command::Backup(args) => operator::backup(&settings, args),
        Command::Completions(args) => operator::completions(args),
        Command::Admin { command } => admin::run(&settings, command).await,
        Command::Privacy { command } => privacy::run(&settings, command).await,
        Command::Records { command } => records::run(&settings, command).await,
        Command::Dev { command } => develop::run(settings, command).await,
    }
}
