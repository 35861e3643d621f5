//! Flows: YAML → raw types → checked, compiled [`Flow`].
//!
//! Must not touch: the store, HTTP, TwiML, the clock. Loading reads files; compiling is pure.

pub mod compile;
pub mod fetch;
pub mod hours;

pub mod load;
pub mod raw;
pub mod schema;
pub mod set;
pub mod transfer;
pub mod voicemail;
pub mod yaml;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use regex::Regex;

use crate::i18n::Locales;
use crate::model::{CallStatus, Consent};

pub use crate::diagnostics::{Diagnostic, Diagnostics};
pub use load::{load_flow, load_flows, load_paths};

/// Variables every message may use; their values come from settings.
pub const GLOBAL_VARIABLES: [&str; 2] = ["company", "website"];

/// Webhook names the engine itself answers; a node cannot take them.
/// The most times a `play` node plays its file.
pub const PLAY_MAX_LOOP: u32 = 10;
/// The longest `pause` node, in seconds.
pub const PAUSE_MAX_SECS: u32 = 60;

pub const RESERVED_WEBHOOKS: [&str; 4] = ["voice", "status", "whisper", "recording"];

/// The flow that answers a new call to `to`: one that lists the number, else one that lists none.
pub fn flow_for_number<'a>(flows: &'a [Arc<Flow>], to: &str) -> Option<&'a Arc<Flow>> {
    flows
        .iter()
        .find(|f| f.numbers.iter().any(|n| n == to))
        .or_else(|| flows.iter().find(|f| f.numbers.is_empty()))
        .or_else(|| flows.first())
}

/// A node's index in its flow. Only `compile` makes these, so every id points at a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(u32);

impl NodeId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// A validated flow, ready to run. Carries the locales it was checked against.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    pub description: Option<String>,
    /// Content hash of the flow file and every locale file.
    pub version: String,
    pub path: PathBuf,
    /// The flow file's text, kept to store this version (see [`load::stored_form`]).
    pub source: String,
    pub numbers: Vec<String>,
    pub languages: Languages,
    pub records: IndexMap<String, RecordKind>,
    /// Where consent is asked and what it covers (`privacy:`); `None`: nobody ever consents.
    pub privacy: Option<Privacy>,
    /// Opening hours (`schedules:`), in the order written; `hours` nodes hold an index.
    pub schedules: Vec<hours::Schedule>,
    /// The systems `fetch` nodes talk to (`connections:`), by name.
    pub connections: IndexMap<String, fetch::Connection>,
    pub locales: Arc<Locales>,
    entry: NodeId,
    nodes: Vec<Node>,
    by_name: HashMap<String, NodeId>,
    webhooks: HashMap<String, NodeId>,
    digit_variables: BTreeSet<String>,
}

