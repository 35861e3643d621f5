//! The `liza` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::flow::load_paths;
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
        /// Flow files or directories of them (default: LIZA_FLOWS or flows/).
        paths: Vec<PathBuf>,
        /// Locales directory (default: LIZA_LOCALES or locales/).
        #[arg(long)]
        locales: Option<PathBuf>,
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
            Command::Check { paths, locales } => {
                let paths = if paths.is_empty() {
                    vec![settings.flows_dir]
                } else {
                    paths
                };
                let locales = locales.unwrap_or(settings.locales_dir);
                match load_paths(&paths, &locales) {
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
