//! The parts of a `fetch` node: the systems it talks to (`connections:`), URL and header
//! templates with flow variables (`{order_number}`) and environment values
//! (`${env:SHOP_API_TOKEN}`), JSON pointers into the answer, and the outcomes' targets.
//!
//! Pure: the environment is never read here. A template keeps its `${env:…}` pieces; the
//! adapter that performs the request fills them in ([`Template::resolve`]).

use super::NodeId;

/// The timeout of a fetch when the node names none.
pub const DEFAULT_TIMEOUT_MS: u32 = 2_000;
/// The longest timeout a node may ask for: Twilio waits 15 s for the whole webhook, and the
/// turn still has to be stored after the answer.
pub const MAX_TIMEOUT_MS: u32 = 5_000;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// `{name}`: a flow variable, URL-encoded where it goes into a URL.
    Var(String),
    /// `${env:NAME}`: a value from the environment (a secret, a base URL).
    Env(String),
}

/// A text with `{variable}` and `${env:NAME}` pieces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template(pub Vec<Piece>);

impl Template {
    /// Reads `text`. Err: what is wrong with a brace.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut literal = String::new();
        while let Some(i) = rest.find(['{', '}', '$']) {
            literal.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("${") {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("`${{` without a closing `}}` in `{text}`"))?;
                let inner = &after[..end];
                let Some(name) = inner.strip_prefix("env:") else {
                    return Err(format!(
                        "`${{{inner}}}` is not an environment value: write `${{env:NAME}}`"
                    ));
                };
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Env(name.to_owned()));
                rest = &after[end + 1..];
            } else if let Some(after) = tail.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("`{{` without a closing `}}` in `{text}`"))?;
                let name = &after[..end];
                if !is_variable_name(name) {
                    return Err(format!(
                        "`{{{name}}}` is not a variable: write `{{variable_name}}` (letters, digits, `_`)"
                    ));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Var(name.to_owned()));
                rest = &after[end + 1..];
            } else if tail.starts_with('}') {
                return Err(format!("`}}` without an opening `{{` in `{text}`"));
            } else {
                literal.push('$');
                rest = &tail[1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self(pieces))
    }

    /// The environment values it names.
    pub fn env_names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Env(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The flow variables it uses.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Var(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The template with its variables filled in by `value` (through `encode`); environment
    /// pieces stay.
    pub fn fill(
        &self,
        value: impl Fn(&str) -> String,
        encode: impl Fn(&str) -> String,
    ) -> Template {
        let mut out: Vec<Piece> = Vec::new();
        for piece in &self.0 {
            let piece = match piece {
                Piece::Var(name) => Piece::Text(encode(&value(name))),
                other => other.clone(),
            };
            match (out.last_mut(), piece) {
                (Some(Piece::Text(last)), Piece::Text(text)) => last.push_str(&text),
                (_, piece) => out.push(piece),
            }
        }
        Template(out)
    }

    /// The text with every environment value filled in by `env`. Err: the names not set.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<String, Vec<String>> {
        let mut out = String::new();
        let mut missing = Vec::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Var(name) => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
                Piece::Env(name) => match env(name).filter(|v| !v.trim().is_empty()) {
                    Some(value) => out.push_str(value.trim()),
                    None => missing.push(name.clone()),
                },
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(missing)
        }
    }

    /// The template as written, environment values shown by name (for logs: never a secret).
    pub fn shown(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Var(v) => format!("{{{v}}}"),
                Piece::Env(e) => format!("${{env:{e}}}"),
            })
            .collect()
    }
}

/// A flow variable's name as templates take it.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// An environment variable's name as `${env:NAME}` takes it: upper case, digits, `_`.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Liza's own settings and secrets (the Twilio token, the database URL, the privacy key): a
/// flow must not send them anywhere.
pub fn is_own_setting(name: &str) -> bool {
    name.starts_with("LIZA_") || name.starts_with("TWILIO_") || name == "DATABASE_URL"
}

/// True for a JSON pointer (RFC 6901): empty, or `/`-separated segments where `~` is only
/// `~0` or `~1`.
pub fn is_json_pointer(pointer: &str) -> bool {
    if !(pointer.is_empty() || pointer.starts_with('/')) {
        return false;
    }
    let mut chars = pointer.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

/// Headers whose value is a credential: written in a flow file, it would be a secret in YAML.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || ["token", "key", "secret", "password", "signature"]
        .iter()
        .any(|word| name.contains(word))
}

/// A system the flow talks to (`connections: shop: …`).
#[derive(Debug, Clone)]
pub struct Connection {
    pub name: String,
    /// The base URL; a node's `path` is appended to it.
    pub url: Template,
    /// Headers sent with every request (secrets from the environment).
    pub headers: Vec<(String, Template)>,
}

impl Connection {
    /// The environment values the connection needs: it is configured when all are set.
    pub fn env_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.url.env_names().collect();
        for (_, value) in &self.headers {
            names.extend(value.env_names());
        }
        names
    }
}

