//! `liza records import FILE.csv`: records from the shop's system, written as the records API
//! writes them (created or updated, every change audited as `liza records import`).
//!
//! The file is CSV (RFC 4180: `,` separated, `"` quoted, `""` for a quote) with a header
//! naming the columns `key` and `status` and/or `notes`, in any order. Every row is checked
//! against the kind's statuses before anything is written.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use liza_core::flow::load_paths;
use liza_store::now_ms;
use liza_store::records_api::{ImportCounts, RecordWrite};

use super::{CliError, Outcome};
use crate::settings::Settings;
use crate::startup::open_store;

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Create or update records from a CSV file with a header: key,status,notes (status or
    /// notes may be left out). Nothing is written if a row is wrong.
    Import {
        file: PathBuf,
        /// The record kind (default: the only one the flows declare).
        #[arg(long)]
        kind: Option<String>,
    },
}

/// Who the audit log names for imported changes.
const ACTOR: &str = "liza records import";
/// Records written per transaction.
const BATCH: usize = 500;
/// Bad rows reported at most.
const MAX_ROW_ERRORS: usize = 20;

pub async fn run(settings: &Settings, command: RecordsCommand) -> Outcome {
    match command {
        RecordsCommand::Import { file, kind } => import(settings, &file, kind.as_deref()).await,
    }
}

async fn import(settings: &Settings, file: &PathBuf, kind: Option<&str>) -> Outcome {
    let flows = load_paths(
        std::slice::from_ref(&settings.flows_dir),
        &settings.locales_dir,
    )
    .map_err(|d| {
        CliError::unusable(format!(
            "{} problem(s) in the flows; run `liza check`",
            d.error_count()
        ))
    })?;
    let mut kinds: Vec<(String, Vec<String>, String)> = Vec::new();
    for flow in &flows {
        for (name, declared) in &flow.records {
            if !kinds.iter().any(|(n, ..)| n == name) {
                kinds.push((
                    name.clone(),
                    declared.statuses.clone(),
                    declared.initial.clone(),
                ));
            }
        }
    }
    let names: Vec<&str> = kinds.iter().map(|(n, ..)| n.as_str()).collect();
    let chosen = match (kind, kinds.as_slice()) {
        (Some(kind), _) => kinds.iter().find(|(n, ..)| n == kind).ok_or_else(|| {
            CliError::unusable(format!(
                "no record kind `{kind}` (the flows declare: {})",
                names.join(", ")
            ))
        })?,
        (None, [only]) => only,
        (None, _) => {
            return Err(CliError::unusable(format!(
                "name the record kind with --kind ({})",
                names.join(", ")
            )))
        }
    };
    let (kind, statuses, initial) = chosen;
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::unusable(format!("{}: cannot read: {e}", file.display())))?;
    let writes = rows(&text, statuses).map_err(|problems| {
        CliError::unusable(format!(
            "{}: nothing was written:\n{}",
            file.display(),
            problems.join("\n")
        ))
    })?;
    let store = open_store(settings).await?;
    let api = store
        .records_api()
        .context("this database backend has no records")?;
    let mut total = ImportCounts::default();
    for batch in writes.chunks(BATCH) {
        let counts = api
            .import_records(kind, initial, batch, ACTOR, now_ms())
            .await?;
        total.created += counts.created;
        total.updated += counts.updated;
        total.unchanged += counts.unchanged;
    }
    store.close().await;
    println!(
        "{} {kind} record(s) read: {} created, {} updated, {} unchanged.",
        writes.len(),
        total.created,
        total.updated,
        total.unchanged
    );
    Ok(())
}

/// The file's rows as writes; Err: what is wrong, row by row (at most [`MAX_ROW_ERRORS`]).
fn rows(text: &str, statuses: &[String]) -> Result<Vec<RecordWrite>, Vec<String>> {
    let records = parse_csv(text).map_err(|e| vec![e])?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(vec![
            "the file is empty; its first line names the columns: key,status,notes".into(),
        ]);
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(key_at), status_at, notes_at) = (column("key"), column("status"), column("notes"))
    else {
        return Err(vec![format!(
            "line 1: the header names no `key` column (it has: {}); write e.g. key,status,notes",
            header.join(",")
        )]);
    };
    if status_at.is_none() && notes_at.is_none() {
        return Err(vec![
            "line 1: the header names neither `status` nor `notes`".into(),
        ]);
    }
    let mut writes = Vec::new();
    let mut problems = Vec::new();
    for (line, fields) in records {
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |at: Option<usize>| at.and_then(|i| fields.get(i)).map(|f| f.trim().to_owned());
        let key = get(Some(key_at)).unwrap_or_default();
        let status = get(status_at).filter(|s| !s.is_empty());
        let notes = notes_at.and_then(|i| fields.get(i)).cloned();
        let problem = if key.is_empty() || key.chars().count() > 64 {
            Some("the key is empty or longer than 64 characters".to_owned())
        } else if let Some(status) = status.as_ref().filter(|s| !statuses.contains(s)) {
            Some(format!(
                "status `{status}` is not one of: {}",
                statuses.join(", ")
            ))
        } else if notes.as_ref().is_some_and(|n| n.chars().count() > 2_000) {
            Some("notes are at most 2000 characters".to_owned())
        } else {
            None
        };
        match problem {
            Some(problem) if problems.len() < MAX_ROW_ERRORS => {
                problems.push(format!("line {line}: {problem}"))
            }
            Some(_) => {}
            None => writes.push(RecordWrite { key, status, notes }),
        }
    }
    if problems.is_empty() {
        Ok(writes)
    } else {
        Err(problems)
    }
}

/// RFC 4180 CSV: records with the line each starts on. Quoted fields may hold commas, quotes
/// (`""`) and line breaks.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                out.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {start}: a quote `\"` is never closed"));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        out.push((start, fields));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted_with_commas_quotes_and_line_breaks() {
        let rows = parse_csv("key,status,notes\r\n1,shipped,\"a, \"\"b\"\"\nc\"\n2,,\n").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1],
            (2, vec!["1".into(), "shipped".into(), "a, \"b\"\nc".into()])
        );
        assert_eq!(rows[2].0, 4);
        assert!(parse_csv("key\n\"open").is_err());
    }

    #[test]
    fn rows_are_checked_against_the_kinds_statuses() {
        let statuses = vec!["received".to_owned(), "shipped".to_owned()];
        let writes = rows("notes,key,status\nhi,42,shipped\n,43,\n", &statuses).unwrap();
        assert_eq!(writes.len(), 2);
        assert_eq!(writes[0].key, "42");
        assert_eq!(writes[0].status.as_deref(), Some("shipped"));
        assert_eq!(writes[1].status, None);
        let problems = rows("key,status\n42,lost\n,shipped\n", &statuses).unwrap_err();
        assert_eq!(
            problems,
            [
                "line 2: status `lost` is not one of: received, shipped",
                "line 3: the key is empty or longer than 64 characters"
            ]
        );
        assert!(rows("id,status\n1,shipped\n", &statuses).unwrap_err()[0].contains("no `key`"));
    }
}
