//! `liza admin`: dashboard users and API tokens.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use secrecy::SecretString;

use liza_store::admin::{AdminStore, PasswordSet};
use liza_store::now_ms;
use liza_web::auth::{self, MIN_PASSWORD_LEN};
use liza_web::dashboard::format_datetime;

use super::Outcome;
use crate::settings::Settings;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
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
        /// What the token may do: `dashboard` (the dashboard's JSON API) or `records` (only
        /// the records API, for the shop's system).
        #[arg(long, default_value = "dashboard", value_parser = ["dashboard", "records"])]
        scope: String,
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

/// The dashboard's store behind `settings`' database.
pub async fn admin_store(settings: &Settings) -> anyhow::Result<Arc<dyn AdminStore>> {
    open_store(settings)
        .await?
        .admin()
        .context("this database backend has no dashboard tables")
}

pub async fn run(settings: &Settings, command: AdminCommand) -> Outcome {
    Ok(admin_command(settings, command).await?)
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
            scope,
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
            if scope != liza_store::records_api::scope::DASHBOARD {
                open_store(settings)
                    .await?
                    .records_api()
                    .context("this database backend has no records")?
                    .set_api_token_scope(id, &scope)
                    .await?;
            }
            // The token alone on stdout, so `TOKEN=$(liza admin add-token …)` works.
            println!("{token}");
            eprintln!(
                "API token {id} for `{name}` ({label}, scope {scope}); expires: {}.",
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
pub(super) fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
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
