//! Calls as data: who calls, what they press turn by turn, and what must come out. One format
//! for `liza test` (flows/tests/*.yaml, run offline by [`crate::flowtest`]) and for the
//! golden call transcripts of the server's tests (engine/liza/tests/golden/calls/*.yaml).
//!
//! ```yaml
//! flow: liza
//! tests:
//!   - name: German caller saves a new order
//!     from: "+4915112345678"
//!     input: ["1", "12345#", "1", "2"]   # keys per turn; "" = no input; "hangup"
//!     # words: "say: eins zwei drei" (confidence 1.0), "say~0.3: eins zwei" (0.3)
//!     expect:
//!       status: completed
//! ```

use std::path::Path;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use liza_core::flow::yaml;

/// A file of scenarios for one flow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The flow the calls go to (its `name:`).
    pub flow: String,
    #[serde(default)]
    pub description: Option<String>,
    pub tests: Vec<Scenario>,
}

/// One call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// The caller's number (`From`), or `anonymous`.
    pub from: String,
    /// The moment of the call, for `hours` nodes: `2026-12-24T10:00` (in the flow's first
    /// schedule's zone) or with an offset. A test whose call passes an `hours` node must
    /// have it (else it fails: its result would depend on when it runs).
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub given: Given,
    /// What the caller does, turn by turn.
    pub input: Vec<Input>,
    pub expect: Expect,
}

/// What exists before the call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    #[serde(default)]
    pub records: Vec<RecordSpec>,
    /// What the shop's API answers each fetch node (see [`crate::fetchstub`]); a fetch
    /// without one is `not_configured`.
    #[serde(default)]
    pub fetch: crate::fetchstub::FetchStubs,
    /// The environment values the flow's `${env:…}` may read (a transfer's `SHOP_PHONE`);
    /// nothing else of the environment is read by a test.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Whether the server sends texts (Twilio's account and a sender number set); `false`:
    /// every `sms` node goes on `not_configured`.
    #[serde(default = "texting_by_default")]
    pub sms: bool,
}

impl Default for Given {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            fetch: Default::default(),
            env: Default::default(),
            sms: true,
        }
    }
}

fn texting_by_default() -> bool {
    true
}

/// A record: its kind, key and status.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    pub kind: String,
    pub key: String,
    pub status: String,
}

/// What must come out; what is left out is not checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The messages said, by Fluent id.
    pub says: Option<Vec<String>>,
    /// Texts that must be heard somewhere in the call.
    pub text: Option<Vec<String>>,
    /// The nodes visited, in order.
    pub path: Option<Vec<String>>,
    /// Every record after the call.
    pub records: Option<Vec<RecordSpec>>,
    /// The call's final status.
    pub status: Option<String>,
    /// `given`, `refused` or `none`.
    pub consent: Option<String>,
    /// The text messages the call queued, by Fluent id (`[]`: none).
    pub sms: Option<Vec<String>>,
}

/// What the caller does at one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Keys as typed: `"1"`, `"12345#"` (a trailing `#` ends the entry, as Twilio's
    /// `finishOnKey`, and is not part of the digits sent).
    Keys(String),
    /// No input: the caller lets the Gather time out (`""` or null).
    NoInput,
    /// The caller hangs up (`"hangup"`).
    HangUp,
    /// A transfer's dial is over with Twilio's `DialCallStatus`: `"dial:busy"`,
    /// `"dial:no-answer"`, `"dial:completed"` (answered), `"dial:failed"`, `"dial:canceled"`.
    Dial(String),
    /// Words the caller said at a Gather that listens for them (Twilio's `SpeechResult`):
    /// `"say: eins zwei drei"` is heard with confidence 1.0, `"say~0.3: eins zwei"` with 0.3
    /// (`confidence` in thousandths).
    Said { words: String, confidence: u16 },
    /// The caller left a message at a voicemail (`"recorded"`): its `<Record>` ended with a
    /// recording; `""` there is a message never spoken.
    Recorded,
}

impl Input {
    /// The `Digits` Twilio sends for this turn; `None` when it sends none.
    pub fn digits(&self) -> Option<&str> {
        match self {
            Input::Keys(keys) => Some(keys.trim_end_matches('#')).filter(|d| !d.is_empty()),
            Input::NoInput
            | Input::HangUp
            | Input::Dial(_)
            | Input::Recorded
            | Input::Said { .. } => None,
        }
    }

    /// The `DialCallStatus` Twilio sends for this turn (a transfer's action callback).
    pub fn dial_status(&self) -> Option<&str> {
        match self {
            Input::Dial(status) => Some(status),
            _ => None,
        }
    }

