//! The authoring tools on the command line: `check`, `simulate`, `test`, `graph`.
//! They load flows from files and never open the database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use liza_core::flow::{flow_for_number, load_paths, Flow};
use liza_core::speech::SpeechConfig;
use liza_tools::{fetchstub, flowtest, graph, lint, simulate};

use super::{CliError, Outcome};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Flow files or directories of them (default: LIZA_FLOWS or flows/).
    paths: Vec<PathBuf>,
    /// Locales directory (default: LIZA_LOCALES or locales/).
    #[arg(long)]
    locales: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The caller's number (decides the language), e.g. +447700900123 or anonymous.
    #[arg(long, default_value = "+4915112345678")]
    from: String,
    /// The flow to play (default: the one that answers new calls).
    #[arg(long)]
    flow: Option<String>,
    /// The moment of the call, for opening hours: `2026-12-24T10:00` (in the flow's first
    /// schedule's time zone) or with an offset (`2026-12-24T10:00+01:00`). Default: now.
    #[arg(long)]
    at: Option<String>,
    /// What a fetch node's API answers: NODE='200 {"status":"shipped"}', NODE=404,
    /// NODE=timeout, NODE=error or NODE=not_configured. Repeatable; a fetch without a stub
    /// is not_configured (no request leaves the machine).
    #[arg(long = "fetch-stub", value_name = "NODE=ANSWER")]
    fetch_stub: Vec<String>,
    /// A YAML file of fetch stubs: `NODE: {status: 200, body: {...}}` or `NODE: {outcome: timeout}`.
    #[arg(long = "fetch-fixtures", value_name = "FILE")]
    fetch_fixtures: Option<PathBuf>,
    #[command(flatten)]
    dirs: FlowDirs,
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Test files or directories of them.
    paths: Vec<PathBuf>,
    #[command(flatten)]
    dirs: FlowDirs,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The flow file.
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    format: GraphFormat,
    /// Locales directory (default: LIZA_LOCALES or locales/).
    #[arg(long)]
    locales: Option<PathBuf>,
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

/// What the tools speak with: the settings' company, website and voice, no public URL.
pub(super) fn speech_config(settings: &Settings) -> SpeechConfig {
    SpeechConfig {
        company: settings.company_name.clone(),
        website: settings.website_url.clone(),
        default_voice: settings.voice_name.clone(),
        base_url: String::new(),
        env: liza_core::speech::FlowEnv(settings.flow_env.clone()),
    }
}

/// Loads flows for a tool, printing their diagnostics when they have errors.
fn load_for_tool(paths: &[PathBuf], locales: &Path) -> Result<Vec<Arc<Flow>>, CliError> {
    load_paths(paths, locales).map_err(|diagnostics| {
        eprint!("{diagnostics}");
        CliError::unusable(format!(
            "{} problem(s) in the flows; run `liza check`",
            diagnostics.error_count()
        ))
    })
}

pub fn check(settings: &Settings, args: CheckArgs) -> Outcome {
    let paths = if args.paths.is_empty() {
        vec![settings.flows_dir.clone()]
    } else {
        args.paths
    };
    let locales = args.locales.unwrap_or_else(|| settings.locales_dir.clone());
    match load_paths(&paths, &locales) {
        Ok(loaded) => {
            let warnings = lint::lint(&loaded, &settings.voice_name);
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
            let texting = loaded.iter().filter(|flow| {
                flow.nodes()
                    .any(|(_, node)| matches!(node.kind, liza_core::flow::NodeKind::Sms(_)))
            });
            if let Err(missing) = crate::startup::texting_account(settings) {
                for flow in texting {
                    println!(
                        "note: {} has `sms` nodes, but this server sends no texts ({missing} not set): they go on `not_configured`",
                        flow.name
                    );
                }
            }
            Ok(())
        }
        Err(diagnostics) => {
            print!("{diagnostics}");
            println!("{} error(s)", diagnostics.error_count());
            Err(if diagnostics.has_unreadable() {
                CliError::Unreadable
            } else {
                CliError::Found
            })
        }
    }
}

pub fn simulate(settings: &Settings, args: SimulateArgs) -> Outcome {
    let speech = speech_config(settings);
    let (flows, locales) = args.dirs.resolve(settings);
    let loaded = load_for_tool(&[flows], &locales)?;
    let chosen = match &args.flow {
        Some(name) => loaded.iter().find(|f| &f.name == name),
        None => flow_for_number(&loaded, ""),
    };
    let Some(chosen) = chosen else {
        return Err(CliError::unusable(format!(
            "no flow named `{}`",
            args.flow.unwrap_or_default()
        )));
    };
    let mut stubs = match &args.fetch_fixtures {
        Some(path) => fetchstub::read_fixtures(path).map_err(CliError::unusable)?,
        None => fetchstub::FetchStubs::new(),
    };
    for flag in &args.fetch_stub {
        let (node, stub) = fetchstub::FetchStub::parse_flag(flag).map_err(CliError::unusable)?;
        stubs.insert(node, stub);
    }
    for node in stubs.keys() {
        let is_fetch = chosen
            .node_named(node)
            .is_some_and(|id| matches!(chosen.node(id).kind, liza_core::flow::NodeKind::Fetch(_)));
        if !is_fetch {
            return Err(CliError::unusable(format!(
                "--fetch-stub {node}: flow `{}` has no fetch node `{node}`",
                chosen.name
            )));
        }
    }
    let at = match &args.at {
        Some(text) => {
            let zone = chosen.schedules.first().map(|s| &s.zone);
            Some(
                liza_core::flow::hours::parse_instant(text, zone)
                    .map_err(|e| CliError::unusable(format!("--at: {e}")))?,
            )
        }
        None => None,
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    simulate::simulate(
        chosen,
        speech,
        &args.from,
        stubs,
        at,
        stdin.lock(),
        &mut stdout,
    )
    .map_err(CliError::failed)
}

pub fn test(settings: &Settings, args: TestArgs) -> Outcome {
    let speech = speech_config(settings);
    let (flows, locales) = args.dirs.resolve(settings);
    let paths = if args.paths.is_empty() {
        vec![flowtest::default_dir(&flows)]
    } else {
        args.paths
    };
    let loaded = load_for_tool(&[flows], &locales)?;
    let files = flowtest::test_files(&paths).map_err(CliError::unusable)?;
    if files.is_empty() {
        return Err(CliError::unusable(format!(
            "no flow tests found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let summary = flowtest::run(&files, &loaded, &speech).map_err(CliError::unusable)?;
    print!("{}", summary.report);
    if summary.failed == 0 {
        Ok(())
    } else {
        Err(CliError::Found)
    }
}

pub fn graph(settings: &Settings, args: GraphArgs) -> Outcome {
    let locales = args.locales.unwrap_or_else(|| settings.locales_dir.clone());
    let loaded = load_for_tool(std::slice::from_ref(&args.file), &locales)?;
    match args.format {
        GraphFormat::Dot => print!("{}", graph::to_dot(&loaded[0])),
        GraphFormat::Svg => print!(
            "{}",
            graph::dot_to_svg(&graph::to_dot_with_legend(&loaded[0])).map_err(CliError::failed)?
        ),
    }
    Ok(())
}
