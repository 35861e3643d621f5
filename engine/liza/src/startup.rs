//! Wiring: settings → flows, store, engine → a listening server.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use poem::listener::Acceptor;
use poem::{EndpointExt, Server};
use secrecy::{ExposeSecret, SecretString};
use tracing::{info, warn};

use crate::calls::Engine;
use crate::flow::{load_flows, Diagnostics};
use crate::metrics::Metrics;
use crate::privacy::PrivacyKey;
use crate::registry::Registry;
use crate::settings::Settings;
use crate::speech::SpeechConfig;
use crate::store::admin::Accounts;
use crate::store::{self, now_ms, Store, StoredKey};
use crate::twilio::SignatureVerifier;
use crate::web::client::TrustedProxies;
use crate::web::connections::{Connections, LimitedAcceptor};
use crate::web::dashboard::Dashboard;
use crate::web::{app, AppState};

#[derive(Debug, thiserror::Error)]
#[error("the flows have problems:\n{0}")]
pub struct FlowErrors(pub Diagnostics);

/// A built server, bound to its port, not yet serving.
pub struct Application {
    pub state: Arc<AppState>,
    /// Sends the outbox's texts and events (none when this server sends neither).
    sender: Option<liza_service::outbox::Sender>,
    connections: Connections,
    acceptor: LimitedAcceptor,
    port: u16,
    watcher: Option<crate::reload::Watcher>,
}

/// Opens the database named by the settings and applies migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::connect(settings.database_url.expose_secret())
        .await
        .context("cannot open the database (check DATABASE_URL)")?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

