//! The `set` node's values: a literal, another variable (`$order_number`) or text with
//! placeholders written as in Fluent (`ORD-{ $order_number }`).
//!
//! Pure: parsing happens when the flow compiles, rendering when the call passes the node.

use std::collections::BTreeMap;

/// One piece of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Var(String),
}

/// A value as the `set` node writes it, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Part>);

/// What is wrong with a value, and at which character of it (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Template {
    /// Parses a value: `$name` alone copies a variable; otherwise `{ $name }` places one
    /// inside text (spaces inside the braces optional). `{{` and `}}` write a brace.
    pub fn parse(value: &str) -> Result<Self, TemplateError> {
        if let Some(name) = value.strip_prefix('$') {
            if is_name(name) {
                return Ok(Self(vec![Part::Var(name.to_owned())]));
            }
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = value;
        let mut offset = 0;
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("{{") || rest.starts_with("}}") {
                text.push(c);
                rest = &rest[2..];
                offset += 2;
                continue;
            }
            if c == '}' {
                return Err(TemplateError {
                    offset,
                    message: "a `}` closes no placeholder (write `}}` for a brace)".into(),
                });
            }
            if c != '{' {
                text.push(c);
                rest = &rest[c.len_utf8()..];
                offset += c.len_utf8();
                continue;
            }
            let Some(end) = rest.find('}') else {
                return Err(TemplateError {
                    offset,
                    message: "this `{` is never closed: a placeholder is written `{ $variable }` (write `{{` for a brace)".into(),
                });
            };
            let inner = rest[1..end].trim();
            let Some(name) = inner.strip_prefix('$').filter(|n| is_name(n)) else {
                return Err(TemplateError {
                    offset,
                    message: format!(
                        "`{}` is not a placeholder: write `{{ $variable }}` with a variable's name (lower case, digits, `_`)",
                        &rest[..=end]
                    ),
                });
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Var(name.to_owned()));
            rest = &rest[end + 1..];
            offset += end + 1;
        }
        if !text.is_empty() || parts.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self(parts))
    }

    /// The variables the value reads, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Part::Var(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The one variable this value copies, when it is exactly `$name`.
    pub fn copies(&self) -> Option<&str> {
        match &self.0[..] {
            [Part::Var(name)] => Some(name),
            _ => None,
        }
    }

    /// The value for a call whose variables are `vars` (an unset variable reads as empty).
    pub fn render(&self, vars: &BTreeMap<String, String>) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Var(name) => vars.get(name).map_or("", String::as_str),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("order_number".into(), "12345".into()),
            ("topic".into(), "order".into()),
        ])
    }

    #[test]
    fn literals_copies_and_concatenations_render() {
        let cases = [
            ("sales", "sales"),
            ("", ""),
            ("$order_number", "12345"),
            ("ORD-{ $order_number }", "ORD-12345"),
            ("{$topic}/{ $order_number }!", "order/12345!"),
            ("{{ $topic }}", "{ $topic }"),
            ("costs $5", "costs $5"),
            ("{ $unset }-x", "-x"),
        ];
        for (value, expected) in cases {
            let template = Template::parse(value).unwrap();
            assert_eq!(template.render(&vars()), expected, "{value}");
        }
        assert_eq!(
            Template::parse("$order_number").unwrap().copies(),
            Some("order_number")
        );
        assert_eq!(Template::parse("x{ $topic }").unwrap().copies(), None);
        assert_eq!(
            Template::parse("{ $topic }{$order_number}")
                .unwrap()
                .variables()
                .collect::<Vec<_>>(),
            ["topic", "order_number"]
        );
    }

    #[test]
    fn broken_placeholders_say_where_and_how_to_write_them() {
        let open = Template::parse("ORD-{ $order_number").unwrap_err();
        assert_eq!(open.offset, 4);
        assert!(open.message.contains("never closed"), "{}", open.message);
        let not_var = Template::parse("a { order_number }").unwrap_err();
        assert_eq!(not_var.offset, 2);
        assert!(
            not_var
                .message
                .contains("`{ order_number }` is not a placeholder"),
            "{}",
            not_var.message
        );
        let close = Template::parse("a } b").unwrap_err();
        assert_eq!(close.offset, 2);
    }
}
