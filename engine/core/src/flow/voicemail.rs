//! The `voicemail` node: a `<Record>` of the caller's message, made only for a call whose
//! caller consented (the node checks the call's consent when it is reached: without it the
//! call goes to `no_consent` and nothing is recorded). Twilio keeps the audio; its recording
//! status callback (`/webhook/recording`) tells the engine the recording's URL and duration.

use super::NodeId;

/// Seconds a message may last (`<Record maxLength>`), and its bounds.
pub const DEFAULT_MAX_LENGTH_SECS: u32 = 120;
pub const MIN_MAX_LENGTH_SECS: u32 = 1;
pub const MAX_MAX_LENGTH_SECS: u32 = 3600;

/// The webhook Twilio's recording status callback posts to; reserved: no node may take it.
pub const RECORDING_WEBHOOK: &str = "recording";

/// A compiled `voicemail` node.
#[derive(Debug)]
pub struct Voicemail {
    /// Said before the beep.
    pub prompt: Vec<String>,
    pub max_length_secs: u32,
    /// Keys that end the message (`<Record finishOnKey>`).
    pub finish_on_key: String,
    /// `<Record playBeep>`.
    pub beep: bool,
    /// The action callback's name: `/webhook/<webhook>`.
    pub webhook: String,
    pub next: VoicemailNext,
}

#[derive(Debug)]
pub struct VoicemailNext {
    /// A message was recorded.
    pub recorded: NodeId,
    /// The caller said nothing (default: `recorded`'s node).
    pub empty: NodeId,
    /// The caller has not consented: nothing recorded.
    pub no_consent: NodeId,
}

impl Voicemail {
    pub fn edges(&self) -> Vec<(String, NodeId)> {
        let n = &self.next;
        let mut out = vec![("recorded".to_owned(), n.recorded)];
        if n.empty != n.recorded {
            out.push(("empty".to_owned(), n.empty));
        }
        out.push(("no_consent".to_owned(), n.no_consent));
        out
    }
}

/// True for keys Twilio takes as `finishOnKey`: digits, `*` and `#`.
pub fn is_finish_keys(keys: &str) -> bool {
    !keys.is_empty()
        && keys
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}