/// The key of the callers' hashes: `LIZA_PRIVACY_KEY`, or the one generated on the first start
/// and kept in the database. Refuses a key other than the one the stored hashes were made with
/// (hashes are never silently made again: a caller could no longer be found for an export or
/// an erasure).
pub async fn privacy_key(
    store: &dyn Store,
    setting: Option<&SecretString>,
) -> anyhow::Result<PrivacyKey> {
    let (key, generated) = match setting {
        Some(secret) => (
            PrivacyKey::new(secret.expose_secret()).map_err(anyhow::Error::msg)?,
            false,
        ),
        None => {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            (PrivacyKey::from_random(bytes), true)
        }
    };
    let kept = store
        .keep_privacy_key(
            &StoredKey {
                key_check: key.check_value(),
                generated_key: generated.then(|| key.expose().to_owned()),
            },
            now_ms(),
        )
        .await
        .context("cannot read or keep the privacy key")?;
    match (generated, kept.generated_key) {
        (true, Some(stored)) => {
            let stored = PrivacyKey::new(&stored).map_err(anyhow::Error::msg)?;
            if stored.check_value() != kept.key_check {
                bail!("the privacy key kept in the database does not match its check value: the privacy_key table was changed by hand");
            }
            Ok(stored)
        }
        (true, None) => bail!(
            "LIZA_PRIVACY_KEY is not set, but this database's callers were hashed with a key set in              LIZA_PRIVACY_KEY. Set the same key again: with another one, nobody stored could be              found for an export or an erasure."
        ),
        (false, _) if kept.key_check != key.check_value() => bail!(
            "LIZA_PRIVACY_KEY is not the key this database's callers were hashed with. Set the key              used before (or unset it, if Liza generated the key). Hashes are never made again              with another key: nobody stored could be found for an export or an erasure."
        ),
        (false, _) => Ok(key),
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let limits = settings.server_limits.clone().map_err(anyhow::Error::msg)?;
        let retention_days = settings
            .retention_days
            .clone()
            .map_err(anyhow::Error::msg)?;
        let zone = settings.time_zone.clone().map_err(anyhow::Error::msg)?;
        let verifier = match (&settings.twilio_auth_token, settings.insecure_dev) {
            (Some(token), _) => Some(SignatureVerifier::new(token.clone())),
            (None, true) => {
                warn!("LIZA_INSECURE_DEV is set: webhooks are accepted WITHOUT signature checks. Never use this in production.");
                None
            }
            (None, false) => bail!(
                "TWILIO_AUTH_TOKEN is not set, so webhook signatures cannot be checked. \
                 Set it (see env.example), or for local development only pass --insecure-dev (LIZA_INSECURE_DEV=1)."
            ),
        };
        let trusted_proxies = TrustedProxies::parse(&settings.trusted_proxies)?;
        let (outgoing, courier) = outgoing(&settings)?;
        let backoff = settings
            .outbox_backoff
            .clone()
            .map_err(anyhow::Error::msg)?;
        if verifier.is_some() && settings.public_url.is_none() {
            warn!("LIZA_PUBLIC_URL is not set: signatures are checked against the Host header, which breaks behind most proxies.");
        }
        let flows = load_flows(&settings.flows_dir, &settings.locales_dir).map_err(FlowErrors)?;
        let store = open_store(&settings).await?;
        for warning in store.setup_warnings().await {
            warn!("{warning}");
        }
        let privacy = Arc::new(privacy_key(store.as_ref(), settings.privacy_key.as_ref()).await?);
        for flow in &flows {
            store
                .register_flow_version(
                    &flow.name,
                    &flow.version,
                    &crate::flow::load::stored_form(flow),
                    now_ms(),
                )
                .await?;
            info!(flow = %flow.name, version = %flow.version, nodes = flow.nodes().count(), "Flow loaded.");
        }
        let registry = Arc::new(Registry::new(flows));
        let metrics = Arc::new(Metrics::new());
        let watcher = crate::reload::watch(
            registry.clone(),
            store.clone(),
            metrics.clone(),
            settings.flows_dir.clone(),
            settings.locales_dir.clone(),
        )
        .map_err(|e| warn!(error = %e, "Hot reload is off: cannot watch the flow and locale directories."))
        .ok();
        let speech = Arc::new(SpeechConfig {
            company: settings.company_name.clone(),
            website: settings.website_url.clone(),
            default_voice: settings.voice_name.clone(),
            base_url: settings.public_url.clone().unwrap_or_default(),
            env: liza_core::speech::FlowEnv(settings.flow_env.clone()),
        });
        let dashboard = match store.admin() {
            Some(admin) => {
                bootstrap_admin(admin.as_ref(), settings.admin_password.as_ref()).await?;
                admin.refresh_planner_stats().await?;
                Some(Arc::new(
                    Dashboard::new(admin, registry.clone(), settings.public_url.as_deref())
                        .context("cannot start the dashboard")?
                        .with_zone(zone)
                        .context("cannot start the dashboard")?
                        .with_privacy(privacy.clone())
                        .with_outbox(store.outbox()),
                ))
            }
            None => {
                warn!("This database backend has no dashboard queries: the dashboard is off.");
                None
            }
        };
        let sender = match (store.outbox(), courier) {
            (Some(outbox), Some(courier)) => Some(liza_service::outbox::Sender {
                outbox,
                courier: Arc::new(courier),
                metrics: metrics.clone(),
                pace: liza_service::outbox::Pace {
                    backoff,
                    ..Default::default()
                },
            }),
            _ => None,
        };
        // The flows' fetch requests, performed outside the writers' transactions.
        let fetcher: Arc<dyn liza_service::fetch::Fetcher> = Arc::new(
            liza_outbound::HttpFetcher::new(
                settings.flow_env.clone(),
                liza_outbound::Limits::default(),
            )
            .map_err(anyhow::Error::msg)?,
        );
        let state = Arc::new(AppState {
            engine: Engine {
                store,
                metrics,
                registry,
                speech,
                privacy,
                fetcher,
                in_flight: Default::default(),
                outgoing,
            },
            verifier,
            public_url: settings.public_url.clone(),
            dashboard,
            trusted_proxies,
            limits: limits.clone(),
            retention_days,
        });
        let listener = liza_web::connections::listen(&settings.bind, limits.listen_backlog)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let connections = Connections::new(&limits);
        let acceptor = connections
            .acceptor(listener)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().map(|s| s.port()))
            .unwrap_or(0);
        Ok(Self {
            state,
            sender,
            connections,
            acceptor,
            port,
            watcher,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves, then finishes requests in flight and closes the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let _watcher = self.watcher;
        // The retention purge runs beside the server and stops with it (its batch in flight
        // commits first), before the store closes.
        let (stop_retention, stop) = tokio::sync::watch::channel(false);
        let retention = state.dashboard.as_ref().map(|d| {
            crate::retention::spawn(
                d.admin.clone(),
                state.engine.privacy.clone(),
                state.retention_days,
                stop,
            )
        });
        // The outbox's sender likewise: its batch in flight is settled before the store closes.
        let (stop_sender, mut sender_stop) = tokio::sync::watch::channel(false);
        let sender = self.sender.map(|sender| {
            tokio::spawn(sender.run(async move {
                let _ = sender_stop.wait_for(|stop| *stop).await;
            }))
        });
        info!(port = self.port, "Liza is listening.");
        // The dashboard's live streams would hold a graceful shutdown up until its timeout:
        // they end as soon as it begins.
        let live = state.dashboard.clone();
        let shutdown = async move {
            shutdown.await;
            if let Some(dashboard) = live {
                dashboard.live.shut_down();
            }
        };
        let result = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                app(self.state).with(self.connections.track()),
                shutdown,
                Some(Duration::from_secs(20)),
            )
            .await;
        let _ = stop_retention.send(true);
        let _ = stop_sender.send(true);
        if let Some(retention) = retention {
            let _ = retention.await;
        }
        if let Some(sender) = sender {
            let _ = sender.await;
        }
        state.engine.store.close().await;
        info!("Liza stopped.");
        result
    }
}