    fn from_keys(keys: &str) -> Result<Self, String> {
        if let Some(rest) = keys.strip_prefix("say") {
            if let Some((confidence, words)) = rest.split_once(':') {
                let confidence = match confidence.strip_prefix('~') {
                    None if confidence.is_empty() => 1000,
                    Some(c) => c
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|c| (0.0..=1.0).contains(c))
                        .map(|c| (c * 1000.0).round() as u16)
                        .ok_or_else(|| {
                            format!("`{keys}`: the confidence after `say~` is a number from 0 to 1, e.g. `say~0.3: eins zwei`")
                        })?,
                    None => return Ok(Input::Keys(keys.to_owned())),
                };
                return Ok(Input::Said {
                    words: words.trim().to_owned(),
                    confidence,
                });
            }
        }
        Ok(match keys {
            "" => Input::NoInput,
            "hangup" => Input::HangUp,
            "recorded" => Input::Recorded,
            keys => match keys.strip_prefix("dial:") {
                Some(status) => Input::Dial(status.trim().to_owned()),
                None => Input::Keys(keys.to_owned()),
            },
        })
    }
}

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Turn;

        impl Visitor<'_> for Turn {
            type Value = Input;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    r#"keys ("123#"), "" for no input, "hangup", "dial:busy", "recorded" or "say: eins zwei""#,
                )
            }

            fn visit_str<E: de::Error>(self, keys: &str) -> Result<Input, E> {
                Input::from_keys(keys).map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, keys: u64) -> Result<Input, E> {
                Ok(Input::Keys(keys.to_string()))
            }

            fn visit_i64<E: de::Error>(self, keys: i64) -> Result<Input, E> {
                Ok(Input::Keys(keys.to_string()))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Input, E> {
                Ok(Input::NoInput)
            }

            fn visit_none<E: de::Error>(self) -> Result<Input, E> {
                Ok(Input::NoInput)
            }
        }

        deserializer.deserialize_any(Turn)
    }
}

/// A YAML data file of the authoring tools (flow tests, fetch fixtures) as JSON with its span
/// index. Err: a message naming the file, and the line and column of a YAML mistake.
pub(crate) fn read_yaml(path: &Path) -> Result<(serde_json::Value, yaml::SpanIndex), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    yaml::parse(&text).map_err(|e| {
        format!(
            "{}:{}:{}: {}",
            path.display(),
            e.position.line,
            e.position.column,
            e.message
        )
    })
}

impl ScenarioFile {
    /// Reads a scenario file. Err: a message naming the file (and line, for YAML errors).
    /// The spans locate each scenario: `spans.key("/tests/N").line`.
    pub fn read(path: &Path) -> Result<(Self, yaml::SpanIndex), String> {
        let (value, spans) = read_yaml(path)?;
        let file = serde_json::from_value(value)
            .map_err(|e| format!("{}: not a flow test file: {e}", path.display()))?;
        Ok((file, spans))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The turns of `input: LIST`, read as a scenario file reads them.
    fn inputs(list: &str) -> Result<Vec<Input>, String> {
        let (value, _) = yaml::parse(&format!("input: {list}")).map_err(|e| e.message)?;
        serde_json::from_value(value["input"].clone()).map_err(|e| e.to_string())
    }

    #[test]
    fn keys_silence_and_hang_up_read_as_turns() {
        let turns =
            inputs(r##"["1", "12345#", "", null, 42, "hangup", "12*4", "#", "dial:no-answer"]"##)
                .unwrap();
        assert_eq!(
            turns,
            [
                Input::Keys("1".into()),
                Input::Keys("12345#".into()),
                Input::NoInput,
                Input::NoInput,
                Input::Keys("42".into()),
                Input::HangUp,
                Input::Keys("12*4".into()),
                Input::Keys("#".into()),
                Input::Dial("no-answer".into()),
            ]
        );
        let digits: Vec<Option<&str>> = turns.iter().map(Input::digits).collect();
        assert_eq!(
            digits,
            [
                Some("1"),
                Some("12345"),
                None,
                None,
                Some("42"),
                None,
                Some("12*4"),
                None,
                None
            ]
        );
    }

    #[test]
    fn a_list_is_not_a_turn() {
        let error = inputs(r#"[["1"]]"#).unwrap_err();
        assert!(
            error
                .contains(r#"keys ("123#"), "" for no input, "hangup", "dial:busy", "recorded" or "say: eins zwei""#),
            "{error}"
        );
    }

    #[test]
    fn words_are_a_turn_with_a_confidence() {
        let turns =
            inputs(r#"["say: eins zwei drei", "say~0.3: one two", "say:", "sayonara"]"#).unwrap();
        assert_eq!(
            turns,
            [
                Input::Said {
                    words: "eins zwei drei".into(),
                    confidence: 1000
                },
                Input::Said {
                    words: "one two".into(),
                    confidence: 300
                },
                Input::Said {
                    words: String::new(),
                    confidence: 1000
                },
                Input::Keys("sayonara".into()),
            ]
        );
        assert_eq!(turns[0].digits(), None);
        let error = inputs(r#"["say~high: eins"]"#).unwrap_err();
        assert!(
            error.contains("the confidence after `say~` is a number from 0 to 1"),
            "{error}"
        );
    }
}
