//! Configuration from the environment (and `.env`), with the seed's names.
//! Secrets are wrapped so they never reach a log, an error or `Debug`.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

pub use liza_web::connections::ServerLimits;
use liza_web::dashboard::Zone;

/// Every setting, its default and what it does: the README's table and env.example follow this list.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("TWILIO_ACCOUNT_SID", "", "Your Twilio account SID (AC…); with TWILIO_AUTH_TOKEN and LIZA_SMS_FROM, the account the flows' text messages are sent from."),
    ("TWILIO_AUTH_TOKEN", "", "Auth token that signs webhooks. Required unless LIZA_INSECURE_DEV=1."),
    ("TWILIO_PHONE_NUMBER", "", "The Twilio number callers dial (E.164)."),
    ("LIZA_SMS_FROM", "", "Sender of the flows' text messages (`sms` nodes): a Twilio number that can send SMS (E.164). Texts are sent only when this, TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set; otherwise `sms` nodes go on `not_configured`."),
    ("TWILIO_API_BASE", "https://api.twilio.com", "Base URL of Twilio's REST API for texts (change only for a test double)."),
    ("LIZA_EVENTS_URL", "", "URL that receives Liza's signed JSON events (call started/ended, record saved, consent given/refused; docs/events.md). Unset: no events."),
    ("LIZA_EVENTS_SECRET", "", "Secret that signs the events (X-Liza-Signature: HMAC-SHA256), at least 16 characters. Required with LIZA_EVENTS_URL."),
    ("LIZA_OUTBOX_BACKOFF", "5,30,120,600", "Seconds to wait before each further attempt to send a text or event (after the last one, it is marked failed)."),
    ("COMPANY_NAME", "Liza Shop", "Company name spoken in greetings (`$company` in .ftl files)."),
    ("WEBSITE_URL", "https://example.com", "Website spoken by the help node (`$website`)."),
    ("VOICE_NAME", "Polly.Vicki", "Twilio voice where a flow names none for a language."),
    ("DATABASE_URL", "sqlite://data/liza.db", "sqlite://path (created if missing) or postgres://…"),
    ("LIZA_BIND", "127.0.0.1:5000", "Address and port the server listens on."),
    ("LIZA_PUBLIC_URL", "", "Public base URL Twilio calls (https://liza.example.com); used for signatures and TwiML URLs."),
    ("LIZA_FLOWS", "flows/", "Directory of flow YAML files."),
    ("LIZA_LOCALES", "locales/", "Directory of Fluent locales (<lang>/*.ftl)."),
    ("LIZA_INSECURE_DEV", "0", "1 = accept unsigned webhooks (development only; logs a warning)."),
    ("LIZA_TRUSTED_PROXIES", "", "Addresses or CIDRs of your proxies (127.0.0.1, 10.0.0.0/8): only their X-Forwarded-For/Forwarded headers name the client for login limits."),
    ("LIZA_ADMIN_PASSWORD", "", "On first start, creates the dashboard user `admin` with this password (at least 10 characters)."),
    ("LIZA_PRIVACY_KEY", "", "Secret key (at least 32 characters, e.g. `openssl rand -hex 32`) of the keyed hashes that stand for callers' numbers until they consent. Unset: Liza generates one and keeps it in the database. Never change it once set (Liza refuses to start with another key)."),
    ("LIZA_RETENTION_DAYS", "90", "Days a call's personal data (number, what was said and typed) is kept; older calls are made anonymous hourly. 0 keeps everything."),
    ("LIZA_TIMEZONE", "Europe/Berlin", "Time zone of the dashboard and `liza calls` (an IANA name: Europe/Vienna, America/New_York, UTC): times shown, the days of date filters, today, this week (from Monday) and the statistics' days. The zone database is built into Liza."),
    ("LIZA_MAX_CONNECTIONS", "512", "Open connections at most; at the limit the longest-idle connection is closed for a new one. Keep it below the file limit (ulimit -n) with room for the database."),
    ("LIZA_HEADER_TIMEOUT", "10", "Seconds a client has to send a request's headers (from its first byte, or from connecting)."),
    ("LIZA_BODY_TIMEOUT", "10", "Seconds a client has to send a request's body."),
    ("LIZA_IDLE_TIMEOUT", "75", "Seconds a kept-alive connection may stay idle (longer than a proxy's 60 s, so the proxy closes first)."),
    ("LIZA_LISTEN_BACKLOG", "4096", "Connections the kernel may complete and queue before Liza accepts them; past it new connections wait a second or more for a retry. Linux caps it at net.core.somaxconn (4096 since Linux 5.4)."),
    ("LIZA_WEBHOOK_MAX_BYTES", "16384", "Largest webhook body accepted (Twilio sends 1-3 kB; larger gets 413)."),
    ("RUST_LOG", "info", "Log filter (tracing-subscriber EnvFilter syntax)."),
    ("LIZA_LOG_FORMAT", "human", "`human` (one readable line per event) or `json` (one JSON object per line, for log collectors)."),
];

