//! `connections:` and `fetch` nodes, checked: URLs, headers (no secret written in the file),
//! environment names, variables, JSON pointers, the timeout and that every outcome leads on.

use indexmap::IndexMap;

use super::Compiler;
use crate::diagnostics::did_you_mean;
use crate::flow::fetch::{
    body_strings, is_env_name, is_json_pointer, is_own_setting, is_secret_header, is_variable_name,
    Connection, Fetch, FetchNext, Method, Piece, Template, DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS,
};
use crate::flow::raw::{RawFlow, RawNode};
use crate::flow::yaml::pointer_segment;
use crate::flow::NodeId;

/// The outcomes every fetch must lead on from.
const OUTCOMES: [&str; 4] = ["ok", "not_found", "error", "timeout"];

impl Compiler<'_> {
    /// The flow's `connections:`.
    pub(super) fn connections(&mut self, raw: &RawFlow) -> IndexMap<String, Connection> {
        let mut out = IndexMap::new();
        for (name, connection) in &raw.connections {
            let p = format!("/connections/{}", pointer_segment(name));
            let at = format!("{p}/url");
            let url = self
                .template(&at, None, &connection.url)
                .unwrap_or_default();
            if let Some(var) = url.variables().next() {
                self.error(
                    &at,
                    None,
                    format!(
                        "a connection's `url` cannot use the flow variable `{var}`: put it in the fetch node's `path`"
                    ),
                );
            } else {
                self.check_url(&at, None, &url);
            }
            let headers = self.headers(&format!("{p}/headers"), None, &connection.headers);
            out.insert(
                name.clone(),
                Connection {
                    name: name.clone(),
                    url,
                    headers,
                },
            );
        }
        out
    }

    fn template(&mut self, pointer: &str, node: Option<&str>, text: &str) -> Option<Template> {
        match Template::parse(text) {
            Ok(template) => {
                self.check_env(pointer, node, &template);
                Some(template)
            }
            Err(e) => {
                self.error(pointer, node, e);
                None
            }
        }
    }

    fn check_env(&mut self, pointer: &str, node: Option<&str>, template: &Template) {
        for name in template.env_names() {
            if !is_env_name(name) {
                self.error(
                    pointer,
                    node,
                    format!(
                        "`${{env:{name}}}`: an environment variable's name is upper-case letters, digits and `_` (e.g. `SHOP_API_TOKEN`)"
                    ),
                );
            } else if is_own_setting(name) {
                self.error(
                    pointer,
                    node,
                    format!(
                        "`${{env:{name}}}` is one of Liza's own settings; a flow may not send it anywhere (give the shop's secret a name of its own, e.g. `SHOP_API_TOKEN`)"
                    ),
                );
            }
        }
    }

    /// An absolute http(s) URL whose host no caller input chooses.
    fn check_url(&mut self, pointer: &str, node: Option<&str>, url: &Template) {
        let shown = url.shown();
        match url.0.first() {
            // The environment holds the base: checked when the request is made.
            Some(Piece::Env(_)) => {}
            Some(Piece::Text(text)) => {
                let lower = text.to_ascii_lowercase();
                let Some(rest) = lower
                    .strip_prefix("https://")
                    .or_else(|| lower.strip_prefix("http://"))
                else {
                    self.error(
                        pointer,
                        node,
                        format!(
                            "`{shown}` is not an http(s) URL: start it with `https://` (or with `${{env:NAME}}` holding one)"
                        ),
                    );
                    return;
                };
                let host_end = rest.find(['/', '?', '#']);
                let host = &rest[..host_end.unwrap_or(rest.len())];
                if host_end.is_none() && matches!(url.0.get(1), Some(Piece::Var(_))) {
                    self.error(
                        pointer,
                        node,
                        format!(
                            "`{shown}`: a flow variable in the URL's host; only the path and the query may use variables (a caller must not choose where Liza connects)"
                        ),
                    );
                } else if host.contains('@') {
                    self.error(
                        pointer,
                        node,
                        format!(
                            "`{shown}` holds credentials (`user:password@`): send them in a header taken from the environment, e.g. `Authorization: Bearer ${{env:SHOP_API_TOKEN}}`"
                        ),
                    );
                } else if host.is_empty() || host.contains(char::is_whitespace) {
                    self.error(pointer, node, format!("`{shown}` has no valid host"));
                }
            }
            Some(Piece::Var(var)) => self.error(
                pointer,
                node,
                format!(
                    "the URL starts with the flow variable `{var}`: a caller must not choose where Liza connects (start with `https://` or `${{env:NAME}}`)"
                ),
            ),
            None => self.error(pointer, node, "the URL is empty".into()),
        }
    }

    fn headers(
        &mut self,
        pointer: &str,
        node: Option<&str>,
        headers: &IndexMap<String, String>,
    ) -> Vec<(String, Template)> {
        let mut out = Vec::new();
        for (name, value) in headers {
            let at = format!("{pointer}/{}", pointer_segment(name));
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                let position = self.spans.key(&at);
                self.error_at(
                    position,
                    node,
                    format!("`{name}` is not a header name (letters, digits and `-`)"),
                );
                continue;
            }
            let Some(template) = self.template(&at, node, value) else {
                continue;
            };
            if let Some(var) = template.variables().next() {
                self.error(
                    &at,
                    node,
                    format!(
                        "header `{name}` uses the flow variable `{var}`: headers take text and `${{env:NAME}}` only"
                    ),
                );
            } else if is_secret_header(name) && template.env_names().next().is_none() {
                self.error(
                    &at,
                    node,
                    format!(
                        "header `{name}` holds a secret written in the flow file: take it from the environment, e.g. `{name}: Bearer ${{env:SHOP_API_TOKEN}}`"
                    ),
                );
            }
            out.push((name.clone(), template));
        }
        out
    }

    /// A `fetch` node.
    pub(super) fn fetch_node(
        &mut self,
        raw: &RawFlow,
        name: &str,
        p: &str,
        node: &RawNode,
    ) -> Fetch {
        let RawNode::Fetch {
            connection,
            method,
            url,
            path,
            headers,
            body,
            timeout,
            set,
            next,
        } = node
        else {
            unreachable!("fetch_node is called for fetch nodes")
        };
        let at = |field: &str| format!("{p}/{field}");
        let node_name = Some(name);

        let method = match method.as_deref() {
            None | Some("GET") => Method::Get,
            Some("POST") => Method::Post,
            Some(other) => {
                self.error(
                    &at("method"),
                    node_name,
                    format!("method `{other}` is not one a fetch sends (GET or POST)"),
                );
                Method::Get
            }
        };

        // The URL: a connection's base and the node's path, or the node's own URL.
        let mut all_headers = Vec::new();
        let (full, shown, url_at) = match (connection, url, path) {
            (Some(conn), None, Some(path)) => {
                let url_at = at("path");
                let base = match raw.connections.get(conn) {
                    Some(c) => {
                        let base = Template::parse(&c.url).unwrap_or_default();
                        all_headers.extend(
                            c.headers
                                .iter()
                                .filter_map(|(n, v)| Some((n.clone(), Template::parse(v).ok()?))),
                        );
                        base
                    }
                    None => {
                        let hint = did_you_mean(conn, raw.connections.keys().map(String::as_str));
                        self.error(
                            &at("connection"),
                            node_name,
                            format!(
                                "connection `{conn}` is not declared under `connections`{hint}"
                            ),
                        );
                        Template::default()
                    }
                };
                let path_t = self.template(&url_at, node_name, path).unwrap_or_default();
                if !(path.starts_with('/') || path.starts_with('?')) {
                    self.error(
                        &url_at,
                        node_name,
                        format!(
                            "`path` is appended to the connection's URL: start it with `/` (`/{path}`)"
                        ),
                    );
                }
                let mut full = base.0;
                full.extend(path_t.0.iter().cloned());
                let mut shown = vec![Piece::Text(format!("{conn} "))];
                shown.extend(path_t.0);
                (Template(full), Template(shown), url_at)
            }
            (None, Some(url), None) => {
                let url_at = at("url");
                let t = self.template(&url_at, node_name, url).unwrap_or_default();
                self.check_url(&url_at, node_name, &t);
                (t.clone(), t, url_at)
            }
            (Some(_), Some(_), _) => {
                self.error(
                    &at("url"),
                    node_name,
                    "`url` with a `connection`: give the `path` appended to the connection's URL instead".into(),
                );
                (Template::default(), Template::default(), at("url"))
            }
            (Some(_), None, None) => {
                self.error(
                    &at("connection"),
                    node_name,
                    "a fetch with a `connection` needs the `path` to append to its URL (e.g. `path: /items/{item_id}`)".into(),
                );
                (Template::default(), Template::default(), at("connection"))
            }
            (None, _, Some(_)) => {
                let hint = match raw.connections.keys().next() {
                    Some(c) => format!(" (e.g. `connection: {c}`)"),
                    None => " (declare one under `connections`)".into(),
                };
                self.error(
                    &at("path"),
                    node_name,
                    format!("`path` needs a `connection` whose URL it is appended to{hint}"),
                );
                (Template::default(), Template::default(), at("path"))
            }
            (None, None, None) => {
                self.error(
                    p,
                    node_name,
                    "a fetch needs a `url`, or a `connection` and a `path`".into(),
                );
                (Template::default(), Template::default(), p.to_owned())
            }
        };
        for var in full.variables().map(str::to_owned).collect::<Vec<_>>() {
            self.check_variable(name, &url_at, &var);
        }
        all_headers.extend(self.headers(&at("headers"), node_name, headers));

        let body = body.clone();
        if let Some(body) = &body {
            if method != Method::Post {
                self.error(
                    &at("body"),
                    node_name,
                    "`body` is sent only with `method: POST`".into(),
                );
            }
            let mut strings = Vec::new();
            body_strings(body, &mut |s| strings.push(s.to_owned()));
            for s in strings {
                match Template::parse(&s) {
                    Ok(t) => {
                        if t.env_names().next().is_some() {
                            self.error(
                                &at("body"),
                                node_name,
                                "the body cannot use `${env:…}`: send secrets in a header".into(),
                            );
                        }
                        for var in t.variables().map(str::to_owned).collect::<Vec<_>>() {
                            self.check_variable(name, &at("body"), &var);
                        }
                    }
                    Err(e) => self.error(&at("body"), node_name, e),
                }
            }
        }

        let timeout_ms = match timeout {
            None => DEFAULT_TIMEOUT_MS,
            Some(secs) if *secs > 0.0 && secs * 1000.0 <= f64::from(MAX_TIMEOUT_MS) => {
                (secs * 1000.0).round().max(1.0) as u32
            }
            Some(secs) => {
                self.error(
                    &at("timeout"),
                    node_name,
                    format!(
                        "timeout {secs} s: a fetch waits more than 0 and at most {} seconds (Twilio waits 15 s for the whole answer)",
                        MAX_TIMEOUT_MS / 1000
                    ),
                );
                DEFAULT_TIMEOUT_MS
            }
        };

        let mut pointers = Vec::new();
        for (var, pointer) in set {
            let sp = format!("{p}/set/{}", pointer_segment(var));
            if !is_variable_name(var) {
                let position = self.spans.key(&sp);
                self.error_at(
                    position,
                    node_name,
                    format!("`{var}` is not a variable name (letters, digits, `_`)"),
                );
            }
            if !is_json_pointer(pointer) {
                let hint = if pointer.starts_with('/') {
                    String::new()
                } else {
                    format!(" (did you mean `/{}`?)", pointer.replace('.', "/"))
                };
                self.error(
                    &sp,
                    node_name,
                    format!(
                        "`{pointer}` is not a JSON pointer into the answer: write `/status` or `/item/status`{hint}"
                    ),
                );
            }
            pointers.push((var.clone(), pointer.clone()));
        }

        let targets = [&next.ok, &next.not_found, &next.error, &next.timeout];
        let mut resolved = [NodeId(0); 4];
        let tail = format!(" (a fetch goes on from each of {})", OUTCOMES.join(", "));
        for (i, (outcome, target)) in OUTCOMES.iter().zip(targets).enumerate() {
            let missing_at = self.spans.key(&at("next"));
            if let Some(node) =
                self.outcome_target(name, p, outcome, target.as_ref(), missing_at, &tail)
            {
                resolved[i] = node;
            }
        }
        let not_configured = match &next.not_configured {
            Some(target) => self.target(
                name,
                "next.not_configured",
                &format!("{p}/next/not_configured"),
                target,
            ),
            None => resolved[2],
        };
        Fetch {
            connection: connection.clone(),
            method,
            url: full,
            shown,
            headers: all_headers,
            body,
            timeout_ms,
            set: pointers,
            next: FetchNext {
                ok: resolved[0],
                not_found: resolved[1],
                error: resolved[2],
                timeout: resolved[3],
                not_configured,
            },
        }
    }
}
