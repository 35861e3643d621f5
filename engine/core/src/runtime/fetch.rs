//! A `fetch` node's request as the turn hands it to the adapter, and the answer the adapter
//! hands back. Pure: the request is data (its `${env:…}` pieces still unfilled), the answer is
//! made from a status and a body by [`FetchRequest::answer`], and the adapter only moves bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::flow::fetch::{url_encode, Fetch, Method, Template};

/// The longest value a fetch puts into a flow variable (what the caller may hear of it).
pub const MAX_VALUE_CHARS: usize = 200;

/// A request the turn waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// The fetch node's name.
    pub node: String,
    pub method: Method,
    /// The URL, flow variables filled in (URL-encoded), `${env:…}` pieces not yet.
    pub url: Template,
    /// The request as logs and the conversation show it (`GET shop /orders/12345`): no
    /// environment value, so never a secret.
    pub shown: String,
    /// The request as the flow writes it (`GET shop /orders/{order_number}`): for logs, which
    /// keep neither secrets nor what a caller entered.
    pub template: String,
    pub headers: Vec<(String, Template)>,
    /// A POST's JSON body, variables filled in.
    pub body: Option<String>,
    pub timeout_ms: u32,
    /// (variable, JSON pointer) to set from a successful answer.
    pub set: Vec<(String, String)>,
}

/// A request ready to send: every environment value filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl FetchRequest {
    /// The request a fetch node makes with the call's variables (an unset one is empty).
    pub fn new(node: &str, fetch: &Fetch, vars: &BTreeMap<String, String>) -> Self {
        let value = |name: &str| vars.get(name).cloned().unwrap_or_default();
        let url = fetch.url.fill(value, url_encode);
        let shown = fetch.shown.fill(value, url_encode).shown();
        let body = fetch
            .body
            .as_ref()
            .map(|body| fill_body(body, &value).to_string());
        Self {
            node: node.to_owned(),
            method: fetch.method,
            url,
            shown: format!("{} {shown}", fetch.method.as_str()),
            template: format!("{} {}", fetch.method.as_str(), fetch.shown.shown()),
            headers: fetch.headers.clone(),
            body,
            timeout_ms: fetch.timeout_ms,
            set: fetch.set.clone(),
        }
    }

    /// The URL and headers with the environment's values. Err: the answer for a request whose
    /// environment values are not all set (`not_configured`, naming them, never their values).
    pub fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResolvedRequest, FetchAnswer> {
        let mut missing = Vec::new();
        let url = self.url.resolve(env).unwrap_or_else(|names| {
            missing.extend(names);
            String::new()
        });
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            match value.resolve(env) {
                Ok(value) => headers.push((name.clone(), value)),
                Err(names) => missing.extend(names),
            }
        }
        if missing.is_empty() {
            return Ok(ResolvedRequest { url, headers });
        }
        missing.sort();
        missing.dedup();
        let verb = if missing.len() == 1 { "is" } else { "are" };
        Err(FetchAnswer::not_configured(format!(
            "{} {verb} not set",
            missing.join(", ")
        )))
    }

    /// The answer to this request from an HTTP status and body: 2xx with JSON holding every
    /// pointer is `ok`, 404/410 `not_found`, anything else `error` (saying why, without the
    /// body's content).
    pub fn answer(&self, status: u16, body: &[u8], elapsed_ms: u64) -> FetchAnswer {
        let with = |outcome, detail: String| FetchAnswer {
            outcome,
            status: Some(status),
            values: Vec::new(),
            detail,
            elapsed_ms,
        };
        match status {
            200..=299 => {}
            404 | 410 => return with(FetchOutcome::NotFound, format!("HTTP {status}")),
            _ => return with(FetchOutcome::Error, format!("HTTP {status}")),
        }
        let json: serde_json::Value = match serde_json::from_slice(body) {
            Ok(json) => json,
            Err(_) if self.set.is_empty() => serde_json::Value::Null,
            Err(_) => {
                return with(
                    FetchOutcome::Error,
                    format!("HTTP {status}, the answer is not JSON"),
                )
            }
        };
        let mut values = Vec::new();
        for (var, pointer) in &self.set {
            let value = match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                Some(serde_json::Value::Bool(b)) => b.to_string(),
                Some(_) => {
                    return with(
                        FetchOutcome::Error,
                        format!("HTTP {status}, `{pointer}` is not a text, number or yes/no"),
                    )
                }
                None => {
                    return with(
                        FetchOutcome::Error,
                        format!("HTTP {status}, the answer has no `{pointer}`"),
                    )
                }
            };
            values.push((var.clone(), value.chars().take(MAX_VALUE_CHARS).collect()));
        }
        FetchAnswer {
            values,
            ..with(FetchOutcome::Ok, format!("HTTP {status}"))
        }
    }
}