#[derive(Clone)]
pub struct Settings {
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<SecretString>,
    pub twilio_phone_number: Option<String>,
    pub company_name: String,
    pub website_url: String,
    pub voice_name: String,
    pub database_url: SecretString,
    pub bind: String,
    pub public_url: Option<String>,
    pub flows_dir: PathBuf,
    pub locales_dir: PathBuf,
    pub insecure_dev: bool,
    pub admin_password: Option<SecretString>,
    /// LIZA_PRIVACY_KEY; unset: the key generated once and kept in the database.
    pub privacy_key: Option<SecretString>,
    /// LIZA_RETENTION_DAYS (0 keeps everything), or why it could not be read.
    pub retention_days: Result<u32, String>,
    /// LIZA_TRUSTED_PROXIES as written; parsed (and refused if wrong) at start.
    pub trusted_proxies: String,
    /// LIZA_TIMEZONE, or why it is not a zone (refused at start).
    pub time_zone: Result<Zone, String>,
    /// The server's limits, or which setting could not be read.
    pub server_limits: Result<ServerLimits, String>,
    /// Where the flows' `${env:NAME}` values are read (the process environment and `.env`);
    /// never shown in `Debug`.
    pub flow_env: liza_outbound::Env,
    /// LIZA_SMS_FROM.
    pub sms_from: Option<String>,
    /// TWILIO_API_BASE.
    pub twilio_api_base: String,
    /// LIZA_EVENTS_URL.
    pub events_url: Option<String>,
    /// LIZA_EVENTS_SECRET.
    pub events_secret: Option<SecretString>,
    /// LIZA_OUTBOX_BACKOFF, or why it could not be read.
    pub outbox_backoff: Result<Vec<Duration>, String>,
}

/// Reads LIZA_OUTBOX_BACKOFF: seconds (fractions allowed), comma-separated, 1 to 10 waits.
fn outbox_backoff(raw: &str) -> Result<Vec<Duration>, String> {
    let waits: Option<Vec<Duration>> = raw
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 86_400.0)
                .map(Duration::from_secs_f64)
        })
        .collect();
    match waits {
        Some(waits) if (1..=10).contains(&waits.len()) => Ok(waits),
        _ => Err(format!(
            "LIZA_OUTBOX_BACKOFF={raw} is not valid: expected 1 to 10 waits in seconds, comma-separated (e.g. 5,30,120,600)"
        )),
    }
}

