//! `liza serve`, `liza migrate`, `liza loadtest`.

use liza_core::flow::load_flows;
use liza_loadtest::LoadtestArgs;

use super::authoring::speech_config;
use super::{CliError, Outcome};
use crate::settings::Settings;
use crate::startup::{open_store, shutdown_signal, Application, FlowErrors};

#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Accept unsigned webhooks (development only; same as LIZA_INSECURE_DEV=1).
    #[arg(long)]
    insecure_dev: bool,
    /// Address to listen on (overrides LIZA_BIND).
    #[arg(long)]
    bind: Option<String>,
}

pub async fn serve(mut settings: Settings, args: ServeArgs) -> Outcome {
    settings.insecure_dev |= args.insecure_dev;
    if let Some(bind) = args.bind {
        settings.bind = bind;
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            if let Some(FlowErrors(diagnostics)) = e.downcast_ref::<FlowErrors>() {
                eprintln!("{diagnostics}");
                return Err(CliError::failed(format!(
                    "Liza did not start: {} problem(s) in the flows",
                    diagnostics.error_count()
                )));
            }
            return Err(e.into());
        }
    };
    app.run_until(shutdown_signal()).await?;
    Ok(())
}

pub async fn migrate(settings: &Settings) -> Outcome {
    let store = open_store(settings).await?;
    store.close().await;
    println!("Migrations applied.");
    Ok(())
}

pub async fn loadtest(settings: &Settings, mut args: LoadtestArgs) -> Outcome {
    if let Some(bind) = &args.fake_shop {
        println!(
            "Stand-in shop API listening on {bind} (answers after {} ms).",
            args.shop_delay.as_millis()
        );
        return liza_loadtest::fake_shop(bind, args.shop_delay)
            .await
            .map_err(CliError::failed);
    }
    if let Some(bind) = &args.bare_server {
        let flows = load_flows(&settings.flows_dir, &settings.locales_dir).map_err(|e| {
            CliError::unusable(format!("the bare server answers with the flow:\n{e}"))
        })?;
        let flow = flows
            .first()
            .ok_or_else(|| CliError::unusable("no flow to answer with"))?;
        let answers = liza_loadtest::BareAnswers::of_flow(flow, &speech_config(settings));
        // Liza's own listen, with the queue Liza has by default.
        let backlog = liza_web::connections::ServerLimits::default().listen_backlog;
        let listener = liza_web::connections::listen(bind, backlog)
            .await
            .map_err(|e| CliError::failed(format!("cannot listen on {bind}: {e}")))?;
        println!(
            "Bare TwiML server listening on {bind} (flow {}).",
            flow.name
        );
        return liza_loadtest::bare_server(listener, answers)
            .await
            .map_err(CliError::failed);
    }
    if args.public_url.is_none() {
        args.public_url = settings.public_url.clone();
    }
    let token = settings
        .twilio_auth_token
        .as_ref()
        .map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned());
    if token.is_none() && !args.unsigned {
        return Err(CliError::failed(
            "TWILIO_AUTH_TOKEN is not set; set it to the server's token, or pass --unsigned",
        ));
    }
    let report = liza_loadtest::run(&args, token)
        .await
        .map_err(CliError::failed)?;
    print!("{report}");
    if report.failed == 0 {
        Ok(())
    } else {
        Err(CliError::Found)
    }
}
