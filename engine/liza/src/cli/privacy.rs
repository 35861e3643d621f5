//! `liza privacy`: a caller's data rights from the terminal (docs/privacy.md).
//!
//! - `export --phone N [--out FILE]`: one JSON document with everything stored about N.
//! - `erase --phone N [--yes]`: irreversibly removes N's personal data; business records stay.
//! - `purge`: the retention purge the server runs hourly, once.
//!
//! An unknown number is an empty result (exit 0); a number that is not one is exit 2 with
//! the E.164 form. Audit entries name the caller by a prefix of their keyed hash, never by
//! their number.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use liza_core::privacy::{PhoneNumber, PrivacyKey};
use liza_service::retention::{self, Pace};
use liza_store::admin::AdminStore;
use liza_store::now_ms;
use liza_store::privacy::{audit_subject, ExportDocument, Person};

use super::{CliError, Outcome};
use crate::settings::Settings;
use crate::startup::{open_store, privacy_key};

/// Who the audit log names for `liza privacy`.
const CLI_ACTOR: &str = "liza privacy";

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Print everything stored about a phone number as one JSON document (Art. 15).
    Export {
        /// The number in international form, e.g. +4915112345678.
        #[arg(long)]
        phone: String,
        /// Write the document to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Irreversibly remove a phone number's personal data (Art. 17): numbers, what was said
    /// and typed, stored answers and state, links to records. Records (orders) stay. Calls
    /// still in progress are left and named.
    Erase {
        /// The number in international form, e.g. +4915112345678.
        #[arg(long)]
        phone: String,
        /// Erase without asking (needed when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Remove the personal data of calls older than LIZA_RETENTION_DAYS now (the server does
    /// it hourly); also hashes callers of calls stored before the privacy migration.
    Purge,
}

pub async fn run(settings: &Settings, command: PrivacyCommand) -> Outcome {
    match command {
        PrivacyCommand::Export { phone, out } => export(settings, &phone, out).await,
        PrivacyCommand::Erase { phone, yes } => erase(settings, &phone, yes).await,
        PrivacyCommand::Purge => purge(settings).await,
    }
}

/// The number typed, or exit 2 with the form it should have.
fn parse(phone: &str) -> Result<PhoneNumber, CliError> {
    PhoneNumber::parse(phone, None).map_err(CliError::unusable)
}

/// The dashboard's store and the key of the callers' hashes (refused if it is not the key the
/// stored hashes were made with).
async fn open(settings: &Settings) -> anyhow::Result<(Arc<dyn AdminStore>, PrivacyKey)> {
    let store = open_store(settings).await?;
    let key = privacy_key(store.as_ref(), settings.privacy_key.as_ref()).await?;
    let admin = store
        .admin()
        .context("this database backend has no dashboard tables")?;
    Ok((admin, key))
}

async fn export(settings: &Settings, phone: &str, out: Option<PathBuf>) -> Outcome {
    let number = parse(phone)?;
    let (admin, key) = open(settings).await?;
    let hash = key.caller_hash(number.e164());
    let person = Person {
        caller_hash: &hash,
        number: number.e164(),
    };
    let data = admin.export_person(&person).await?;
    let now = now_ms();
    admin
        .audit_privacy(
            CLI_ACTOR,
            "export",
            &audit_subject(&hash),
            &data.export_note(),
            now,
        )
        .await?;
    let document = ExportDocument::new(number.e164(), &data, now);
    let mut json = serde_json::to_string_pretty(&document).context("cannot write JSON")?;
    json.push('\n');
    match &out {
        Some(path) => std::fs::write(path, &json)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .write_all(json.as_bytes())
            .context("cannot write to standard output")?,
    }
    if data.is_empty() {
        eprintln!(
            "Nothing is stored about {}: no call from this number.",
            number.masked()
        );
    } else {
        eprintln!(
            "{} call(s), {} step(s), {} stored answer(s), {} record(s), {} audit entr(ies) about {}{}.",
            data.calls.len(),
            data.steps.len(),
            data.responses.len(),
            data.records.len(),
            data.audit_log.len(),
            number.masked(),
            out.map(|p| format!(" written to {}", p.display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn erase(settings: &Settings, phone: &str, yes: bool) -> Outcome {
    let number = parse(phone)?;
    let interactive = std::io::stdin().is_terminal();
    if !yes && !interactive {
        return Err(CliError::unusable(
            "erasing is irreversible: pass --yes to erase when standard input is not a terminal",
        ));
    }
    let (admin, key) = open(settings).await?;
    let hash = key.caller_hash(number.e164());
    let person = Person {
        caller_hash: &hash,
        number: number.e164(),
    };
    let preview = admin.export_person(&person).await?;
    if preview.is_empty() {
        println!(
            "Nothing is stored about {}: no call from this number; nothing erased.",
            number.masked()
        );
        return Ok(());
    }
    if !yes {
        eprint!(
            "Erase the personal data of {} call(s) from {} ({} step(s), {} record link(s))? \
             This cannot be undone. Type `yes`: ",
            preview.calls.len(),
            number.masked(),
            preview.steps.len(),
            preview.record_calls.len()
        );
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        if answer.trim() != "yes" {
            println!("Nothing erased.");
            return Ok(());
        }
    }
    let erasure = admin
        .erase_person(&person, CLI_ACTOR, &audit_subject(&hash), now_ms())
        .await?;
    println!("Erased {}: {}.", number.masked(), erasure.erased);
    if !erasure.live_calls.is_empty() {
        println!(
            "{} call(s) still in progress were left: {}. Erase again once they ended.",
            erasure.live_calls.len(),
            erasure.live_calls.join(", ")
        );
    }
    Ok(())
}

async fn purge(settings: &Settings) -> Outcome {
    let days = settings
        .retention_days
        .clone()
        .map_err(CliError::unusable)?;
    let (admin, key) = open(settings).await?;
    // Nothing stops a run from the terminal but Ctrl-C, which ends the process between
    // two transactions at worst.
    let (_keep, mut stop) = tokio::sync::watch::channel(false);
    let report = retention::run_once(admin.as_ref(), &key, days, Pace::default(), &mut stop)
        .await
        .map_err(anyhow::Error::from)?;
    if report.backfilled.hashed > 0 {
        println!(
            "{} call(s) stored before the privacy migration hashed; {} of them without consent minimised.",
            report.backfilled.hashed, report.backfilled.minimised
        );
    }
    match report.purged {
        None => println!("LIZA_RETENTION_DAYS=0 keeps everything: nothing purged."),
        Some(purged) => println!("Calls older than {days} day(s): {purged}."),
    }
    Ok(())
}