/// Reads the server's limits through `get` (trimmed, empty = unset); the defaults come from
/// [`SETTINGS`] (a test keeps them equal to [`ServerLimits::default`]).
fn server_limits_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ServerLimits, String> {
    let number = |name: &str, min: u64, max: u64| -> Result<u64, String> {
        let raw = get(name).unwrap_or_else(|| default_of(name).to_owned());
        match raw.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{name}={raw} is not valid: expected a whole number from {min} to {max}"
            )),
        }
    };
    let secs = |name: &str| number(name, 1, 3600).map(Duration::from_secs);
    Ok(ServerLimits {
        max_connections: number("LIZA_MAX_CONNECTIONS", 1, 1_000_000)? as usize,
        header_timeout: secs("LIZA_HEADER_TIMEOUT")?,
        body_timeout: secs("LIZA_BODY_TIMEOUT")?,
        idle_timeout: secs("LIZA_IDLE_TIMEOUT")?,
        webhook_max_bytes: number("LIZA_WEBHOOK_MAX_BYTES", 1024, 16 * 1024 * 1024)? as usize,
        listen_backlog: number("LIZA_LISTEN_BACKLOG", 1, 65535)? as u32,
    })
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("twilio_account_sid", &self.twilio_account_sid)
            .field(
                "twilio_auth_token",
                &self.twilio_auth_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("twilio_phone_number", &self.twilio_phone_number)
            .field("company_name", &self.company_name)
            .field("website_url", &self.website_url)
            .field("voice_name", &self.voice_name)
            .field("database_url", &"[REDACTED]")
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("flows_dir", &self.flows_dir)
            .field("locales_dir", &self.locales_dir)
            .field("insecure_dev", &self.insecure_dev)
            .field("trusted_proxies", &self.trusted_proxies)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "[REDACTED]"),
            )
            .field(
                "privacy_key",
                &self.privacy_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field("retention_days", &self.retention_days)
            .field("time_zone", &self.time_zone.as_ref().map(Zone::name))
            .field("server_limits", &self.server_limits)
            .field("sms_from", &self.sms_from)
            .field("twilio_api_base", &self.twilio_api_base)
            .field("events_url", &self.events_url)
            .field(
                "events_secret",
                &self.events_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("outbox_backoff", &self.outbox_backoff)
            .finish()
    }
}

fn default_of(name: &str) -> &'static str {
    SETTINGS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, d, _)| *d)
        .unwrap_or("")
}

