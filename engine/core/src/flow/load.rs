//! Reading flow files and locales from disk into compiled flows.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::compile::compile;
use super::raw::RawFlow;
use super::{schema, yaml, Flow};
use crate::diagnostics::{Diagnostic, Diagnostics, Position};
use crate::i18n::Locales;

/// Flow files directly inside `dir` (`*.yaml`, `*.yml`), sorted; subfolders such as `tests/` are not flows.
pub fn flow_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Hash of every locale file, so a changed translation makes a new flow version. Hashes the
/// texts the locales were built from (not the files again: they may have changed meanwhile).
fn locales_digest(locales: &Locales) -> Sha256 {
    let mut hasher = Sha256::new();
    for (name, text) in locales.sources() {
        let file = name.rsplit_once('/').map_or(name.as_str(), |(_, f)| f);
        hasher.update(file.as_bytes());
        hasher.update(text.as_bytes());
    }
    hasher
}

/// Loads and compiles one flow file against already loaded locales.
pub fn load_flow(path: &Path, locales: Arc<Locales>) -> Result<Flow, Diagnostics> {
    let source = fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic::unreadable(
            path,
            format!("cannot read flow file: {e}"),
        )])
    })?;
    let mut hasher = locales_digest(&locales);
    hasher.update(source.as_bytes());
    let version: String = hex(&hasher.finalize())[..12].to_owned();
    compile_source(path, &source, locales, version)
}

/// Compiles flow text (already read) against locales.
pub fn compile_source(
    path: &Path,
    source: &str,
    locales: Arc<Locales>,
    version: String,
) -> Result<Flow, Diagnostics> {
    let (value, spans) = yaml::parse(source).map_err(|e| {
        Diagnostics(vec![
            Diagnostic::error(path, e.position, e.message).with_source(source)
        ])
    })?;
    let mut problems = schema::check(path, source, &value, &spans);
    if problems.has_errors() {
        problems.sort();
        return Err(problems);
    }
    let raw: RawFlow = serde_json::from_value(value).map_err(|e| {
        // The schema should have caught this; still point somewhere useful.
        Diagnostics(vec![Diagnostic::error(
            path,
            Position { line: 1, column: 1 },
            format!("invalid flow: {e}"),
        )
        .with_source(source)])
    })?;
    compile(raw, path, source, &spans, locales, version)
}

/// Loads the locales and every flow in `flows_dir`. Reports all problems at once.
pub fn load_flows(flows_dir: &Path, locales_dir: &Path) -> Result<Vec<Arc<Flow>>, Diagnostics> {
    load_paths(&[flows_dir.to_path_buf()], locales_dir)
}

/// Loads the locales and the flows named by `paths` (flow files, or directories of them).
pub fn load_paths(paths: &[PathBuf], locales_dir: &Path) -> Result<Vec<Arc<Flow>>, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            match flow_files(path) {
                Ok(found) if found.is_empty() => problems.push(Diagnostic::error(
                    path,
                    Position::default(),
                    "no flow files found (expected *.yaml)",
                )),
                Ok(found) => files.extend(found),
                Err(e) => problems.push(Diagnostic::unreadable(
                    path,
                    format!("cannot read flows directory: {e}"),
                )),
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            problems.push(Diagnostic::unreadable(
                path,
                "cannot read: no such file or directory",
            ));
        }
    }
    let locales = match Locales::load(locales_dir) {
        Ok(l) => Arc::new(l),
        Err(d) => {
            problems.extend(d);
            problems.sort();
            return Err(problems);
        }
    };
    let mut flows = Vec::new();
    for file in files {
        match load_flow(&file, locales.clone()) {
            Ok(flow) => flows.push(Arc::new(flow)),
            Err(d) => problems.extend(d),
        }
    }
    let mut names = std::collections::HashMap::new();
    for flow in &flows {
        if let Some(other) = names.insert(flow.name.clone(), flow.path.clone()) {
            problems.push(Diagnostic::error(
                &flow.path,
                Position { line: 1, column: 1 },
                format!(
                    "flow name `{}` is also used by {}",
                    flow.name,
                    other.display()
                ),
            ));
        }
    }
    if problems.has_errors() {
        problems.sort();
        return Err(problems);
    }
    Ok(flows)
}

/// A hash of everything [`load_flows`] would read: the names and contents of the flow files
/// and the locale files. A listing or file that cannot be read hashes its error kind, so any
/// change to what a load would see changes the fingerprint, and nothing else does.
pub fn sources_fingerprint(flows_dir: &Path, locales_dir: &Path) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut add_listing = |label: &str, listing: std::io::Result<Vec<PathBuf>>| {
        hasher.update(label.as_bytes());
        match listing {
            Ok(files) => {
                for file in files {
                    let name = file.as_os_str().as_encoded_bytes();
                    hasher.update((name.len() as u64).to_le_bytes());
                    hasher.update(name);
                    match fs::read(&file) {
                        Ok(bytes) => {
                            hasher.update((bytes.len() as u64).to_le_bytes());
                            hasher.update(&bytes);
                        }
                        Err(e) => hasher.update(format!("unreadable: {:?}", e.kind())),
                    }
                }
            }
            Err(e) => hasher.update(format!("unlistable: {:?}", e.kind())),
        }
    };
    add_listing("flows", flow_files(flows_dir));
    add_listing("locales", crate::i18n::source_files(locales_dir));
    hasher.finalize().into()
}

/// A flow version as stored in the database (`flow_versions.source`): the flow file and every
/// locale file, so another instance can serve a call pinned to a version it never loaded.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredFlow {
    path: PathBuf,
    flow: String,
    /// (`<lang>/<file>.ftl`, text)
    locales: Vec<(String, String)>,
}

/// The stored form of `flow` (JSON).
pub fn stored_form(flow: &Flow) -> String {
    serde_json::to_string(&StoredFlow {
        path: flow.path.clone(),
        flow: flow.source.clone(),
        locales: flow.locales.sources().to_vec(),
    })
    .unwrap_or_default()
}

/// Compiles a flow version from its stored form; `version` is the one it was stored under.
pub fn from_stored(stored: &str, version: &str) -> Result<Flow, Diagnostics> {
    let stored: StoredFlow = serde_json::from_str(stored).map_err(|e| {
        Diagnostics(vec![Diagnostic::error(
            Path::new("flow_versions"),
            Position::default(),
            format!("stored flow version {version} is unreadable: {e}"),
        )])
    })?;
    let root = stored
        .path
        .parent()
        .map(|p| p.join("locales"))
        .unwrap_or_default();
    let locales = Arc::new(Locales::from_sources(&root, stored.locales)?);
    compile_source(&stored.path, &stored.flow, locales, version.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