impl Flow {
    pub fn entry(&self) -> NodeId {
        self.entry
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (NodeId(i as u32), n))
    }

    pub fn node_named(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    /// The input node answering `/webhook/<name>`.
    pub fn webhook(&self, name: &str) -> Option<NodeId> {
        self.webhooks.get(name).copied()
    }

    /// True when a variable holds keyed digits (read back digit by digit).
    pub fn is_digit_variable(&self, name: &str) -> bool {
        self.digit_variables.contains(name)
    }

    /// Every Fluent message id the flow uses: what it speaks, its record kinds' titles and its
    /// steps' labels.
    pub fn message_ids(&self) -> BTreeSet<&str> {
        let mut ids: BTreeSet<&str> = self
            .records
            .values()
            .filter_map(|kind| kind.title.as_deref())
            .chain(self.nodes.iter().filter_map(|node| node.label.as_deref()))
            .collect();
        for node in &self.nodes {
            let lists: Vec<&Vec<String>> = match &node.kind {
                NodeKind::Say { messages, .. } | NodeKind::Hangup { messages, .. } => {
                    vec![messages]
                }
                NodeKind::Gather(g) => {
                    ids.extend(g.input.listen.hints.as_deref());
                    vec![
                        &g.input.prompt,
                        &g.input.on_invalid.messages,
                        &g.input.on_no_input.messages,
                    ]
                }
                NodeKind::Confirm(c) => {
                    ids.extend(c.input.listen.hints.as_deref());
                    ids.extend(c.word_messages.iter().map(|(_, id)| id.as_str()));
                    vec![
                        &c.input.prompt,
                        &c.input.on_invalid.messages,
                        &c.input.on_no_input.messages,
                    ]
                }
                NodeKind::Transfer(t) => {
                    ids.extend(t.whisper.as_deref());
                    vec![&t.say]
                }
                NodeKind::Sms(sms) => {
                    ids.extend(sms.message.as_deref());
                    vec![]
                }
                NodeKind::Voicemail(v) => vec![&v.prompt],
                _ => vec![],
            };
            ids.extend(lists.into_iter().flatten().map(String::as_str));
        }
        ids
    }

    /// The choice of `confirm` whose words (`words:`) the caller said, in the call's
    /// `language`: the whole answer is one of the choice's phrases, case and marks aside.
    pub fn choice_said(&self, confirm: &Confirm, language: &str, said: &str) -> Option<String> {
        let locale = self.locales.negotiate(language, &self.languages.default);
        let said = crate::heard::phrase(said);
        confirm
            .words
            .get(locale)?
            .iter()
            .find(|(_, phrases)| phrases.contains(&said))
            .map(|(choice, _)| choice.clone())
    }

    /// What may be kept in clear of a call whose consent stands at `consent` (privacy by
    /// default: nothing without the flow's `privacy:` block and a consent given).
    pub fn keeps(&self, consent: Option<Consent>) -> Kept {
        match (&self.privacy, consent) {
            (Some(privacy), Some(Consent::Given)) => privacy.covers,
            _ => Kept::default(),
        }
    }

    /// True when `id` is the node that asks for consent.
    pub fn is_consent_node(&self, id: NodeId) -> bool {
        self.privacy.as_ref().is_some_and(|p| p.consent == id)
    }

    /// The language tag for a caller: longest matching prefix, else the default.
    /// `anonymous` and other non-numbers get the default.
    pub fn language_for(&self, from: &str) -> &str {
        if from.starts_with('+') {
            for (prefix, tag) in &self.languages.prefixes {
                if from.starts_with(prefix.as_str()) {
                    return tag;
                }
            }
        }
        &self.languages.default
    }

    /// The voice for a language tag: the flow's choice, else `fallback` (VOICE_NAME).
    pub fn voice_for<'a>(&'a self, language: &str, fallback: &'a str) -> &'a str {
        self.languages
            .voices
            .get(language)
            .map(String::as_str)
            .unwrap_or(fallback)
    }
}

/// The flow's `privacy:` block, resolved.
#[derive(Debug, Clone)]
pub struct Privacy {
    /// The input node that asks for consent.
    pub consent: NodeId,
    /// What a consent given allows to be kept in clear.
    pub covers: Kept,
}

/// What of a caller may be kept in clear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kept {
    /// The caller's phone number (otherwise a keyed hash and a masked form).
    pub caller_number: bool,
    /// Step texts and the digits entered (otherwise node ids and outcomes only).
    pub conversation: bool,
}

