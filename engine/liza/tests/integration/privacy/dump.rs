//! The whole database as text: every table, every column cast to text, one line per row.
//! What a privacy test searches for a number, a text or digits a call produced.

use sqlx::{AnyPool, Row};

/// Every row of every table of the database behind `pool` (`url` says which backend).
pub async fn full_dump(pool: &AnyPool, url: &str) -> String {
    let sqlite = url.starts_with("sqlite:");
    let tables_sql = if sqlite {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    } else {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
    };
    let tables: Vec<String> = sqlx::query_scalar(tables_sql)
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(tables.iter().any(|t| t == "calls"), "{tables:?}");
    let mut dump = String::new();
    for table in tables {
        let columns_sql = if sqlite {
            format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
        } else {
            format!(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = '{table}'
                 ORDER BY ordinal_position"
            )
        };
        let columns: Vec<String> = sqlx::query_scalar(&columns_sql)
            .fetch_all(pool)
            .await
            .unwrap();
        // SQLite's blobs as hex (their bytes are not text); PostgreSQL casts bytea to hex.
        let select = columns
            .iter()
            .map(|c| match sqlite {
                true => format!(
                    "CASE WHEN typeof(\"{c}\") = 'blob' THEN hex(\"{c}\") ELSE CAST(\"{c}\" AS TEXT) END"
                ),
                false => format!("CAST(\"{c}\" AS TEXT)"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!("SELECT {select} FROM \"{table}\""))
            .fetch_all(pool)
            .await
            .unwrap();
        for row in rows {
            let values: Vec<String> = (0..row.len())
                .map(|i| {
                    let value: Option<String> = row.get(i);
                    value.unwrap_or_else(|| "NULL".into())
                })
                .collect();
            dump.push_str(&format!("{table}: {}\n", values.join(" | ")));
        }
    }
    dump
}

/// The lines of `dump` that contain `needle`.
pub fn lines_with<'a>(dump: &'a str, needle: &str) -> Vec<&'a str> {
    dump.lines().filter(|l| l.contains(needle)).collect()
}
