//! Fetches answered from data, for `liza simulate` and `liza test`: no request leaves the
//! machine. A stub names a fetch node and what its API answers (a status and a JSON body, or
//! an outcome without one); a fetch without a stub is answered `not_configured`, as the server
//! answers it when its connection's environment is not set.
//!
//! ```yaml
//! shop-status: {status: 200, body: {status: shipped}}
//! other-node: {outcome: timeout}
//! ```
//!
//! Must not touch: HTTP.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use liza_core::runtime::{FetchAnswer, FetchRequest};

/// What one fetch node's API answers.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchStub {
    /// The HTTP status (default 200 when a body is given).
    #[serde(default)]
    pub status: Option<u16>,
    /// The JSON answer.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Instead of an answer: `timeout`, `error` (the connection failed) or `not_configured`.
    #[serde(default)]
    pub outcome: Option<StubOutcome>,
}

/// An outcome without an HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StubOutcome {
    Timeout,
    Error,
    NotConfigured,
}

impl FetchStub {
    /// The answer to `request`, made as the server makes it from a status and a body.
    pub fn answer(&self, request: &FetchRequest) -> FetchAnswer {
        match self.outcome {
            Some(StubOutcome::Timeout) => FetchAnswer::timeout(request.timeout_ms.into()),
            Some(StubOutcome::Error) => FetchAnswer::error("the connection failed", 0),
            Some(StubOutcome::NotConfigured) => {
                FetchAnswer::not_configured("stubbed as not configured")
            }
            None => {
                let body = self
                    .body
                    .as_ref()
                    .map(|b| b.to_string())
                    .unwrap_or_default();
                request.answer(self.status.unwrap_or(200), body.as_bytes(), 0)
            }
        }
    }

    /// Reads `--fetch-stub NODE=ANSWER`: `NODE=200 {"status":"shipped"}`, `NODE=404`,
    /// `NODE=timeout`, `NODE=error`, `NODE=not_configured`.
    pub fn parse_flag(flag: &str) -> Result<(String, Self), String> {
        let usage = "expected NODE=STATUS [JSON], NODE=timeout, NODE=error or NODE=not_configured (e.g. shop-status='200 {\"status\":\"shipped\"}')";
        let (node, answer) = flag
            .split_once('=')
            .ok_or_else(|| format!("--fetch-stub {flag}: {usage}"))?;
        let answer = answer.trim();
        let outcome = match answer {
            "timeout" => Some(StubOutcome::Timeout),
            "error" => Some(StubOutcome::Error),
            "not_configured" => Some(StubOutcome::NotConfigured),
            _ => None,
        };
        if outcome.is_some() {
            let stub = Self {
                outcome,
                ..Self::default()
            };
            return Ok((node.trim().to_owned(), stub));
        }
        let (status, body) = answer.split_once(' ').unwrap_or((answer, ""));
        let status: u16 = status
            .parse()
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| format!("--fetch-stub {flag}: {usage}"))?;
        let body = match body.trim() {
            "" => None,
            text => Some(
                serde_json::from_str(text)
                    .map_err(|e| format!("--fetch-stub {flag}: the body is not JSON: {e}"))?,
            ),
        };
        Ok((
            node.trim().to_owned(),
            Self {
                status: Some(status),
                body,
                outcome: None,
            },
        ))
    }
}

/// Stubs by fetch node.
pub type FetchStubs = BTreeMap<String, FetchStub>;

/// Reads a fixture file: a YAML mapping of fetch node → stub.
pub fn read_fixtures(path: &Path) -> Result<FetchStubs, String> {
    let (value, _) = crate::scenario::read_yaml(path)?;
    serde_json::from_value(value)
        .map_err(|e| format!("{}: not a fetch fixture file: {e}", path.display()))
}

/// The answer a stub set gives to `request`: its node's stub, else `not_configured`.
pub fn answer(stubs: &FetchStubs, request: &FetchRequest) -> FetchAnswer {
    match stubs.get(&request.node) {
        Some(stub) => stub.answer(request),
        None => FetchAnswer::not_configured(format!("no --fetch-stub {}=…", request.node)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_statuses_bodies_and_outcomes() {
        let (node, stub) = FetchStub::parse_flag(r#"shop=200 {"status":"shipped"}"#).unwrap();
        assert_eq!(node, "shop");
        assert_eq!(stub.status, Some(200));
        assert_eq!(stub.body, Some(serde_json::json!({"status": "shipped"})));
        let (_, stub) = FetchStub::parse_flag("shop=timeout").unwrap();
        assert_eq!(stub.outcome, Some(StubOutcome::Timeout));
        let (_, stub) = FetchStub::parse_flag("shop=404").unwrap();
        assert_eq!((stub.status, stub.body), (Some(404), None));
        assert!(FetchStub::parse_flag("shop").is_err());
        assert!(FetchStub::parse_flag("shop=999").is_err());
        assert!(FetchStub::parse_flag("shop=200 {nope")
            .unwrap_err()
            .contains("not JSON"));
    }
}
