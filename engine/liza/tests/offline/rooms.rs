//! The rooms of ARCHITECTURE.md, checked against the crates: the table of who may use whom is
//! the workspace's dependency graph, and the core stays free of I/O crates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(repo())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Crates that do I/O: a runtime, a database driver, an HTTP server or client, file watching.
const IO_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "sqlx",
    "rusqlite",
    "libsqlite3-sys",
    "poem",
    "hyper",
    "reqwest",
    "notify",
    "async-trait",
    "flume",
];

/// Every crate the core depends on, however indirectly (normal dependencies, this platform).
fn core_dependencies() -> BTreeSet<String> {
    cargo(&[
        "tree",
        "-p",
        "liza-core",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
        "--offline",
    ])
    .lines()
    .filter_map(|line| line.split_whitespace().next())
    .map(str::to_owned)
    .collect()
}

#[test]
fn the_core_has_no_io_crate_among_its_dependencies() {
    let deps = core_dependencies();
    assert!(
        deps.contains("liza-core"),
        "cargo tree listed the core: {deps:?}"
    );
    let found: Vec<&&str> = IO_CRATES.iter().filter(|c| deps.contains(**c)).collect();
    assert!(
        found.is_empty(),
        "liza-core must stay pure (ARCHITECTURE.md), but depends on {found:?}; \
         `cargo tree -p liza-core -i CRATE` shows the path"
    );
}

/// The workspace's own crates and which of them each one depends on, from `cargo metadata`.
fn workspace_graph() -> BTreeMap<String, BTreeSet<String>> {
    let metadata: serde_json::Value = serde_json::from_str(&cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]))
    .expect("cargo metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| names.contains(d))
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

/// The rows of the first table under `heading` in ARCHITECTURE.md, as trimmed cells (the
/// first cell without its backticks).
fn table(heading: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let section = text
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has a `{heading}` section"));
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            let mut cells: Vec<String> = row.split('|').map(|c| c.trim().to_owned()).collect();
            cells[1] = cells[1].trim_matches('`').to_owned();
            cells
        })
        .collect()
}

/// The "Rooms" table of ARCHITECTURE.md: `| `crate` | … | may use | … |` rows.
fn documented_graph() -> BTreeMap<String, BTreeSet<String>> {
    table("## Rooms")
        .into_iter()
        .map(|cells| {
            let uses = cells[3]
                .split(',')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .filter(|c| !c.is_empty() && c != "—")
                .collect();
            (cells[1].clone(), uses)
        })
        .collect()
}

#[test]
fn architecture_md_names_every_crate_and_exactly_what_it_uses() {
    let actual = workspace_graph();
    let documented = documented_graph();
    assert_eq!(
        documented.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "the Rooms table of ARCHITECTURE.md lists other crates than the workspace"
    );
    for (name, uses) in &actual {
        assert_eq!(
            &documented[name], uses,
            "ARCHITECTURE.md says `{name}` may use {:?}, its Cargo.toml says {uses:?}",
            documented[name]
        );
    }
}

/// The "Inside the core" table: a module of `liza-core` and the modules it may use.
fn core_table() -> BTreeMap<String, BTreeSet<String>> {
    let rows: Vec<(String, String)> = table("## Inside the core")
        .into_iter()
        .map(|cells| (cells[1].clone(), cells[3].clone()))
        .collect();
    let names: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
    // A module may use the modules listed above it, except those its "must not touch" names.
    rows.iter()
        .enumerate()
        .map(|(i, (name, forbidden))| {
            let allowed = names[..i]
                .iter()
                .filter(|m| !forbids(forbidden, m))
                .cloned()
                .collect();
            (name.clone(), allowed)
        })
        .collect()
}

/// Whether a "must not touch" cell names module `m` (by its name or what it is called there).
fn forbids(cell: &str, m: &str) -> bool {
    let words: &[&str] = match m {
        "flow" => &["flows"],
        "i18n" => &["Fluent"],
        "runtime" => &["the state machine"],
        "twiml" => &["TwiML"],
        _ => &[],
    };
    cell.contains("every other module") || words.iter().any(|w| cell.contains(w))
}

/// The core's modules a file uses through `crate::…`.
fn crate_uses(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in source.match_indices("crate::") {
        if source[..i].ends_with('$') {
            continue;
        }
        let rest = &source[i + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(|s| s.trim().split("::").next().unwrap_or(""))
                .collect()
        } else {
            vec![rest
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()
                .unwrap_or("")]
        };
        found.extend(
            names
                .into_iter()
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        );
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_modules_use_only_what_the_inside_the_core_table_allows() {
    let table = core_table();
    let src = repo().join("engine/core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut seen = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let allowed = table.get(&module).unwrap_or_else(|| {
            panic!(
                "engine/core/src/{} is module `{module}`, which the table does not list",
                relative.display()
            )
        });
        seen.insert(module.clone());
        let source = std::fs::read_to_string(&file).unwrap();
        for used in crate_uses(&source) {
            assert!(
                used == module || used == "model" || allowed.contains(&used),
                "engine/core/src/{} (module `{module}`) uses `crate::{used}`; \
                 ARCHITECTURE.md allows it {allowed:?}",
                relative.display()
            );
        }
    }
    assert_eq!(
        seen,
        table.keys().cloned().collect(),
        "every listed module exists"
    );
}
