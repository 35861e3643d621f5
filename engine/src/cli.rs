//! The `liza` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::flow::load_flows;
use crate::loadtest::{self, LoadtestArgs};
use crate::settings::Settings;
use crate::startup::{open_store, shutdown_signal, Application, FlowErrors};

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
        /// Flows directory (default: LIZA_FLOWS or flows/).
        #[arg(long)]
        flows: Option<PathBuf>,
        /// Locales directory (default: LIZA_LOCALES or locales/).
        #[arg(long)]
        locales: Option<PathBuf>,
    },
    /// Play whole calls against a server the way Twilio does and report throughput and latency.
    Loadtest(LoadtestArgs),
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

fn init_logging() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,poem=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
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
                    println!("Bare TwiML server listening on {bind}.");
                    return match loadtest::bare_server(bind).await {
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
            Command::Check { flows, locales } => {
                let flows = flows.unwrap_or(settings.flows_dir);
                let locales = locales.unwrap_or(settings.locales_dir);
                match load_flows(&flows, &locales) {
                    Ok(loaded) => {
                        for flow in loaded {
                            println!(
                                "ok: {} ({}, version {})",
                                flow.name,
                                flow.path.display(),
                                flow.version
                            );
                        }
                        ExitCode::SUCCESS
                    }
                    Err(diagnostics) => {
                        print!("{diagnostics}");
                        let unreadable = diagnostics
                            .iter()
                            .any(|d| d.message.starts_with("cannot read"));
                        eprintln!("{} error(s)", diagnostics.error_count());
                        ExitCode::from(if unreadable { 2 } else { 1 })
                    }
                }
            }
        }
    })
}