fn fill_body(value: &serde_json::Value, vars: &dyn Fn(&str) -> String) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => match Template::parse(s) {
            Ok(t) => Value::String(t.fill(vars, str::to_owned).shown()),
            Err(_) => Value::String(s.clone()),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_body(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_body(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// How a fetch ended; each leads to the node the flow names for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchOutcome {
    Ok,
    NotFound,
    Error,
    Timeout,
    NotConfigured,
}

impl FetchOutcome {
    pub const ALL: [Self; 5] = [
        Self::Ok,
        Self::NotFound,
        Self::Error,
        Self::Timeout,
        Self::NotConfigured,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NotFound => "not_found",
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::NotConfigured => "not_configured",
        }
    }
}

/// What a fetch answered, as the turn takes it and the conversation log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchAnswer {
    pub outcome: FetchOutcome,
    /// The HTTP status, when one came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// (variable, value) taken from an `ok` answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<(String, String)>,
    /// Why, in a few words (`HTTP 500`, `connection refused`): never the answer's content.
    pub detail: String,
    pub elapsed_ms: u64,
}

impl FetchAnswer {
    pub fn timeout(elapsed_ms: u64) -> Self {
        Self {
            outcome: FetchOutcome::Timeout,
            status: None,
            values: Vec::new(),
            detail: format!("no answer within {elapsed_ms} ms"),
            elapsed_ms,
        }
    }

    pub fn error(detail: impl Into<String>, elapsed_ms: u64) -> Self {
        Self {
            outcome: FetchOutcome::Error,
            status: None,
            values: Vec::new(),
            detail: detail.into(),
            elapsed_ms,
        }
    }

    pub fn not_configured(detail: impl Into<String>) -> Self {
        Self {
            outcome: FetchOutcome::NotConfigured,
            status: None,
            values: Vec::new(),
            detail: detail.into(),
            elapsed_ms: 0,
        }
    }

