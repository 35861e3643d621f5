//! The `transfer` node: a `<Dial>` to a person (a phone number, a SIP address or a Twilio
//! client), and the outcome Twilio reports in `DialCallStatus` when the dial is over.
//!
//! Pure: the environment is never read here. A number written `${env:SHOP_PHONE}` keeps its
//! name; the adapter hands the turn the values it has (the runtime's `Turn::env`), and a
//! value that is not set leads the call to the node's `not_configured` outcome (no dial).

use super::NodeId;

/// Seconds Twilio lets the person's phone ring (`<Dial timeout>`), and its bounds.
pub const DEFAULT_TIMEOUT_SECS: u32 = 20;
pub const MIN_TIMEOUT_SECS: u32 = 5;
pub const MAX_TIMEOUT_SECS: u32 = 600;

/// The outcomes a transfer goes on from, in the order `liza check` names them.
pub const OUTCOMES: [&str; 4] = ["answered", "busy", "no_answer", "failed"];

/// A value as written: literal, or `${env:NAME}` filled in by the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Literal(String),
    Env(String),
}

impl Value {
    /// `${env:NAME}` → the name; anything else is a literal.
    pub fn parse(text: &str) -> Self {
        match text
            .trim()
            .strip_prefix("${env:")
            .and_then(|rest| rest.strip_suffix('}'))
        {
            Some(name) => Self::Env(name.to_owned()),
            None => Self::Literal(text.trim().to_owned()),
        }
    }

    /// The value with `env` filled in; `None` when the environment value is not set (or empty).
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        match self {
            Self::Literal(v) => Some(v.clone()),
            Self::Env(name) => env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
        }
    }

    /// As written, for steps and logs (an environment value by its name only).
    pub fn shown(&self) -> String {
        match self {
            Self::Literal(v) => v.clone(),
            Self::Env(name) => format!("${{env:{name}}}"),
        }
    }
}

/// Whom the call is put through to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `<Number>`: E.164.
    Number(Value),
    /// `<Sip>`: a `sip:` URI.
    Sip(Value),
    /// `<Client>`: a Twilio client identity.
    Client(Value),
}

impl Target {
    pub fn value(&self) -> &Value {
        match self {
            Self::Number(v) | Self::Sip(v) | Self::Client(v) => v,
        }
    }

    /// `number`, `sip` or `client`.
    pub fn noun(&self) -> &'static str {
        match self {
            Self::Number(_) => "number",
            Self::Sip(_) => "sip",
            Self::Client(_) => "client",
        }
    }
}

/// A compiled `transfer` node.
#[derive(Debug)]
pub struct Transfer {
    pub target: Target,
    /// `<Dial callerId>`: the number the person sees (E.164); none: the caller's own.
    pub caller_id: Option<Value>,
    pub timeout_secs: u32,
    /// Said to the caller just before the dial (not when nothing is dialled).
    pub say: Vec<String>,
    /// A message spoken to the person who answers, before the caller is put through.
    pub whisper: Option<String>,
    /// The action callback's name: `/webhook/<webhook>` (empty for a check).
    pub webhook: String,
    /// `check: true`: nothing is dialled; the node only goes on to this node when the call
    /// could be put through (its target is set), else to `next.not_configured`.
    pub check: Option<NodeId>,
    pub next: TransferNext,
}

#[derive(Debug)]
pub struct TransferNext {
    pub answered: NodeId,
    pub busy: NodeId,
    pub no_answer: NodeId,
    pub failed: NodeId,
    /// The number's `${env:…}` value is not set: no dial (default: `failed`).
    pub not_configured: NodeId,
}

/// Twilio's `DialCallStatus`, sorted into the node's outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    Answered,
    Busy,
    NoAnswer,
    Failed,
}

impl DialOutcome {
    /// `completed`/`answered` → answered, `busy`, `no-answer`; `failed`, `canceled` and
    /// anything else (or nothing) → failed (docs/twilio.md).
    pub fn from_status(status: &str) -> Self {
        match status.trim() {
            "completed" | "answered" => Self::Answered,
            "busy" => Self::Busy,
            "no-answer" => Self::NoAnswer,
            _ => Self::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
        }
    }

    pub fn target(self, next: &TransferNext) -> NodeId {
        match self {
            Self::Answered => next.answered,
            Self::Busy => next.busy,
            Self::NoAnswer => next.no_answer,
            Self::Failed => next.failed,
        }
    }
}

/// True for an E.164 number: `+`, then 2 to 15 digits, the first not 0.
pub fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

impl Transfer {
    pub fn edges(&self) -> Vec<(String, NodeId)> {
        let n = &self.next;
        if let Some(ready) = self.check {
            return vec![
                ("ready".to_owned(), ready),
                ("not_configured".to_owned(), n.not_configured),
            ];
        }
        let mut out = vec![
            ("answered".to_owned(), n.answered),
            ("busy".to_owned(), n.busy),
            ("no_answer".to_owned(), n.no_answer),
            ("failed".to_owned(), n.failed),
        ];
        if n.not_configured != n.failed {
            out.push(("not_configured".to_owned(), n.not_configured));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_statuses_sort_into_outcomes() {
        assert_eq!(DialOutcome::from_status("completed"), DialOutcome::Answered);
        assert_eq!(DialOutcome::from_status("answered"), DialOutcome::Answered);
        assert_eq!(DialOutcome::from_status("busy"), DialOutcome::Busy);
        assert_eq!(DialOutcome::from_status("no-answer"), DialOutcome::NoAnswer);
        assert_eq!(DialOutcome::from_status("failed"), DialOutcome::Failed);
        assert_eq!(DialOutcome::from_status("canceled"), DialOutcome::Failed);
        assert_eq!(DialOutcome::from_status(""), DialOutcome::Failed);
    }

    #[test]
    fn values_from_the_environment_resolve_or_not() {
        let env = |name: &str| (name == "SHOP_PHONE").then(|| "+4930123456".to_owned());
        assert_eq!(
            Value::parse("${env:SHOP_PHONE}").resolve(&env).as_deref(),
            Some("+4930123456")
        );
        assert_eq!(Value::parse("${env:OTHER}").resolve(&env), None);
        assert_eq!(Value::parse("${env:OTHER}").shown(), "${env:OTHER}");
        assert_eq!(
            Value::parse("+4930999").resolve(&env).as_deref(),
            Some("+4930999")
        );
    }

    #[test]
    fn e164_numbers() {
        assert!(is_e164("+4930123456"));
        assert!(!is_e164("030123456"));
        assert!(!is_e164("+49 30 123"));
        assert!(!is_e164("+0123"));
    }
}