impl Settings {
    /// Reads settings through `lookup` (a map in tests); the flows' `${env:…}` values are
    /// never set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self::read(
            lookup,
            std::sync::Arc::new(|_: &str| -> Option<String> { None }),
        )
    }

    /// Reads settings through `lookup`, which also gives the flows' `${env:…}` values.
    pub fn from_shared_lookup(lookup: liza_outbound::Env) -> Self {
        let flow_env = lookup.clone();
        Self::read(move |name| lookup(name), flow_env)
    }

    fn read(lookup: impl Fn(&str) -> Option<String>, flow_env: liza_outbound::Env) -> Self {
        let get = |name: &str| -> Option<String> {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let or_default = |name: &str| get(name).unwrap_or_else(|| default_of(name).to_owned());
        Self {
            twilio_account_sid: get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token: get("TWILIO_AUTH_TOKEN").map(SecretString::from),
            twilio_phone_number: get("TWILIO_PHONE_NUMBER"),
            company_name: or_default("COMPANY_NAME"),
            website_url: or_default("WEBSITE_URL"),
            voice_name: or_default("VOICE_NAME"),
            database_url: SecretString::from(or_default("DATABASE_URL")),
            bind: or_default("LIZA_BIND"),
            public_url: get("LIZA_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            flows_dir: PathBuf::from(or_default("LIZA_FLOWS")),
            locales_dir: PathBuf::from(or_default("LIZA_LOCALES")),
            insecure_dev: matches!(
                get("LIZA_INSECURE_DEV").as_deref(),
                Some("1" | "true" | "yes")
            ),
            admin_password: get("LIZA_ADMIN_PASSWORD").map(SecretString::from),
            privacy_key: get("LIZA_PRIVACY_KEY").map(SecretString::from),
            retention_days: {
                let raw = or_default("LIZA_RETENTION_DAYS");
                raw.parse::<u32>().map_err(|_| {
                    format!("LIZA_RETENTION_DAYS={raw} is not valid: expected a whole number of days (0 keeps everything)")
                })
            },
            trusted_proxies: or_default("LIZA_TRUSTED_PROXIES"),
            time_zone: Zone::named(&or_default("LIZA_TIMEZONE")),
            sms_from: get("LIZA_SMS_FROM"),
            twilio_api_base: or_default("TWILIO_API_BASE"),
            events_url: get("LIZA_EVENTS_URL"),
            events_secret: get("LIZA_EVENTS_SECRET").map(SecretString::from),
            outbox_backoff: outbox_backoff(&or_default("LIZA_OUTBOX_BACKOFF")),
            server_limits: server_limits_from_lookup(get),
            flow_env,
        }
    }

    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Self {
        let _ = dotenvy::dotenv();
        Self::from_shared_lookup(std::sync::Arc::new(|name: &str| std::env::var(name).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let settings = Settings::from_lookup(|name| match name {
            "TWILIO_AUTH_TOKEN" => Some("tok-very-secret".into()),
            "DATABASE_URL" => Some("postgres://liza:db-password@localhost/liza".into()),
            "LIZA_ADMIN_PASSWORD" => Some("admin-very-secret".into()),
            "LIZA_PRIVACY_KEY" => Some("privacy-key-very-secret-0123456789".into()),
            _ => None,
        });
        let debug = format!("{settings:?}");
        assert!(!debug.contains("tok-very-secret"), "{debug}");
        assert!(!debug.contains("db-password"), "{debug}");
        assert!(!debug.contains("admin-very-secret"), "{debug}");
        assert!(!debug.contains("privacy-key-very-secret"), "{debug}");
        assert!(debug.contains("[REDACTED]"));
    }

    #[test]
    fn defaults_follow_the_settings_table() {
        let settings = Settings::from_lookup(|_| None);
        assert_eq!(settings.bind, "127.0.0.1:5000");
        assert_eq!(settings.voice_name, "Polly.Vicki");
        assert!(settings.twilio_auth_token.is_none());
        assert!(!settings.insecure_dev);
        assert_eq!(settings.retention_days, Ok(90));
        assert_eq!(
            settings.time_zone.as_ref().map(Zone::name),
            Ok("Europe/Berlin")
        );
        let limits = settings.server_limits.unwrap();
        assert_eq!(limits, ServerLimits::default());
        assert_eq!(limits.max_connections, 512);
        assert_eq!(limits.header_timeout, Duration::from_secs(10));
        assert_eq!(limits.idle_timeout, Duration::from_secs(75));
        assert_eq!(limits.webhook_max_bytes, 16 * 1024);
        assert_eq!(limits.listen_backlog, 4096);
    }

    #[test]
    fn a_bad_limit_names_the_setting_and_what_it_expects() {
        let settings =
            Settings::from_lookup(|name| (name == "LIZA_HEADER_TIMEOUT").then(|| "ten".to_owned()));
        let error = settings.server_limits.unwrap_err();
        assert!(error.contains("LIZA_HEADER_TIMEOUT=ten"), "{error}");
        assert!(error.contains("whole number from 1 to 3600"), "{error}");
        let settings =
            Settings::from_lookup(|name| (name == "LIZA_MAX_CONNECTIONS").then(|| "0".to_owned()));
        assert!(settings.server_limits.is_err());
        let settings = Settings::from_lookup(|name| {
            (name == "LIZA_LISTEN_BACKLOG").then(|| "70000".to_owned())
        });
        let error = settings.server_limits.unwrap_err();
        assert!(error.contains("LIZA_LISTEN_BACKLOG=70000"), "{error}");
        assert!(error.contains("from 1 to 65535"), "{error}");
    }

    #[test]
    fn a_time_zone_that_does_not_exist_is_refused_by_name() {
        let settings = Settings::from_lookup(|name| {
            (name == "LIZA_TIMEZONE").then(|| "Mars/Olympus".to_owned())
        });
        let error = settings.time_zone.unwrap_err();
        assert!(error.contains("LIZA_TIMEZONE=Mars/Olympus"), "{error}");
        let settings = Settings::from_lookup(|name| {
            (name == "LIZA_TIMEZONE").then(|| "America/New_York".to_owned())
        });
        assert_eq!(settings.time_zone.unwrap().name(), "America/New_York");
    }
}