/// What this server sends through the outbox, and the courier that sends it; says plainly
/// in the log what is off and why. Events without their secret (or with a short one, or a
/// URL that is not http(s)) are refused: they would go out unsigned or not at all.
pub fn outgoing(
    settings: &Settings,
) -> anyhow::Result<(
    liza_service::outbox::Outgoing,
    Option<liza_outbound::courier::HttpCourier>,
)> {
    use liza_outbound::courier::{EventsTarget, HttpCourier, TwilioAccount};
    let twilio = texting_account(settings).map_err(|missing| {
        info!("Text messages are off: {missing} not set, so `sms` nodes go on `not_configured`.")
    });
    let events = match (&settings.events_url, &settings.events_secret) {
        (None, _) => None,
        (Some(_), None) => bail!(
            "LIZA_EVENTS_URL is set but LIZA_EVENTS_SECRET is not: events are signed with it. \
             Set it to a long random value (e.g. `openssl rand -hex 32`)."
        ),
        (Some(url), Some(secret)) => {
            if secret.expose_secret().len() < 16 {
                bail!("LIZA_EVENTS_SECRET is too short: use at least 16 characters (e.g. `openssl rand -hex 32`).");
            }
            let parsed = is_http_url(url);
            if !parsed {
                bail!("LIZA_EVENTS_URL={url} is not an http:// or https:// URL.");
            }
            Some(EventsTarget {
                url: url.clone(),
                secret: secret.clone(),
            })
        }
    };
    let twilio: Option<TwilioAccount> = twilio.ok();
    let outgoing = liza_service::outbox::Outgoing {
        sms: twilio.is_some(),
        events: events.is_some(),
    };
    if outgoing.sms {
        info!("Text messages are on: `sms` nodes queue texts, sent through Twilio.");
    }
    if outgoing.events {
        info!("Events are on: sent signed to LIZA_EVENTS_URL.");
    }
    let courier = if outgoing.sms || outgoing.events {
        Some(HttpCourier::new(twilio, events).map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    Ok((outgoing, courier))
}

/// Twilio's account for texts, or the settings missing for one.
pub fn texting_account(
    settings: &Settings,
) -> Result<liza_outbound::courier::TwilioAccount, String> {
    let missing: Vec<&str> = [
        ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid.is_none()),
        ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token.is_none()),
        ("LIZA_SMS_FROM", settings.sms_from.is_none()),
    ]
    .into_iter()
    .filter(|(_, missing)| *missing)
    .map(|(name, _)| name)
    .collect();
    match (
        &settings.twilio_account_sid,
        &settings.twilio_auth_token,
        &settings.sms_from,
    ) {
        (Some(sid), Some(token), Some(from)) => Ok(liza_outbound::courier::TwilioAccount {
            account_sid: sid.clone(),
            auth_token: token.clone(),
            from: from.clone(),
            api_base: settings.twilio_api_base.clone(),
        }),
        _ => Err(missing.join(", ")),
    }
}

/// An http(s) URL with a host.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
}

/// Creates the dashboard user `admin` from LIZA_ADMIN_PASSWORD unless it exists already.
async fn bootstrap_admin(
    admin: &dyn Accounts,
    password: Option<&SecretString>,
) -> anyhow::Result<()> {
    let Some(password) = password else {
        return Ok(());
    };
    if admin.user_by_name("admin").await?.is_some() {
        return Ok(());
    }
    let hash = crate::auth::hash_password(password).context("LIZA_ADMIN_PASSWORD")?;
    admin
        .upsert_user("admin", &hash, "LIZA_ADMIN_PASSWORD", now_ms())
        .await?;
    info!("Dashboard user `admin` created from LIZA_ADMIN_PASSWORD.");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    info!("Shutting down: finishing requests in flight.");
}