    /// The step's outcome in the conversation log: `ok (HTTP 200, 12 ms)`.
    pub fn outcome_line(&self) -> String {
        match self.outcome {
            FetchOutcome::NotConfigured | FetchOutcome::Timeout => {
                format!("{} ({})", self.outcome.as_str(), self.detail)
            }
            _ => format!(
                "{} ({}, {} ms)",
                self.outcome.as_str(),
                self.detail,
                self.elapsed_ms
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::flow::{load_flows, Flow};
    use crate::runtime::{CallState, Input, RecordInfo, Step, Turn};

    fn liza() -> Arc<Flow> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let flows = load_flows(&root.join("flows"), &root.join("locales")).unwrap();
        flows.into_iter().find(|f| f.name == "liza").unwrap()
    }

    /// Liza's call up to the confirmed read-back of order `12/34` (a `/` to be encoded).
    fn confirmed(flow: &Flow) -> Turn<'_> {
        let mut state = CallState::default();
        let start = Input::Start {
            from: "+4915112345678".into(),
        };
        state = Turn::new(flow, state, start).run_with(|_| None).state;
        state = Turn::new(flow, state, Input::Digits("1".into()))
            .run_with(|_| None)
            .state;
        state = Turn::new(flow, state, Input::Digits("12345".into()))
            .run_with(|_| None)
            .state;
        state.vars.insert("order_number".into(), "12/34".into());
        Turn::new(flow, state, Input::Digits("1".into()))
    }

    fn record(status: &str) -> Option<RecordInfo> {
        Some(RecordInfo {
            id: 7,
            status: status.into(),
        })
    }

    #[test]
    fn the_turn_pauses_for_the_fetch_and_goes_on_with_its_answer() {
        let flow = liza();
        let mut turn = confirmed(&flow);
        assert!(matches!(turn.run(), Step::NeedRecord(_)));
        turn.provide(record("received"));
        let Step::NeedFetch(request) = turn.run() else {
            panic!("the turn waits for the shop")
        };
        assert_eq!(request.node, "shop-status");
        assert_eq!(request.shown, "GET shop /orders/12%2F34");
        assert_eq!(request.template, "GET shop /orders/{order_number}");
        assert_eq!(request.timeout_ms, 2_000);
        let env = |name: &str| match name {
            "SHOP_API_URL" => Some("https://shop.example/api".to_owned()),
            "SHOP_API_TOKEN" => Some("tok".to_owned()),
            _ => None,
        };
        let resolved = request.resolve(&env).unwrap();
        assert_eq!(resolved.url, "https://shop.example/api/orders/12%2F34");
        assert_eq!(
            resolved.headers,
            [("Authorization".to_owned(), "Bearer tok".to_owned())]
        );
        // Asked again, the turn still waits for the same request.
        assert_eq!(turn.run(), Step::NeedFetch(request.clone()));
        turn.provide_fetch(&request.answer(200, br#"{"status":"shipped"}"#, 12));
        assert_eq!(turn.run(), Step::Done);
        let out = turn.finish();
        assert_eq!(out.state.vars["order_status"], "shipped");
        let step = out.steps.iter().find(|s| s.node == "shop-status").unwrap();
        assert_eq!(step.outcome, "ok (HTTP 200, 12 ms)");
        assert_eq!(
            step.note.as_deref(),
            Some("GET shop /orders/12%2F34 → order_status = shipped")
        );
    }

    #[test]
    fn every_failure_leaves_the_records_status_and_says_why() {
        let flow = liza();
        let request = {
            let mut turn = confirmed(&flow);
            turn.run();
            turn.provide(record("processing"));
            match turn.run() {
                Step::NeedFetch(request) => request,
                other => panic!("{other:?}"),
            }
        };
        let cases = [
            (request.answer(404, b"{}", 3), "not_found (HTTP 404, 3 ms)"),
            (request.answer(500, b"{}", 3), "error (HTTP 500, 3 ms)"),
            (
                request.answer(200, b"<html>", 3),
                "error (HTTP 200, the answer is not JSON, 3 ms)",
            ),
            (
                request.answer(200, br#"{"status":{"code":1}}"#, 3),
                "error (HTTP 200, `/status` is not a text, number or yes/no, 3 ms)",
            ),
            (
                FetchAnswer::timeout(2_000),
                "timeout (no answer within 2000 ms)",
            ),
            (
                request.resolve(&|_| None).unwrap_err(),
                "not_configured (SHOP_API_TOKEN, SHOP_API_URL are not set)",
            ),
        ];
        for (answer, outcome) in cases {
            let mut turn = confirmed(&flow);
            turn.run();
            turn.provide(record("processing"));
            turn.run();
            turn.provide_fetch(&answer);
            assert_eq!(turn.run(), Step::Done);
            let out = turn.finish();
            assert_eq!(out.state.vars["order_status"], "processing", "{outcome}");
            let step = out.steps.iter().find(|s| s.node == "shop-status").unwrap();
            assert_eq!(step.outcome, outcome);
            assert_eq!(step.note.as_deref(), Some("GET shop /orders/12%2F34"));
        }
    }

    #[test]
    fn values_are_cut_to_a_length_a_caller_can_hear() {
        let flow = liza();
        let mut turn = confirmed(&flow);
        turn.run();
        turn.provide(record("received"));
        let Step::NeedFetch(request) = turn.run() else {
            panic!()
        };
        let long = format!(r#"{{"status":"{}"}}"#, "x".repeat(5_000));
        let answer = request.answer(200, long.as_bytes(), 1);
        assert_eq!(answer.values[0].1.chars().count(), MAX_VALUE_CHARS);
    }
}
