//! YAML → JSON value plus a span index, so that every later check (JSON Schema,
//! serde, semantics) can point back at a line and column of the user's file.
//!
//! marked-yaml keeps a position for every node; scalars are typed here the way
//! YAML 1.2's core schema does (unquoted `true`, `5`, `null`), quoted ones stay strings.

use std::collections::HashMap;

use marked_yaml::{LoaderOptions, Node};
use serde_json::{Map, Number, Value};

use crate::diagnostics::Position;

/// Where each value and each mapping key sits, keyed by JSON pointer (`/nodes/consent/next`).
#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl SpanIndex {
    /// Position of the value at `pointer`, or of its nearest ancestor.
    pub fn value(&self, pointer: &str) -> Position {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Position { line: 1, column: 1 },
            }
        }
    }

    /// True when the file has a key at `pointer`.
    pub fn has(&self, pointer: &str) -> bool {
        self.keys.contains_key(pointer)
    }

    /// Position of the key that names the value at `pointer` (falls back to the value).
    pub fn key(&self, pointer: &str) -> Position {
        self.keys
            .get(pointer)
            .copied()
            .unwrap_or_else(|| self.value(pointer))
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[derive(Debug)]
pub struct YamlError {
    pub position: Position,
    pub message: String,
}

/// Parses YAML text into a JSON value and its span index.
pub fn parse(text: &str) -> Result<(Value, SpanIndex), YamlError> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let node = marked_yaml::parse_yaml_with_options(0, text, options).map_err(load_error)?;
    let mut index = SpanIndex::default();
    let value = convert(&node, String::new(), &mut index);
    Ok((value, index))
}

fn marker_position(marker: Option<&marked_yaml::Marker>) -> Position {
    marker
        .map(|m| Position {
            line: m.line(),
            column: m.column(),
        })
        .unwrap_or(Position { line: 1, column: 1 })
}

fn load_error(e: marked_yaml::LoadError) -> YamlError {
    use marked_yaml::LoadError as E;
    let (marker, message) = match &e {
        E::TopLevelMustBeMapping(m) => (Some(*m), "a flow file must be a YAML mapping".to_string()),
        E::TopLevelMustBeSequence(m) => (Some(*m), "expected a YAML sequence".to_string()),
        E::UnexpectedAnchor(m) => (
            Some(*m),
            "YAML anchors and aliases are not supported".to_string(),
        ),
        E::MappingKeyMustBeScalar(m) => (Some(*m), "mapping keys must be plain names".to_string()),
        E::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported".to_string()),
        E::ScanError(m, err) => (Some(*m), plain_words(err.info())),
        E::DuplicateKey(inner) => (
            inner.key.span().start().copied(),
            format!("duplicate key `{}`", inner.key.as_str()),
        ),
    };
    YamlError {
        position: marker_position(marker.as_ref()),
        message,
    }
}

/// The YAML scanner's message in words staff understand, for the mistakes they make most;
/// the scanner's own words follow in brackets.
fn plain_words(info: &str) -> String {
    let plain = if info.contains("tab") {
        "this line is indented with a tab: YAML indents with spaces only (replace the tab with spaces)"
    } else if info.contains("mapping values are not allowed") {
        "this line is indented further than the one before it, or a value holds `: ` (keys at the same level must line up; put such a value in quotes)"
    } else if info.contains("did not find expected key") {
        "a line here does not line up with the keys before it: keys at the same level must start in the same column"
    } else if info.contains("found character that cannot start any token") {
        "this character cannot start a value: put the value in quotes"
    } else {
        return format!("invalid YAML: {info}");
    };
    format!("{plain} [YAML: {info}]")
}

fn convert(node: &Node, pointer: String, index: &mut SpanIndex) -> Value {
    index
        .values
        .insert(pointer.clone(), marker_position(node.span().start()));
    match node {
        Node::Scalar(s) => scalar(s.as_str(), s.may_coerce()),
        Node::Sequence(seq) => Value::Array(
            seq.iter()
                .enumerate()
                .map(|(i, item)| convert(item, format!("{pointer}/{i}"), index))
                .collect(),
        ),
        Node::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map.iter() {
                let child = format!("{pointer}/{}", pointer_segment(key.as_str()));
                index
                    .keys
                    .insert(child.clone(), marker_position(key.span().start()));
                let v = convert(value, child, index);
                out.insert(key.as_str().to_owned(), v);
            }
            Value::Object(out)
        }
    }
}

fn scalar(text: &str, may_coerce: bool) -> Value {
    if !may_coerce {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    // A leading `+` is kept as text: `+1` in a flow is a phone prefix, not a number.
    if !text.starts_with('+') {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if text.contains('.') {
            if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
                return Value::Number(n);
            }
        }
    }
    Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_scalars_and_records_positions() {
        let (value, index) = parse("a: 5\nb: \"5\"\nc:\n  - x: true\n    y: +1\n").unwrap();
        assert_eq!(value["a"], Value::from(5));
        assert_eq!(value["b"], Value::from("5"));
        assert_eq!(value["c"][0]["x"], Value::Bool(true));
        assert_eq!(value["c"][0]["y"], Value::from("+1"));
        assert_eq!(index.value("/c/0/y"), Position { line: 5, column: 8 });
        assert_eq!(index.key("/c/0/y"), Position { line: 5, column: 5 });
        assert_eq!(
            index.value("/c/0/missing").line,
            4,
            "falls back to the enclosing mapping"
        );
    }

    #[test]
    fn reports_duplicate_keys_with_position() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.position.line, 2);
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn tabs_and_misaligned_keys_are_said_in_plain_words_at_their_line() {
        let tab = parse("name: x\nlanguages:\n\tdefault: de-DE\n").unwrap_err();
        assert_eq!(tab.position.line, 3);
        assert!(
            tab.message.starts_with("this line is indented with a tab"),
            "{}",
            tab.message
        );
        let indent = parse("a:\n  kind: hangup\n   say: goodbye\n").unwrap_err();
        assert_eq!(indent.position.line, 3);
        assert!(
            indent
                .message
                .starts_with("this line is indented further than the one before it"),
            "{}",
            indent.message
        );
    }
}
