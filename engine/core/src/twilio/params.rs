//! The form parameters of a Twilio voice webhook, parsed leniently: unknown
//! parameters are kept for the signature but otherwise ignored, and nothing a
//! caller controls is trusted.

/// Longest `Digits` value taken as input; anything longer is invalid input, not an error.
pub const MAX_DIGITS_LEN: usize = 64;

/// A decoded `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub struct WebhookParams {
    pairs: Vec<(String, String)>,
    /// Where the valid `CallSid` is in `pairs`, found once: a webhook asks for it several
    /// times (the handler, the writer's batch, each statement of the turn).
    call_sid_at: Option<usize>,
}

impl WebhookParams {
    /// Decodes a form body; malformed percent-escapes and invalid UTF-8 are
    /// replaced rather than rejected, so the caller still gets an answer.
    pub fn parse(body: &[u8]) -> Self {
        Self::from_pairs(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        // The first `CallSid`, as `get` finds it, and only if it is an identifier.
        let call_sid_at = pairs
            .iter()
            .position(|(k, _)| k == "CallSid")
            .filter(|&at| is_sid(pairs[at].1.trim()));
        Self { pairs, call_sid_at }
    }

    /// All parameters as received, for the signature check.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty parameter value.
    fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn call_sid(&self) -> Option<&str> {
        self.call_sid_at.map(|at| self.pairs[at].1.trim())
    }

    /// `ParentCallSid`: the caller's call, on a request about a leg it dialled.
    pub fn parent_call_sid(&self) -> Option<&str> {
        self.non_empty("ParentCallSid").filter(|sid| is_sid(sid))
    }

    pub fn from(&self) -> &str {
        self.non_empty("From").unwrap_or("anonymous")
    }

    pub fn to(&self) -> &str {
        self.non_empty("To").unwrap_or("")
    }

    /// `Digits` after a `<Gather>`; `None` when Twilio sent none (no input).
    pub fn digits(&self) -> Option<&str> {
        self.get("Digits")
    }

    /// `SpeechResult` after a `<Gather>` that listens for words; `None` when Twilio sent none
    /// or only blanks.
    pub fn speech_result(&self) -> Option<&str> {
        self.non_empty("SpeechResult")
    }

    /// `Confidence` (0.0–1.0) of the `SpeechResult`, in thousandths; `None` when it is
    /// missing or not a number in that range (the words then count as not understood).
    pub fn confidence(&self) -> Option<u16> {
        self.non_empty("Confidence")
            .and_then(|c| c.parse::<f64>().ok())
            .filter(|c| (0.0..=1.0).contains(c))
            .map(|c| (c * 1000.0).round() as u16)
    }

    pub fn call_duration_secs(&self) -> Option<i64> {
        self.non_empty("CallDuration")
            .and_then(|d| d.parse::<i64>().ok())
            .filter(|d| *d >= 0)
    }

    pub fn sequence_number(&self) -> Option<i64> {
        self.non_empty("SequenceNumber")
            .and_then(|d| d.parse::<i64>().ok())
    }

    pub fn call_status(&self) -> Option<CallStatusEvent> {
        self.non_empty("CallStatus").map(CallStatusEvent::parse)
    }
}

/// A Twilio SID as Liza takes one: 1 to 64 ASCII letters and digits (nothing a log line, a
/// URL or SQL would have to escape).
fn is_sid(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Twilio's `CallStatus` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatusEvent {
    Queued,
    Ringing,
    InProgress,
    Completed,
    Busy,
    Failed,
    NoAnswer,
    Canceled,
    Other,
}

impl CallStatusEvent {
    pub fn parse(value: &str) -> Self {
        match value {
            "queued" => Self::Queued,
            "ringing" | "initiated" => Self::Ringing,
            "in-progress" | "answered" => Self::InProgress,
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "failed" => Self::Failed,
            "no-answer" => Self::NoAnswer,
            "canceled" => Self::Canceled,
            _ => Self::Other,
        }
    }

    /// True when the call is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Busy | Self::Failed | Self::NoAnswer | Self::Canceled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_leniently_and_keeps_unknown_parameters() {
        let p =
            WebhookParams::parse(b"CallSid=CA1&From=%2B4915112345678&FromCity=K%C3%B6ln&Bad=%ZZ");
        assert_eq!(p.call_sid(), Some("CA1"));
        assert_eq!(p.from(), "+4915112345678");
        assert_eq!(p.get("FromCity"), Some("Köln"));
        assert_eq!(p.pairs().len(), 4);
    }

    #[test]
    fn rejects_call_sids_that_are_not_identifiers() {
        let p = WebhookParams::parse(b"CallSid=%3Cscript%3E");
        assert_eq!(p.call_sid(), None);
        assert_eq!(WebhookParams::parse(b"").call_sid(), None);
        let long = format!("CallSid={}", "A".repeat(65));
        for body in ["CallSid=", "CallSid=+", "CallSid=CA%C3%B61", long.as_str()] {
            assert_eq!(
                WebhookParams::parse(body.as_bytes()).call_sid(),
                None,
                "{body}"
            );
        }
        // Blanks around it are trimmed; the first CallSid is the one, as for every parameter.
        assert_eq!(
            WebhookParams::parse(b"CallSid=+CA9+&CallSid=CA2").call_sid(),
            Some("CA9")
        );
        assert_eq!(
            WebhookParams::parse(b"CallSid=%3C&CallSid=CA2").call_sid(),
            None
        );
        let pairs = vec![("CallSid".to_owned(), "CA7".to_owned())];
        assert_eq!(WebhookParams::from_pairs(pairs).call_sid(), Some("CA7"));
    }

    #[test]
    fn speech_and_its_confidence_are_read_and_a_bad_confidence_is_none() {
        let p = WebhookParams::parse(b"SpeechResult=eins+zwei+drei&Confidence=0.9342");
        assert_eq!(p.speech_result(), Some("eins zwei drei"));
        assert_eq!(p.confidence(), Some(934));
        for bad in ["", "high", "1.5", "-0.1", "NaN", "inf"] {
            let body = format!("SpeechResult=x&Confidence={bad}");
            assert_eq!(
                WebhookParams::parse(body.as_bytes()).confidence(),
                None,
                "{bad}"
            );
        }
        assert_eq!(
            WebhookParams::parse(b"SpeechResult=+&Digits=1").speech_result(),
            None
        );
    }

    #[test]
    fn missing_from_is_anonymous() {
        assert_eq!(WebhookParams::parse(b"CallSid=CA1").from(), "anonymous");
    }
}
