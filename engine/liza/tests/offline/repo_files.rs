//! Every flow, locale and schema file the project ships is loaded and checked here.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files_with(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_with(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_flow_loads_with_its_locales() {
    let repo = repo();
    let liza = liza::flow::load_flows(&repo.join("flows"), &repo.join("locales"))
        .unwrap_or_else(|d| panic!("{d}"));
    assert!(liza.iter().any(|f| f.name == "liza"));
    let examples = liza::flow::load_flows(&repo.join("examples"), &repo.join("examples/locales"))
        .unwrap_or_else(|d| panic!("{d}"));
    assert!(examples.iter().any(|f| f.name == "support-line"));
    // Nothing in those folders is skipped: each YAML at their top level became a flow.
    let shipped = liza::flow::load::flow_files(&repo.join("flows"))
        .unwrap()
        .len()
        + liza::flow::load::flow_files(&repo.join("examples"))
            .unwrap()
            .len();
    assert_eq!(liza.len() + examples.len(), shipped);
}

#[test]
fn every_shipped_locale_file_parses() {
    let repo = repo();
    let mut ftl = Vec::new();
    files_with(&repo.join("locales"), "ftl", &mut ftl);
    files_with(&repo.join("examples"), "ftl", &mut ftl);
    assert!(ftl.len() >= 4);
    for file in &ftl {
        let text = std::fs::read_to_string(file).unwrap();
        if let Err((_, errors)) = fluent_bundle::FluentResource::try_new(text) {
            panic!("{}: {errors:?}", file.display());
        }
    }
    for dir in [repo.join("locales"), repo.join("examples/locales")] {
        liza::i18n::Locales::load(&dir).unwrap_or_else(|d| panic!("{d}"));
    }
}

#[test]
fn every_flow_starts_with_the_schema_line_for_editors() {
    let repo = repo();
    for dir in ["flows", "examples"] {
        for file in liza::flow::load::flow_files(&repo.join(dir)).unwrap() {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.starts_with("# yaml-language-server: $schema=../schemas/flow.schema.json"),
                "{} should start with the yaml-language-server schema line",
                file.display()
            );
        }
    }
}

#[test]
fn the_schema_passes_its_meta_schema() {
    let schema = liza::flow::schema::schema_value();
    jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

/// Every property, definition and variant carries a description for editors.
#[test]
fn every_schema_property_is_described() {
    fn walk(value: &Value, pointer: &str, missing: &mut Vec<String>) {
        let Value::Object(map) = value else { return };
        for (section, must_describe) in [("properties", true), ("$defs", true)] {
            if let Some(Value::Object(children)) = map.get(section) {
                for (name, child) in children {
                    let at = format!("{pointer}/{section}/{name}");
                    if must_describe
                        && child
                            .get("description")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                    {
                        missing.push(at.clone());
                    }
                    walk(child, &at, missing);
                }
            }
        }
        for key in ["additionalProperties", "items"] {
            if let Some(child) = map.get(key) {
                walk(child, &format!("{pointer}/{key}"), missing);
            }
        }
        for key in ["oneOf", "allOf", "anyOf"] {
            if let Some(Value::Array(items)) = map.get(key) {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{pointer}/{key}/{i}"), missing);
                }
            }
        }
    }
    let mut missing = Vec::new();
    walk(&liza::flow::schema::schema_value(), "", &mut missing);
    assert!(missing.is_empty(), "undescribed: {missing:?}");
}

#[test]
fn project_files_only_point_at_documents_in_the_repository() {
    // Spelled in two pieces so this file does not match itself.
    let outside = ["shared", "/"].concat();
    let mut offenders = Vec::new();
    fn walk(dir: &Path, outside: &str, offenders: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(
                    name.as_str(),
                    "target" | ".git" | "node_modules" | "test-artifacts" | "data"
                ) {
                    walk(&path, outside, offenders);
                }
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                for (i, line) in text.lines().enumerate() {
                    if line.contains(outside) {
                        offenders.push(format!("{}:{}: {line}", path.display(), i + 1));
                    }
                }
            }
        }
    }
    walk(&repo(), &outside, &mut offenders);
    assert!(
        offenders.is_empty(),
        "these point at documents outside the repository (move what they need into docs/):\n{}",
        offenders.join("\n")
    );
    for doc in ["docs/twilio.md", "docs/liza-call.md"] {
        assert!(repo().join(doc).is_file(), "{doc} is missing");
    }
}
