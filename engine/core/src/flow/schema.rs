//! JSON Schema (2020-12) check of a flow file, with errors mapped back to positions.

use std::path::Path;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::Validator;
use serde_json::Value;

use super::yaml::SpanIndex;
use crate::diagnostics::{did_you_mean, Diagnostic, Diagnostics};

/// The schema shipped in `schemas/flow.schema.json`, built into the binary.
pub const FLOW_SCHEMA: &str = include_str!("../../../../schemas/flow.schema.json");

pub fn schema_value() -> Value {
    serde_json::from_str(FLOW_SCHEMA).expect("schemas/flow.schema.json is valid JSON")
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::draft202012::new(&schema_value())
            .expect("schemas/flow.schema.json is a valid schema")
    })
}

/// The node a JSON pointer is inside, if any.
pub fn node_of(pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix("/nodes/")?;
    let name = rest.split('/').next()?;
    Some(name.replace("~1", "/").replace("~0", "~"))
}

/// Every schema violation in `value`, pointing into `file`.
pub fn check(file: &Path, source: &str, value: &Value, spans: &SpanIndex) -> Diagnostics {
    let mut out = Diagnostics::default();
    for error in validator().iter_errors(value) {
        let pointer = error.instance_path().as_str().to_owned();
        let (position, message) = match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let name = unexpected.first().cloned().unwrap_or_default();
                let key_pointer = format!("{pointer}/{}", super::yaml::pointer_segment(&name));
                let allowed = allowed_properties(value, &pointer);
                (
                    spans.key(&key_pointer),
                    format!(
                        "unknown field `{name}`{}",
                        did_you_mean(&name, allowed.iter().map(String::as_str))
                    ),
                )
            }
            ValidationErrorKind::Enum { options } if pointer.ends_with("/kind") => {
                let kinds: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let given = error.instance().as_str().unwrap_or_default().to_owned();
                (
                    spans.value(&pointer),
                    format!(
                        "unknown node kind `{given}`{} (known kinds: {})",
                        did_you_mean(&given, kinds.iter().map(String::as_str)),
                        kinds.join(", ")
                    ),
                )
            }
            ValidationErrorKind::Required { property } => (
                spans.key(&pointer),
                format!(
                    "missing required field `{}`",
                    property.as_str().unwrap_or_default()
                ),
            ),
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => article(&t.to_string()),
                    TypeKind::Multiple(ts) => format!(
                        "one of {}",
                        ts.iter()
                            .map(|t| t.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                (
                    spans.value(&pointer),
                    format!(
                        "`{}` must be {expected}, not `{}`",
                        field_of(&pointer),
                        shown(error.instance())
                    ),
                )
            }
            ValidationErrorKind::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(shown).collect())
                    .unwrap_or_default();
                (
                    spans.value(&pointer),
                    format!(
                        "`{}` must be one of {}, not `{}`{}",
                        field_of(&pointer),
                        allowed.join(", "),
                        shown(error.instance()),
                        did_you_mean(&shown(error.instance()), allowed.iter().map(String::as_str))
                    ),
                )
            }
            ValidationErrorKind::Pattern { pattern } => (
                spans.value(&pointer),
                format!(
                    "`{}` value `{}` does not match the pattern `{pattern}`",
                    field_of(&pointer),
                    shown(error.instance())
                ),
            ),
            _ => (
                spans.value(&pointer),
                format!("`{}`: {error}", field_of(&pointer)),
            ),
        };
        let mut d = Diagnostic::error(file, position, message).with_source(source);
        if let Some(node) = node_of(&pointer) {
            d = d.in_node(node);
        }
        out.push(d);
    }
    out
}

/// The last segment of a pointer: the field a value belongs to (the list's, for an item of
/// a list).
fn field_of(pointer: &str) -> String {
    let mut segments = pointer.rsplit('/');
    let last = segments.next().unwrap_or_default();
    let field = |s: &str| s.replace("~1", "/").replace("~0", "~");
    match segments.next() {
        Some(list) if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) => field(list),
        _ => field(last),
    }
}

/// A JSON value as the user wrote it (strings without quotes).
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn article(type_name: &str) -> String {
    match type_name {
        "integer" | "object" | "array" => format!("an {type_name}"),
        other => format!("a {other}"),
    }
}

/// The property names the schema allows at `pointer`, for suggestions.
fn allowed_properties(instance: &Value, pointer: &str) -> Vec<String> {
    let schema = schema_value();
    let defs = &schema["$defs"];
    let section = if let Some(node) = node_of(pointer) {
        let kind = instance["nodes"][&node]["kind"]
            .as_str()
            .unwrap_or_default();
        if pointer.matches('/').count() != 2 {
            return Vec::new();
        }
        defs[format!("node-{kind}")].clone()
    } else if pointer.is_empty() {
        schema.clone()
    } else if pointer == "/languages" {
        defs["languages"].clone()
    } else {
        return Vec::new();
    };
    section["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}