/// The HTTP method of a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// Where each outcome of a fetch goes.
#[derive(Debug, Clone)]
pub struct FetchNext {
    /// 2xx with a JSON answer that has every pointer of `set`.
    pub ok: NodeId,
    /// 404 or 410.
    pub not_found: NodeId,
    /// Any other status, an answer that is not JSON or lacks a pointer, a refused connection.
    pub error: NodeId,
    /// No answer within the timeout.
    pub timeout: NodeId,
    /// An environment value the request needs is not set (default: `error`'s node).
    pub not_configured: NodeId,
}

/// A compiled `fetch` node.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// The connection's name, if the node uses one.
    pub connection: Option<String>,
    pub method: Method,
    /// The whole URL: the connection's base and the node's path, or the node's `url`.
    pub url: Template,
    /// The URL as logs and the conversation show it: the connection's name instead of its
    /// base URL.
    pub shown: Template,
    /// The connection's headers, then the node's.
    pub headers: Vec<(String, Template)>,
    /// A POST's JSON body; string values may hold `{variable}` templates.
    pub body: Option<serde_json::Value>,
    pub timeout_ms: u32,
    /// Flow variables set from the answer: (variable, JSON pointer).
    pub set: Vec<(String, String)>,
    pub next: FetchNext,
}

impl Fetch {
    /// The outcomes' edges, labelled for graphs and checks.
    pub fn edges(&self) -> Vec<(String, NodeId)> {
        let n = &self.next;
        let mut edges = vec![
            ("ok".to_owned(), n.ok),
            ("not_found".to_owned(), n.not_found),
            ("error".to_owned(), n.error),
            ("timeout".to_owned(), n.timeout),
        ];
        if n.not_configured != n.error {
            edges.push(("not_configured".to_owned(), n.not_configured));
        }
        edges
    }

    /// Every flow variable the request uses (URL and body).
    pub fn variables(&self) -> Vec<String> {
        let mut vars: Vec<String> = self.url.variables().map(str::to_owned).collect();
        if let Some(body) = &self.body {
            body_strings(body, &mut |s| {
                if let Ok(t) = Template::parse(s) {
                    vars.extend(t.variables().map(str::to_owned));
                }
            });
        }
        vars
    }
}

/// Calls `f` with every string value in a JSON body.
pub fn body_strings(value: &serde_json::Value, f: &mut dyn FnMut(&str)) {
    match value {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| body_strings(v, f)),
        serde_json::Value::Object(map) => map.values().for_each(|v| body_strings(v, f)),
        _ => {}
    }
}

/// Percent-encodes a value for a URL: everything but RFC 3986's unreserved characters.
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_read_variables_and_environment_values() {
        let t = Template::parse("${env:SHOP_API_URL}/orders/{order_number}?x=1").unwrap();
        assert_eq!(
            t.0,
            [
                Piece::Env("SHOP_API_URL".into()),
                Piece::Text("/orders/".into()),
                Piece::Var("order_number".into()),
                Piece::Text("?x=1".into()),
            ]
        );
        assert_eq!(t.shown(), "${env:SHOP_API_URL}/orders/{order_number}?x=1");
        assert!(Template::parse("/orders/{order").is_err());
        assert!(Template::parse("/orders/}").is_err());
        assert!(Template::parse("${SHOP}")
            .unwrap_err()
            .contains("${env:NAME}"));
        assert!(Template::parse("/a b/{x y}").is_err());
        assert_eq!(
            Template::parse("cost: $5").unwrap().0,
            [Piece::Text("cost: $5".into())]
        );
    }

    #[test]
    fn variables_are_url_encoded_and_environment_values_filled_in() {
        let t = Template::parse("${env:BASE}/orders/{n}").unwrap();
        let filled = t.fill(|_| "12/3 4&x=ä".into(), url_encode);
        let env = |name: &str| (name == "BASE").then(|| "https://shop.example/api".to_owned());
        assert_eq!(
            filled.resolve(&env).unwrap(),
            "https://shop.example/api/orders/12%2F3%204%26x%3D%C3%A4"
        );
        assert_eq!(filled.resolve(&|_| None), Err(vec!["BASE".to_owned()]));
    }

    #[test]
    fn pointers_and_names_are_checked() {
        assert!(is_json_pointer("/status"));
        assert!(is_json_pointer("/items/0/a~1b~0c"));
        assert!(is_json_pointer(""));
        assert!(!is_json_pointer("status"));
        assert!(!is_json_pointer("/a~2"));
        assert!(is_env_name("SHOP_API_TOKEN"));
        assert!(!is_env_name("shop_token"));
        assert!(is_own_setting("TWILIO_AUTH_TOKEN"));
        assert!(is_own_setting("LIZA_PRIVACY_KEY"));
        assert!(!is_own_setting("SHOP_API_URL"));
        assert!(is_secret_header("Authorization"));
        assert!(is_secret_header("X-Api-Key"));
        assert!(!is_secret_header("Accept"));
    }
}
