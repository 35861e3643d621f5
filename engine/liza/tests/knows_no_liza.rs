//! The engine knows nothing of Liza: no Rust source outside tests names Liza's record kind
//! or says one of her texts. Those live in flows/liza.yaml and locales/*/liza.ftl; the engine
//! reads them from there (the dashboard's kinds, `liza dev seed`, the bare ceiling server).

use std::path::{Path, PathBuf};

/// Places that may still name Liza's words, each with the reason.
const ALLOWED: &[(&str, &str)] = &[
    (
        "engine/loadtest/src/lib.rs",
        "the load tester's default `--answer` script plays Liza's call (bench/webhooks.sh relies \
         on it); another flow's calls are scripted with `--answer WEBHOOK=DIGITS`",
    ),
    (
        "engine/liza/src/settings.rs",
        "the defaults of COMPANY_NAME and VOICE_NAME are this deployment's settings (README, \
         env.example): values for `$company` and a fallback voice, not texts of a flow",
    ),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `engine/*/src`, without unit-test files.
fn sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("engine"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(out.len() > 40, "sources found: {}", out.len());
    out
}

/// The code of a file before its unit tests (`#[cfg(test)]` comes last in this repo).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The string literals of a line of code (plain and raw strings; escapes kept as written).
fn literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let end = after
                .char_indices()
                .scan(false, |escaped, (i, c)| {
                    let this = (i, c, *escaped);
                    *escaped = c == '\\' && !*escaped;
                    Some(this)
                })
                .find(|(_, c, escaped)| *c == '"' && !escaped)
                .map(|(i, _, _)| i);
            let Some(end) = end else { break };
            out.push(after[..end].to_owned());
            rest = &after[end + 1..];
        }
    }
    out
}

/// Liza's record kinds, from her flow's `records:`.
fn liza_kinds() -> Vec<String> {
    let flow = std::fs::read_to_string(repo().join("flows/liza.yaml")).unwrap();
    let records = flow.split("\nrecords:\n").nth(1).unwrap();
    records
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':').to_owned())
        .collect()
}

/// The start of every text Liza says (up to its first variable), from locales/*/liza.ftl.
fn liza_texts() -> Vec<String> {
    let mut out = Vec::new();
    for lang in ["de", "en"] {
        let ftl = std::fs::read_to_string(repo().join(format!("locales/{lang}/liza.ftl"))).unwrap();
        for line in ftl.lines() {
            let Some((id, value)) = line.split_once(" = ") else {
                continue;
            };
            if id.starts_with(['#', ' ', '.']) {
                continue;
            }
            let text = value.split('{').next().unwrap().trim();
            if text.chars().count() >= 12 {
                out.push(text.to_owned());
            }
        }
    }
    assert!(out.len() > 20, "texts found: {out:?}");
    out
}

/// `text` without `{…}` (format! placeholders name variables, not kinds).
fn without_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn allowed(path: &Path, found: &str) -> bool {
    let shown = path
        .strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string();
    ALLOWED
        .iter()
        .any(|(place, _)| shown.ends_with(place) || found.contains(place))
}

#[test]
fn no_engine_source_names_lizas_record_kinds() {
    let kinds = liza_kinds();
    assert_eq!(kinds, ["order"], "flows/liza.yaml declares these kinds");
    let mut found = Vec::new();
    for path in sources() {
        for literal in literals(&code_of(&path)) {
            // SQL's `ORDER BY` is no record kind, nor is a `{placeholder}` of format!.
            let words = without_placeholders(&literal.replace("ORDER BY", ""));
            let hit = kinds.iter().any(|kind| {
                words
                    .to_lowercase()
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|word| word == kind || *word == format!("{kind}s"))
            });
            if hit && !allowed(&path, &literal) {
                found.push(format!("{}: \"{literal}\"", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Liza's record kinds named in engine code (take them from the flow):\n{}",
        found.join("\n")
    );
}

#[test]
fn no_engine_source_says_lizas_texts() {
    let texts = liza_texts();
    let mut found = Vec::new();
    for path in sources() {
        let code = code_of(&path);
        for text in &texts {
            if code.contains(text.as_str()) && !allowed(&path, text) {
                found.push(format!("{}: {text}", path.display()));
            }
        }
    }
    // Her voice and company are hers too.
    for path in sources() {
        let code = code_of(&path);
        for word in ["Polly.Vicki", "Liza Shop", "Bestellnummer"] {
            if code.contains(word) && !allowed(&path, word) {
                found.push(format!("{}: {word}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Liza's texts in engine code (take them from the locales):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checks_find_what_they_look_for() {
    let code =
        r#"let kind = "order"; let q = "SELECT 1 ORDER BY id"; let s = "say \"hi\" orders";"#;
    let literals = literals(code);
    assert_eq!(
        literals,
        ["order", "SELECT 1 ORDER BY id", r#"say \"hi\" orders"#]
    );
    assert_eq!(
        without_placeholders("ORDER BY {order} LIMIT"),
        "ORDER BY  LIMIT"
    );
    assert!(liza_texts()
        .iter()
        .any(|t| t.starts_with("Please type your order number")));
}