impl Kept {
    /// The names `covers:` takes.
    pub const NAMES: [&'static str; 2] = ["caller_number", "conversation"];
}

#[derive(Debug, Clone)]
pub struct Languages {
    pub default: String,
    /// Longest prefix first.
    pub prefixes: Vec<(String, String)>,
    pub voices: HashMap<String, String>,
    /// Languages callers get that have no voice under `voices` (they get VOICE_NAME's), with
    /// where the flow names them.
    pub unvoiced: Vec<(String, crate::diagnostics::Position)>,
}

#[derive(Debug, Clone)]
pub struct RecordKind {
    pub statuses: Vec<String>,
    pub initial: String,
    /// The Fluent message that names this kind on the dashboard (its value: the list's
    /// title; attributes `.one`: one record, `.key`: the key's label). Checked to exist
    /// in every locale.
    pub title: Option<String>,
}

#[derive(Debug)]
pub struct Node {
    pub name: String,
    /// A Fluent message id naming the step on the dashboard's timeline (`label:`); checked to
    /// exist in every locale. None: the timeline shows the node's name.
    pub label: Option<String>,
    pub kind: NodeKind,
}

#[derive(Debug)]
pub enum NodeKind {
    Say {
        messages: Vec<String>,
        next: NodeId,
    },
    Gather(Box<Gather>),
    Confirm(Box<Confirm>),
    Branch {
        on: String,
        cases: Vec<(String, NodeId)>,
        default: NodeId,
    },
    Persist {
        call_status: Option<CallStatus>,
        consent: Option<Consent>,
        record: Option<RecordWrite>,
        next: NodeId,
    },
    Lookup {
        kind: String,
        key: String,
        into: String,
        found: NodeId,
        missing: NodeId,
    },
    Goto(NodeId),
    /// An audio file played to the caller (`<Play loop>`): an `https://` URL, played
    /// `repeat` times (1 to [`PLAY_MAX_LOOP`]).
    Play {
        url: String,
        repeat: u32,
        next: NodeId,
    },
    /// Silence (`<Pause length>`), 1 to [`PAUSE_MAX_SECS`] seconds.
    Pause {
        secs: u32,
        next: NodeId,
    },
    /// Goes on by a schedule (an index into [`Flow::schedules`]) at the turn's instant.
    Hours {
        schedule: usize,
        open: NodeId,
        closed: NodeId,
        periods: Vec<(String, NodeId)>,
    },
    /// Variables set in order (a later value may read an earlier one).
    Set {
        values: Vec<(String, set::Template)>,
        next: NodeId,
    },
    Hangup {
        messages: Vec<String>,
        call_status: CallStatus,
    },
    /// An HTTP request to the shop's own systems (`kind: fetch`); the turn pauses for it.
    Fetch(Box<fetch::Fetch>),
    /// A `<Dial>` to a person (`kind: transfer`); the call waits for the dial's outcome.
    Transfer(Box<transfer::Transfer>),
    /// A `<Record>` of the caller's message (`kind: voicemail`), only after consent.
    Voicemail(Box<voicemail::Voicemail>),
    /// A text message to the caller (`kind: sms`), or only whether one could be sent
    /// (`message` `None`: `check: true`).
    Sms(Box<Sms>),
}

/// An `sms` node: what is sent, and where each outcome goes.
#[derive(Debug)]
pub struct Sms {
    /// The Fluent message that is the text's body, in the caller's language; `None`: the
    /// node only checks whether a text could be sent.
    pub message: Option<String>,
    /// Queued (or, checking, could be sent).
    pub next: NodeId,
    /// The caller's number is not a mobile number.
    pub not_mobile: NodeId,
    /// The caller has not given consent.
    pub no_consent: NodeId,
    /// This server sends no texts (no Twilio account or sender number set).
    pub not_configured: NodeId,
}

impl Sms {
    /// Where each outcome goes, labelled by outcome.
    pub fn edges(&self) -> Vec<(String, NodeId)> {
        vec![
            (
                if self.message.is_some() {
                    "queued"
                } else {
                    "possible"
                }
                .into(),
                self.next,
            ),
            ("not_mobile".into(), self.not_mobile),
            ("no_consent".into(), self.no_consent),
            ("not_configured".into(), self.not_configured),
        ]
    }
}

impl NodeKind {
    /// The kind as written in YAML.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Say { .. } => "say",
            Self::Gather(_) => "gather-digits",
            Self::Confirm(_) => "confirm",
            Self::Branch { .. } => "branch",
            Self::Persist { .. } => "persist",
            Self::Lookup { .. } => "lookup",
            Self::Goto(_) => "goto",
            Self::Play { .. } => "play",
            Self::Pause { .. } => "pause",
            Self::Set { .. } => "set",
            Self::Hours { .. } => "hours",
            Self::Hangup { .. } => "hangup",
            Self::Fetch(_) => "fetch",
            Self::Transfer(_) => "transfer",
            Self::Sms(_) => "sms",
            Self::Voicemail(_) => "voicemail",
        }
    }

    /// Every node this one can lead to, with a label for the edge.
    pub fn edges(&self) -> Vec<(String, NodeId)> {
        let mut out = Vec::new();
        let input_edges = |input: &InputSpec, out: &mut Vec<(String, NodeId)>| {
            if let Some(goto) = input.on_invalid.goto {
                out.push(("invalid".into(), goto));
            }
            if let Some(goto) = input.on_no_input.goto {
                out.push(("no input".into(), goto));
            }
            out.push(("exhausted".into(), input.on_exhausted));
        };
        match self {
            Self::Say { next, .. }
            | Self::Persist { next, .. }
            | Self::Goto(next)
            | Self::Play { next, .. }
            | Self::Pause { next, .. }
            | Self::Set { next, .. } => out.push((String::new(), *next)),
            Self::Gather(g) => {
                out.push(("valid".into(), g.next));
                input_edges(&g.input, &mut out);
            }
            Self::Confirm(c) => {
                for (digit, target) in &c.choices {
                    out.push((digit.clone(), *target));
                }
                input_edges(&c.input, &mut out);
            }
            Self::Branch { cases, default, .. } => {
                for (value, target) in cases {
                    out.push((value.clone(), *target));
                }
                out.push(("default".into(), *default));
            }
            Self::Hours {
                open,
                closed,
                periods,
                ..
            } => {
                for (period, target) in periods {
                    out.push((period.clone(), *target));
                }
                out.push(("open".into(), *open));
                out.push(("closed".into(), *closed));
            }
            Self::Lookup { found, missing, .. } => {
                out.push(("found".into(), *found));
                out.push(("missing".into(), *missing));
            }
            Self::Fetch(f) => out.extend(f.edges()),
            Self::Transfer(t) => out.extend(t.edges()),
            Self::Sms(s) => out.extend(s.edges()),
            Self::Voicemail(v) => out.extend(v.edges()),
            Self::Hangup { .. } => {}
        }
        out
    }

    /// True for nodes that wait for the caller.
    pub fn takes_input(&self) -> bool {
        match self {
            Self::Gather(_) | Self::Confirm(_) | Self::Voicemail(_) => true,
            // A check dials nothing and waits for nobody.
            Self::Transfer(t) => t.check.is_none(),
            _ => false,
        }
    }
}

/// The prompt of an input node (empty for other nodes).
pub fn input_prompt(kind: &NodeKind) -> &[String] {
    match kind {
        NodeKind::Gather(g) => &g.input.prompt,
        NodeKind::Confirm(c) => &c.input.prompt,
        _ => &[],
    }
}

/// What every input node shares.
#[derive(Debug)]
pub struct InputSpec {
    pub webhook: String,
    pub prompt: Vec<String>,
    pub timeout_secs: u32,
    pub attempts: u32,
    pub on_invalid: Retry,
    pub on_no_input: Retry,
    pub on_exhausted: NodeId,
    /// Keys, words or both (`input:`), and how words are heard.
    pub listen: Listen,
}

/// How an input node takes its answer: keys (`dtmf`), words (`speech`) or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub dtmf: bool,
    pub speech: bool,
    /// A Fluent message whose text is Twilio's `hints` in the call's language (`hints:`).
    pub hints: Option<String>,
    /// Words heard with a lower confidence, in thousandths, are not understood
    /// (`min_confidence:`, default 0.5).
    pub min_confidence: u16,
}

impl Listen {
    /// The input names `input:` takes.
    pub const INPUTS: [&'static str; 2] = ["dtmf", "speech"];
    /// `min_confidence` when none is written.
    pub const DEFAULT_MIN_CONFIDENCE: u16 = 500;

    /// Twilio's `<Gather input>`: `dtmf`, `speech` or `dtmf speech`.
    pub fn twilio_input(&self) -> &'static str {
        match (self.dtmf, self.speech) {
            (true, true) => "dtmf speech",
            (false, true) => "speech",
            _ => "dtmf",
        }
    }
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            dtmf: true,
            speech: false,
            hints: None,
            min_confidence: Self::DEFAULT_MIN_CONFIDENCE,
        }
    }
}

/// Said before asking again; `goto` sends the caller elsewhere instead of re-asking.
#[derive(Debug, Default)]
pub struct Retry {
    pub messages: Vec<String>,
    pub goto: Option<NodeId>,
}

#[derive(Debug)]
pub struct Gather {
    pub input: InputSpec,
    pub into: String,
    pub min_length: u32,
    pub max_length: u32,
    pub finish_on_key: Option<String>,
    pub pattern: Option<Regex>,
    pub next: NodeId,
}

impl Gather {
    /// True when `digits` is an acceptable answer.
    pub fn accepts(&self, digits: &str) -> bool {
        let len = digits.chars().count() as u32;
        len >= self.min_length
            && len <= self.max_length
            && digits.chars().all(|c| c.is_ascii_digit() || c == '*')
            && self.pattern.as_ref().is_none_or(|p| p.is_match(digits))
    }
}

#[derive(Debug)]
pub struct Confirm {
    pub input: InputSpec,
    pub choices: Vec<(String, NodeId)>,
    /// What a caller may say for a choice (`words:`), per locale in the order of
    /// [`Locales::all`]: (choice key, its phrases as [`crate::heard::phrase`] writes them).
    pub words: Vec<Vec<(String, Vec<String>)>>,
    /// The Fluent message of each choice's words, as written: (choice key, message id).
    pub word_messages: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct RecordWrite {
    pub kind: String,
    pub key: String,
    pub status_into: Option<String>,
}
