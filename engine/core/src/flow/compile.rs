//! Raw flow → [`Flow`]: resolves every reference and checks the flow as a whole.
//! All problems are collected in one pass; nothing is compiled while any remains.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use regex::Regex;

use super::hours::{self, Schedule};
use super::raw::{RawFlow, RawHours, RawMessages, RawNode, RawRetry};
use super::set::Template;
use super::yaml::{pointer_segment, SpanIndex};
use super::{
    Confirm, Flow, Gather, InputSpec, Kept, Languages, Listen, Node, NodeId, NodeKind, Privacy,
    RecordKind, RecordWrite, Retry, Sms, GLOBAL_VARIABLES, RESERVED_WEBHOOKS,
};
use crate::diagnostics::{did_you_mean, Diagnostic, Diagnostics, Position};
use crate::i18n::Locales;
use crate::model::{CallStatus, Consent};

mod fetch;
mod transfer;
mod voicemail;

struct Compiler<'a> {
    file: &'a Path,
    source: &'a str,
    spans: &'a SpanIndex,
    locales: &'a Locales,
    names: HashMap<String, NodeId>,
    variables: BTreeSet<String>,
    diagnostics: Diagnostics,
    /// Per locale (by tag): how many of the flow's messages it has, and the ids it lacks.
    found_in_locale: HashMap<String, (usize, Vec<String>)>,
}

impl Compiler<'_> {
    fn error_at(&mut self, position: Position, node: Option<&str>, message: String) {
        let mut d = Diagnostic::error(self.file, position, message).with_source(self.source);
        if let Some(node) = node {
            d = d.in_node(node);
        }
        self.diagnostics.push(d);
    }

    fn error(&mut self, pointer: &str, node: Option<&str>, message: String) {
        let position = self.spans.value(pointer);
        self.error_at(position, node, message);
    }

    /// Where outcome `outcome` of node `name` (at `p`) goes: its `next.<outcome>`, or, when
    /// it has none, an error at `missing_at` that it leads nowhere (`tail` ends the message:
    /// what the node's outcomes are, or where such an outcome usually goes).
    fn outcome_target(
        &mut self,
        name: &str,
        p: &str,
        outcome: &str,
        given: Option<&String>,
        missing_at: Position,
        tail: &str,
    ) -> Option<NodeId> {
        match given {
            Some(target) => Some(self.target(
                name,
                &format!("next.{outcome}"),
                &format!("{p}/next/{outcome}"),
                target,
            )),
            None => {
                self.error_at(
                    missing_at,
                    Some(name),
                    format!(
                        "outcome `{outcome}` leads nowhere: add `{outcome}: <node>` under `next`{tail}"
                    ),
                );
                None
            }
        }
    }

    /// Resolves a node name written at `pointer` (`field` names it in the message).
    fn target(&mut self, node: &str, field: &str, pointer: &str, name: &str) -> NodeId {
        if let Some(id) = self.names.get(name) {
            return *id;
        }
        let hint = did_you_mean(name, self.names.keys().map(String::as_str));
        self.error(
            pointer,
            Some(node),
            format!("{field} `{name}` does not exist{hint}"),
        );
        NodeId(0)
    }

    /// Checks that each message exists in every locale with the variables it needs.
    fn messages(
        &mut self,
        node: Option<&str>,
        pointer: &str,
        messages: &RawMessages,
    ) -> Vec<String> {
        let ids: Vec<String> = messages.ids().into_iter().map(str::to_owned).collect();
        for (i, id) in ids.iter().enumerate() {
            let at = match messages {
                RawMessages::One(_) => pointer.to_owned(),
                RawMessages::Many(_) => format!("{pointer}/{i}"),
            };
            for locale in self.locales.all() {
                let lang = locale.langid.to_string();
                let counts = self.found_in_locale.entry(lang.clone()).or_default();
                if locale.message(id).is_none() {
                    if !counts.1.contains(id) {
                        counts.1.push(id.clone());
                    }
                } else {
                    counts.0 += 1;
                }
                if locale.message(id).is_none() {
                    let hint = did_you_mean(id, locale.message_ids());
                    self.error(
                        &at,
                        node,
                        format!(
                            "message `{id}` is missing in locale `{lang}` ({}){hint}",
                            locale.dir.display()
                        ),
                    );
                    continue;
                }
                let unknown: Vec<String> = locale
                    .variables_needed(id)
                    .into_iter()
                    .filter(|v| !self.variables.contains(v))
                    .collect();
                for variable in unknown {
                    let known: Vec<&str> = self.variables.iter().map(String::as_str).collect();
                    let dollars: Vec<String> = known.iter().map(|k| format!("${k}")).collect();
                    let hint = match did_you_mean(
                        &format!("${variable}"),
                        dollars.iter().map(String::as_str),
                    ) {
                        h if h.is_empty() => format!(" (known: {})", known.join(", ")),
                        h => h,
                    };
                    // Pointed at in the .ftl file, where the typo is; the flow's line is named.
                    let used_at = self.spans.value(&at);
                    let info = locale.message(id).expect("checked above");
                    let position = crate::i18n::variable_position(&info.source, id, &variable)
                        .unwrap_or(info.position);
                    let mut d = Diagnostic::error(
                        &info.file,
                        position,
                        format!(
                            "message `{id}` uses `${variable}`, which nothing in the flow sets{hint}; used at {}:{}",
                            self.file.display(),
                            used_at.line
                        ),
                    )
                    .with_source(&info.source);
                    if let Some(node) = node {
                        d = d.in_node(node);
                    }
                    self.diagnostics.push(d);
                }
            }
        }
        ids
    }

    fn retry(&mut self, node: &str, pointer: &str, retry: Option<&RawRetry>) -> Retry {
        let Some(retry) = retry else {
            return Retry::default();
        };
        let messages = match &retry.say {
            Some(m) => self.messages(Some(node), &format!("{pointer}/say"), m),
            None => Vec::new(),
        };
        let goto = retry
            .goto
            .as_ref()
            .map(|g| self.target(node, "goto", &format!("{pointer}/goto"), g));
        Retry { messages, goto }
    }

    /// The position of the `offset`th byte of the string value at `pointer`, when it is
    /// written on one line (after its opening quote, if quoted); else the value's start.
    fn in_string(&self, pointer: &str, offset: usize) -> Position {
        let start = self.spans.value(pointer);
        let Some(line) = self.source.lines().nth(start.line.saturating_sub(1)) else {
            return start;
        };
        let rest: String = line.chars().skip(start.column.saturating_sub(1)).collect();
        let quoted = rest.starts_with('"') || rest.starts_with('\'');
        let body = if quoted { &rest[1..] } else { rest.as_str() };
        let Some(before) = body.get(..offset) else {
            return start;
        };
        if quoted && before.contains('\\') {
            return start;
        }
        Position {
            line: start.line,
            column: start.column + usize::from(quoted) + before.chars().count(),
        }
    }

    fn check_variable(&mut self, node: &str, pointer: &str, name: &str) {
        if !self.variables.contains(name) {
            let hint = did_you_mean(name, self.variables.iter().map(String::as_str));
            self.error(
                pointer,
                Some(node),
                format!("variable `{name}` is never set{hint}"),
            );
        }
    }

    fn record_kind(&mut self, flow: &RawFlow, node: &str, pointer: &str, kind: &str) {
        if !flow.records.contains_key(kind) {
            let hint = did_you_mean(kind, flow.records.keys().map(String::as_str));
            self.error(
                pointer,
                Some(node),
                format!("record kind `{kind}` is not declared under `records`{hint}"),
            );
        }
    }
}

fn status_of(value: &str) -> CallStatus {
    CallStatus::parse(value).unwrap_or(CallStatus::Problem)
}

/// Compiles a raw flow. `version` identifies the flow file and locales it came from.
pub fn compile(
    raw: RawFlow,
    file: &Path,
    source: &str,
    spans: &SpanIndex,
    locales: Arc<Locales>,
    version: String,
) -> Result<Flow, Diagnostics> {
    let shared_locales = locales.clone();
    let mut c = Compiler {
        file,
        source,
        spans,
        locales: &shared_locales,
        names: raw
            .nodes
            .keys()
            .enumerate()
            .map(|(i, name)| (name.clone(), NodeId(i as u32)))
            .collect(),
        variables: GLOBAL_VARIABLES.iter().map(|v| v.to_string()).collect(),
        diagnostics: Diagnostics::default(),
        found_in_locale: HashMap::new(),
    };

    // Variables any node sets; messages may use these and the globals.
    let mut digit_variables = BTreeSet::new();
    for node in raw.nodes.values().map(|entry| &entry.node) {
        match node {
            RawNode::GatherDigits { into, .. } => {
                digit_variables.insert(into.clone());
                c.variables.insert(into.clone());
            }
            RawNode::Lookup { into, .. } => {
                c.variables.insert(into.clone());
            }
            RawNode::Fetch { set, .. } => {
                c.variables.extend(set.keys().cloned());
            }
            RawNode::Set { values, .. } => {
                c.variables.extend(values.keys().cloned());
            }
            RawNode::Persist {
                record: Some(r), ..
            } => {
                if let Some(v) = &r.status_into {
                    c.variables.insert(v.clone());
                }
            }
            _ => {}
        }
    }

    // A `set` that copies a keyed variable (`$order_number`) keeps it read digit by digit.
    for node in raw.nodes.values().map(|entry| &entry.node) {
        if let RawNode::Set { values, .. } = node {
            for (name, value) in values {
                let copied = value.as_str().and_then(|v| v.strip_prefix('$'));
                if copied.is_some_and(|v| digit_variables.contains(v)) {
                    digit_variables.insert(name.clone());
                }
            }
        }
    }

    let languages = compile_languages(&mut c, &raw);
    let records = compile_records(&mut c, &raw);
    let schedules = compile_schedules(&mut c, &raw);
    let connections = c.connections(&raw);

    let entry = c.target("", "entry", "/entry", &raw.entry);
    if !c.names.contains_key(&raw.entry) {
        // The error above names no node; keep the message free of an empty name.
        if let Some(last) = c.diagnostics.0.last_mut() {
            last.node = None;
        }
    }

    let mut nodes = Vec::with_capacity(raw.nodes.len());
    let mut webhooks: HashMap<String, NodeId> = HashMap::new();
    for (index, (name, entry)) in raw.nodes.iter().enumerate() {
        let p = format!("/nodes/{}", pointer_segment(name));
        let kind = compile_node(&mut c, &raw, name, &p, &entry.node);
        let label = entry.label.as_ref().map(|label| {
            c.messages(
                Some(name),
                &format!("{p}/label"),
                &RawMessages::One(label.clone()),
            );
            label.clone()
        });
        if let NodeKind::Gather(g) = &kind {
            register_webhook(&mut c, &mut webhooks, name, &p, &g.input.webhook, index);
        }
        if let NodeKind::Confirm(cf) = &kind {
            register_webhook(&mut c, &mut webhooks, name, &p, &cf.input.webhook, index);
        }
        if let NodeKind::Transfer(t) = &kind {
            if t.check.is_none() && !t.webhook.is_empty() {
                register_webhook(&mut c, &mut webhooks, name, &p, &t.webhook, index);
            }
        }
        if let NodeKind::Voicemail(v) = &kind {
            register_webhook(&mut c, &mut webhooks, name, &p, &v.webhook, index);
        }
        nodes.push(Node {
            name: name.clone(),
            label,
            kind,
        });
    }

    let mut privacy = None;
    if !c.diagnostics.has_errors() {
        check_graph(&mut c, &nodes, entry);
        privacy = compile_privacy(&mut c, &raw, &nodes);
    }

    one_error_per_empty_locale(&mut c);

    if c.diagnostics.has_errors() {
        let mut d = c.diagnostics;
        d.sort();
        return Err(d);
    }
    Ok(Flow {
        name: raw.name,
        description: raw.description,
        version,
        path: file.to_path_buf(),
        source: source.to_owned(),
        numbers: raw.numbers,
        languages,
        records,
        privacy,
        schedules,
        connections,
        locales,
        entry,
        by_name: c.names,
        nodes,
        webhooks,
        digit_variables,
    })
}

fn register_webhook(
    c: &mut Compiler<'_>,
    webhooks: &mut HashMap<String, NodeId>,
    name: &str,
    pointer: &str,
    webhook: &str,
    index: usize,
) {
    let at = format!("{pointer}/webhook");
    if RESERVED_WEBHOOKS.contains(&webhook) {
        c.error(
            &at,
            Some(name),
            format!("webhook `{webhook}` is reserved for the engine (/webhook/{webhook})"),
        );
    } else if let Some(other) = webhooks.get(webhook) {
        let other_name = c
            .names
            .iter()
            .find(|(_, id)| *id == other)
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        c.error(
            &at,
            Some(name),
            format!("webhook `{webhook}` is already used by node `{other_name}`"),
        );
    } else {
        webhooks.insert(webhook.to_owned(), NodeId(index as u32));
    }
}

fn compile_languages(c: &mut Compiler<'_>, raw: &RawFlow) -> Languages {
    let check_tag = |c: &mut Compiler<'_>, pointer: &str, tag: &str| {
        let Ok(langid) = tag.parse::<unic_langid::LanguageIdentifier>() else {
            c.error(
                pointer,
                None,
                format!("`{tag}` is not a language tag (expected e.g. `de-DE`)"),
            );
            return;
        };
        let served = c.locales.get(c.locales.negotiate(tag, tag));
        if served.langid.language != langid.language {
            c.error(
                pointer,
                None,
                format!(
                    "no locale serves `{tag}`: add a `{}` directory with .ftl files",
                    langid.language
                ),
            );
        }
    };
    check_tag(c, "/languages/default", &raw.languages.default);
    let mut prefixes = Vec::new();
    for (prefix, tag) in &raw.languages.prefixes {
        let p = format!("/languages/prefixes/{}", pointer_segment(prefix));
        check_tag(c, &p, tag);
        prefixes.push((prefix.clone(), tag.clone()));
    }
    prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    let used: BTreeSet<&str> = std::iter::once(raw.languages.default.as_str())
        .chain(raw.languages.prefixes.values().map(String::as_str))
        .collect();
    for tag in raw.languages.voices.keys() {
        if !used.contains(tag.as_str()) {
            let p = format!("/languages/voices/{}", pointer_segment(tag));
            let position = c.spans.key(&p);
            c.error_at(
                position,
                None,
                format!(
                    "voice for `{tag}`, a language no caller gets{}",
                    did_you_mean(tag, used.iter().copied())
                ),
            );
        }
    }
    let unvoiced = check_voices(c, raw, &used);
    Languages {
        default: raw.languages.default.clone(),
        prefixes,
        unvoiced,
        voices: raw.languages.voices.clone().into_iter().collect(),
    }
}

/// A voice chosen for a language it does not speak (`voices.rs`'s table) is an error. Returns
/// the languages callers get that have no voice chosen, with where the flow names them.
fn check_voices(
    c: &mut Compiler<'_>,
    raw: &RawFlow,
    used: &BTreeSet<&str>,
) -> Vec<(String, Position)> {
    for (tag, voice) in &raw.languages.voices {
        if !used.contains(tag.as_str()) {
            continue;
        }
        let p = format!("/languages/voices/{}", pointer_segment(tag));
        if crate::voices::speaks(voice, tag) == Some(false) {
            let speaks = crate::voices::languages(voice)
                .unwrap_or_default()
                .join(", ");
            c.error(
                &p,
                None,
                format!(
                    "voice `{voice}` speaks {speaks}, not `{tag}`: callers who get `{tag}` would hear its messages in the wrong voice or not at all{}",
                    crate::voices::suggest(tag)
                ),
            );
        }
    }
    // A language without a voice of its own gets VOICE_NAME's, which only the server knows:
    // `liza check` warns when that one does not speak it (lint).
    used.iter()
        .filter(|tag| !raw.languages.voices.contains_key(**tag))
        .map(|tag| {
            let p = if *tag == raw.languages.default {
                "/languages/default".to_owned()
            } else {
                raw.languages
                    .prefixes
                    .iter()
                    .find(|(_, t)| t.as_str() == *tag)
                    .map(|(prefix, _)| format!("/languages/prefixes/{}", pointer_segment(prefix)))
                    .unwrap_or_else(|| "/languages".to_owned())
            };
            (tag.to_string(), c.spans.value(&p))
        })
        .collect()
}

/// A `play` node's file: an `https://` URL Twilio can fetch, written out in the flow.
fn check_audio_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("https://") else {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        return Err(if scheme == "http" {
            format!("`{url}` is not https: Twilio fetches the file over the internet, write `https://…`")
        } else {
            format!("`{url}` is not an audio file's URL: write `https://host/path/file.mp3`")
        });
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || url.contains(char::is_whitespace) || url.chars().any(char::is_control) {
        return Err(format!(
            "`{url}` is not an audio file's URL: write `https://host/path/file.mp3` (no spaces)"
        ));
    }
    if url.contains("${") || url.contains('{') {
        return Err(format!(
            "`{url}`: a `play` node's URL is written out, without variables or `${{env:…}}`"
        ));
    }
    Ok(())
}

fn compile_records(c: &mut Compiler<'_>, raw: &RawFlow) -> indexmap::IndexMap<String, RecordKind> {
    let mut out = indexmap::IndexMap::new();
    for (name, kind) in &raw.records {
        if !kind.statuses.contains(&kind.initial) {
            let p = format!("/records/{}/initial", pointer_segment(name));
            c.error(
                &p,
                None,
                format!(
                    "initial status `{}` is not one of the statuses of `{name}`{}",
                    kind.initial,
                    did_you_mean(&kind.initial, kind.statuses.iter().map(String::as_str))
                ),
            );
        }
        if let Some(title) = &kind.title {
            let p = format!("/records/{}/title", pointer_segment(name));
            c.messages(None, &p, &RawMessages::One(title.clone()));
        }
        out.insert(
            name.clone(),
            RecordKind {
                statuses: kind.statuses.clone(),
                initial: kind.initial.clone(),
                title: kind.title.clone(),
            },
        );
    }
    out
}

#[allow(clippy::too_many_lines)]
fn compile_node(
    c: &mut Compiler<'_>,
    raw: &RawFlow,
    name: &str,
    p: &str,
    node: &RawNode,
) -> NodeKind {
    let at = |field: &str| format!("{p}/{field}");
    match node {
        RawNode::Say { say, next } => NodeKind::Say {
            messages: c.messages(Some(name), &at("say"), say),
            next: c.target(name, "next", &at("next"), next),
        },
        RawNode::GatherDigits {
            webhook,
            prompt,
            into,
            min_length,
            max_length,
            finish_on_key,
            timeout,
            pattern,
            attempts,
            input,
            hints,
            min_confidence,
            on_invalid,
            on_no_input,
            on_exhausted,
            next,
        } => {
            if min_length > max_length {
                c.error(
                    &at("min_length"),
                    Some(name),
                    format!("min_length {min_length} is greater than max_length {max_length}"),
                );
            }
            let pattern = pattern
                .as_ref()
                .and_then(|pattern| match Regex::new(pattern) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        c.error(
                            &at("pattern"),
                            Some(name),
                            // The regex error spans lines; its last one says what is wrong.
                            format!(
                                "pattern is not a valid regular expression: {}",
                                e.to_string()
                                    .lines()
                                    .last()
                                    .unwrap_or_default()
                                    .trim_start_matches("error: ")
                            ),
                        );
                        None
                    }
                });
            let listen = compile_listen(c, name, p, input.as_deref(), hints, *min_confidence);
            let input = compile_input(
                c,
                name,
                p,
                webhook,
                prompt,
                *timeout,
                *attempts,
                on_invalid.as_ref(),
                on_no_input.as_ref(),
                on_exhausted,
                listen,
            );
            NodeKind::Gather(Box::new(Gather {
                input,
                into: into.clone(),
                min_length: *min_length,
                max_length: *max_length,
                finish_on_key: Some(finish_on_key.clone()).filter(|k| !k.is_empty()),
                pattern,
                next: c.target(name, "next", &at("next"), next),
            }))
        }
        RawNode::Confirm {
            webhook,
            prompt,
            choices,
            words,
            timeout,
            attempts,
            input,
            hints,
            min_confidence,
            on_invalid,
            on_no_input,
            on_exhausted,
        } => {
            let listen = compile_listen(c, name, p, input.as_deref(), hints, *min_confidence);
            let input = compile_input(
                c,
                name,
                p,
                webhook,
                prompt,
                *timeout,
                *attempts,
                on_invalid.as_ref(),
                on_no_input.as_ref(),
                on_exhausted,
                listen,
            );
            let (words, word_messages) = compile_choice_words(c, name, p, choices, words, &input);
            let choices = choices
                .iter()
                .map(|(digit, target)| {
                    let tp = format!("{p}/choices/{}", pointer_segment(digit));
                    (
                        digit.clone(),
                        c.target(name, &format!("choice `{digit}`"), &tp, target),
                    )
                })
                .collect();
            NodeKind::Confirm(Box::new(Confirm {
                input,
                choices,
                words,
                word_messages,
            }))
        }
        RawNode::Branch { on, cases, default } => {
            c.check_variable(name, &at("on"), on);
            let cases = cases
                .iter()
                .map(|(value, target)| {
                    let tp = format!("{p}/cases/{}", pointer_segment(value));
                    (
                        value.clone(),
                        c.target(name, &format!("case `{value}`"), &tp, target),
                    )
                })
                .collect();
            NodeKind::Branch {
                on: on.clone(),
                cases,
                default: c.target(name, "default", &at("default"), default),
            }
        }
        RawNode::Persist {
            call_status,
            consent,
            record,
            next,
        } => {
            let record = record.as_ref().map(|r| {
                c.record_kind(raw, name, &at("record/kind"), &r.kind);
                c.check_variable(name, &at("record/key"), &r.key);
                RecordWrite {
                    kind: r.kind.clone(),
                    key: r.key.clone(),
                    status_into: r.status_into.clone(),
                }
            });
            NodeKind::Persist {
                call_status: call_status.as_deref().map(status_of),
                consent: consent.as_deref().and_then(Consent::parse),
                record,
                next: c.target(name, "next", &at("next"), next),
            }
        }
        RawNode::Lookup {
            record,
            key,
            into,
            found,
            missing,
        } => {
            c.record_kind(raw, name, &at("record"), record);
            c.check_variable(name, &at("key"), key);
            NodeKind::Lookup {
                kind: record.clone(),
                key: key.clone(),
                into: into.clone(),
                found: c.target(name, "found", &at("found"), found),
                missing: c.target(name, "missing", &at("missing"), missing),
            }
        }
        RawNode::Goto { next } => NodeKind::Goto(c.target(name, "next", &at("next"), next)),
        RawNode::Play { url, repeat, next } => {
            if let Err(problem) = check_audio_url(url) {
                c.error(&at("url"), Some(name), problem);
            }
            let repeat = repeat.unwrap_or(1);
            if !(1..=super::PLAY_MAX_LOOP).contains(&repeat) {
                c.error(
                    &at("loop"),
                    Some(name),
                    format!(
                        "`loop: {repeat}`: a `play` node plays its file 1 to {} times (Twilio's `loop: 0` would play it until the call ends, and the flow would never go on)",
                        super::PLAY_MAX_LOOP
                    ),
                );
            }
            NodeKind::Play {
                url: url.clone(),
                repeat,
                next: c.target(name, "next", &at("next"), next),
            }
        }
        RawNode::Pause { length, next } => {
            if !(1..=super::PAUSE_MAX_SECS).contains(length) {
                c.error(
                    &at("length"),
                    Some(name),
                    format!(
                        "`length: {length}`: a pause lasts 1 to {} seconds",
                        super::PAUSE_MAX_SECS
                    ),
                );
            }
            NodeKind::Pause {
                secs: *length,
                next: c.target(name, "next", &at("next"), next),
            }
        }
        RawNode::Fetch { .. } => NodeKind::Fetch(Box::new(c.fetch_node(raw, name, p, node))),
        RawNode::Transfer { .. } => NodeKind::Transfer(Box::new(c.transfer_node(name, p, node))),
        RawNode::Sms {
            message,
            check,
            next,
            not_mobile,
            no_consent,
            not_configured,
        } => {
            let message = match (message, check) {
                (Some(id), false) => c
                    .messages(Some(name), &at("message"), &RawMessages::One(id.clone()))
                    .pop(),
                (Some(_), true) => {
                    c.error(
                        &at("check"),
                        Some(name),
                        "an `sms` node with `check: true` sends nothing; remove `message` (or `check`)".to_owned(),
                    );
                    None
                }
                (None, true) => None,
                (None, false) => {
                    let position = c.spans.key(p);
                    c.error_at(
                        position,
                        Some(name),
                        "an `sms` node needs `message` (the Fluent message that is the text), or `check: true` to only ask whether a text could be sent".to_owned(),
                    );
                    None
                }
            };
            NodeKind::Sms(Box::new(Sms {
                message,
                next: c.target(name, "next", &at("next"), next),
                not_mobile: c.target(name, "not_mobile", &at("not_mobile"), not_mobile),
                no_consent: c.target(name, "no_consent", &at("no_consent"), no_consent),
                not_configured: c.target(
                    name,
                    "not_configured",
                    &at("not_configured"),
                    not_configured,
                ),
            }))
        }
        RawNode::Voicemail { .. } => {
            NodeKind::Voicemail(Box::new(c.voicemail_node(raw, name, p, node)))
        }
        RawNode::Hours {
            schedule,
            open,
            closed,
            periods,
        } => {
            let index = raw.schedules.get_index_of(schedule).unwrap_or_else(|| {
                let hint = did_you_mean(schedule, raw.schedules.keys().map(String::as_str));
                let none = if raw.schedules.is_empty() {
                    " (this flow has no `schedules:` block; docs/flow-language.md#hours)"
                } else {
                    ""
                };
                c.error(
                    &at("schedule"),
                    Some(name),
                    format!("schedule `{schedule}` is not declared under `schedules`{hint}{none}"),
                );
                0
            });
            let declared: Vec<&str> = raw
                .schedules
                .get(schedule)
                .map(|s| s.periods.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let periods = periods
                .iter()
                .map(|(period, target)| {
                    let pp = format!("{p}/periods/{}", pointer_segment(period));
                    if raw.schedules.contains_key(schedule) && !declared.contains(&period.as_str())
                    {
                        let position = c.spans.key(&pp);
                        let known = if declared.is_empty() {
                            "it names no periods".to_owned()
                        } else {
                            format!("its periods: {}", declared.join(", "))
                        };
                        c.error_at(
                            position,
                            Some(name),
                            format!(
                                "period `{period}` is not declared in schedule `{schedule}`{} ({known})",
                                did_you_mean(period, declared.iter().copied())
                            ),
                        );
                    }
                    (
                        period.clone(),
                        c.target(name, &format!("period `{period}`"), &pp, target),
                    )
                })
                .collect();
            NodeKind::Hours {
                schedule: index,
                open: c.target(name, "open", &at("open"), open),
                closed: c.target(name, "closed", &at("closed"), closed),
                periods,
            }
        }
        RawNode::Set { values, next } => NodeKind::Set {
            values: compile_set_values(c, name, &at("values"), values),
            next: c.target(name, "next", &at("next"), next),
        },
        RawNode::Hangup { say, call_status } => NodeKind::Hangup {
            messages: say
                .as_ref()
                .map(|m| c.messages(Some(name), &at("say"), m))
                .unwrap_or_default(),
            call_status: call_status
                .as_deref()
                .map_or(CallStatus::Completed, status_of),
        },
    }
}

/// A `set` node's values: no engine variable overwritten, placeholders well formed, every
/// variable read set somewhere in the flow.
fn compile_set_values(
    c: &mut Compiler<'_>,
    name: &str,
    p: &str,
    values: &indexmap::IndexMap<String, serde_json::Value>,
) -> Vec<(String, Template)> {
    let mut out = Vec::new();
    for (variable, value) in values {
        let vp = format!("{p}/{}", pointer_segment(variable));
        if GLOBAL_VARIABLES.contains(&variable.as_str()) {
            let position = c.spans.key(&vp);
            c.error_at(
                position,
                Some(name),
                format!(
                    "`{variable}` is set by the engine (from {}); give your variable another name",
                    if variable == "company" {
                        "COMPANY_NAME"
                    } else {
                        "WEBSITE_URL"
                    }
                ),
            );
        }
        // Numbers and yes/no are written as YAML reads them; the schema allows nothing else.
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match Template::parse(&text) {
            Ok(template) => {
                let unknown: Vec<String> = template
                    .variables()
                    .filter(|v| !c.variables.contains(*v))
                    .map(str::to_owned)
                    .collect();
                for v in unknown {
                    let offset = text.find(&format!("${v}")).unwrap_or(0);
                    let hint = did_you_mean(&v, c.variables.iter().map(String::as_str));
                    let position = c.in_string(&vp, offset);
                    c.error_at(
                        position,
                        Some(name),
                        format!("variable `{v}` is never set{hint}"),
                    );
                }
                out.push((variable.clone(), template));
            }
            Err(e) => {
                let position = c.in_string(&vp, e.offset);
                c.error_at(position, Some(name), e.message);
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn compile_input(
    c: &mut Compiler<'_>,
    name: &str,
    p: &str,
    webhook: &str,
    prompt: &RawMessages,
    timeout: u32,
    attempts: u32,
    on_invalid: Option<&RawRetry>,
    on_no_input: Option<&RawRetry>,
    on_exhausted: &str,
    listen: Listen,
) -> InputSpec {
    InputSpec {
        listen,
        webhook: webhook.to_owned(),
        prompt: c.messages(Some(name), &format!("{p}/prompt"), prompt),
        timeout_secs: timeout,
        attempts,
        on_invalid: c.retry(name, &format!("{p}/on_invalid"), on_invalid),
        on_no_input: c.retry(name, &format!("{p}/on_no_input"), on_no_input),
        on_exhausted: c.target(
            name,
            "on_exhausted",
            &format!("{p}/on_exhausted"),
            on_exhausted,
        ),
    }
}

/// An input node's `input:`, `hints:` and `min_confidence:`. Names other than `dtmf` and
/// `speech` and confidences outside 0..1 are the schema's to report; here: what only words
/// use, on a node that takes keys only.
fn compile_listen(
    c: &mut Compiler<'_>,
    name: &str,
    p: &str,
    input: Option<&[String]>,
    hints: &Option<String>,
    min_confidence: Option<f64>,
) -> Listen {
    let names = input.unwrap_or_default();
    let listen = Listen {
        dtmf: input.is_none() || names.iter().any(|n| n == "dtmf"),
        speech: names.iter().any(|n| n == "speech"),
        hints: hints.clone(),
        min_confidence: min_confidence.map_or(Listen::DEFAULT_MIN_CONFIDENCE, |m| {
            (m.clamp(0.0, 1.0) * 1000.0).round() as u16
        }),
    };
    if listen.speech {
        if let Some(hints) = hints {
            c.messages(
                Some(name),
                &format!("{p}/hints"),
                &RawMessages::One(hints.clone()),
            );
        }
        return listen;
    }
    let suggestion = match input {
        Some(_) => "add `speech` to `input`",
        None => "add `input: [dtmf, speech]`",
    };
    if hints.is_some() {
        c.error(
            &format!("{p}/hints"),
            Some(name),
            format!(
                "`hints` help only to recognise words, and this node takes keys only: {suggestion}, or remove `hints`"
            ),
        );
    }
    if let Some(m) = min_confidence {
        c.error(
            &format!("{p}/min_confidence"),
            Some(name),
            format!(
                "`min_confidence: {m}` applies only to words, and this node takes keys only: {suggestion}, or remove `min_confidence`"
            ),
        );
    }
    listen
}

/// A `confirm`'s `words:`: each a choice's, on a node that listens for words, its message in
/// every locale; read per locale into phrases (comma-separated, as [`crate::heard::phrase`]
/// writes them).
#[allow(clippy::type_complexity)]
fn compile_choice_words(
    c: &mut Compiler<'_>,
    name: &str,
    p: &str,
    choices: &indexmap::IndexMap<String, String>,
    words: &indexmap::IndexMap<String, String>,
    input: &InputSpec,
) -> (Vec<Vec<(String, Vec<String>)>>, Vec<(String, String)>) {
    let mut messages = Vec::new();
    for (choice, id) in words {
        let wp = format!("{p}/words/{}", pointer_segment(choice));
        if !choices.contains_key(choice) {
            let known: Vec<&str> = choices.keys().map(String::as_str).collect();
            c.error_at(
                c.spans.key(&wp),
                Some(name),
                format!(
                    "words for `{choice}`, which is not a choice (choices: {}){}",
                    known.join(", "),
                    did_you_mean(choice, known.iter().copied())
                ),
            );
            continue;
        }
        if !input.listen.speech {
            let suggestion = if input.listen.dtmf {
                "add `speech` to `input` (`input: [dtmf, speech]`)"
            } else {
                "add `input: [dtmf, speech]`"
            };
            c.error(
                &wp,
                Some(name),
                format!(
                    "words for `{choice}` are said, and this node takes keys only: {suggestion}, or remove `words`"
                ),
            );
            continue;
        }
        c.messages(Some(name), &wp, &RawMessages::One(id.clone()));
        messages.push((choice.clone(), id.clone()));
    }
    let per_locale = c
        .locales
        .all()
        .iter()
        .map(|locale| {
            messages
                .iter()
                .filter(|(_, id)| locale.message(id).is_some())
                .map(|(choice, id)| {
                    let (segments, _) = locale.render(id, &[]);
                    let text = crate::spoken::written_text(&segments);
                    let phrases = text
                        .split(',')
                        .map(crate::heard::phrase)
                        .filter(|phrase| !phrase.is_empty())
                        .collect();
                    (choice.clone(), phrases)
                })
                .collect()
        })
        .collect();
    (per_locale, messages)
}

/// The `privacy:` block: the consent node is an input node from which a consent can be given;
/// a flow without the block stores no consent decision (nobody could be shown what they agreed to).
fn compile_privacy(c: &mut Compiler<'_>, raw: &RawFlow, nodes: &[Node]) -> Option<Privacy> {
    let Some(block) = &raw.privacy else {
        for (name, node) in raw.nodes.iter().map(|(name, entry)| (name, &entry.node)) {
            if let RawNode::Persist {
                consent: Some(consent),
                ..
            } = node
            {
                let p = format!("/nodes/{}/consent", pointer_segment(name));
                c.error(
                    &p,
                    Some(name),
                    format!(
                        "`consent: {consent}` in a flow without a `privacy:` block: declare the node that asks and what consent covers, e.g. `privacy: {{consent: <input node>, covers: [caller_number, conversation]}}` (docs/privacy.md)"
                    ),
                );
            }
        }
        return None;
    };
    let mut covers = Kept::default();
    for (i, name) in block.covers.iter().enumerate() {
        match name.as_str() {
            "caller_number" => covers.caller_number = true,
            "conversation" => covers.conversation = true,
            other => {
                let hint = did_you_mean(other, Kept::NAMES);
                c.error(
                    &format!("/privacy/covers/{i}"),
                    None,
                    format!(
                        "consent cannot cover `{other}`{hint} (it covers: {})",
                        Kept::NAMES.join(", ")
                    ),
                );
            }
        }
    }
    let Some(&consent) = c.names.get(&block.consent) else {
        let hint = did_you_mean(&block.consent, c.names.keys().map(String::as_str));
        c.error(
            "/privacy/consent",
            None,
            format!("consent node `{}` does not exist{hint}", block.consent),
        );
        return None;
    };
    let node = &nodes[consent.index()];
    if !node.kind.takes_input() {
        let inputs: Vec<&str> = nodes
            .iter()
            .filter(|n| n.kind.takes_input())
            .map(|n| n.name.as_str())
            .collect();
        c.error(
            "/privacy/consent",
            None,
            format!(
                "consent node `{}` is a `{}` node; consent is asked at an input node, a `confirm` or `gather-digits` (this flow's: {})",
                node.name,
                node.kind.name(),
                inputs.join(", ")
            ),
        );
        return None;
    }
    let mut reached = vec![false; nodes.len()];
    let mut queue = VecDeque::from([consent]);
    reached[consent.index()] = true;
    let mut gives = false;
    while let Some(id) = queue.pop_front() {
        if let NodeKind::Persist {
            consent: Some(crate::model::Consent::Given),
            ..
        } = nodes[id.index()].kind
        {
            gives = true;
            break;
        }
        for (_, next) in nodes[id.index()].kind.edges() {
            if !reached[next.index()] {
                reached[next.index()] = true;
                queue.push_back(next);
            }
        }
    }
    if !gives {
        c.error(
            "/privacy/consent",
            None,
            format!(
                "no `persist` node with `consent: given` can be reached from the consent node `{}`: a caller could never consent (add one to the choice that means yes)",
                node.name
            ),
        );
        return None;
    }
    Some(Privacy { consent, covers })
}

/// Every node reachable from the entry; no loop that never asks the caller anything.
fn check_graph(c: &mut Compiler<'_>, nodes: &[Node], entry: NodeId) {
    let mut reached = vec![false; nodes.len()];
    let mut queue = VecDeque::from([entry]);
    reached[entry.index()] = true;
    while let Some(id) = queue.pop_front() {
        for (_, next) in nodes[id.index()].kind.edges() {
            if !reached[next.index()] {
                reached[next.index()] = true;
                queue.push_back(next);
            }
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        if !reached[i] {
            let position = c
                .spans
                .key(&format!("/nodes/{}", pointer_segment(&node.name)));
            c.error_at(
                position,
                Some(&node.name),
                format!(
                    "no path from the entry node `{}` leads here",
                    nodes[entry.index()].name
                ),
            );
        }
    }
    // A cycle of nodes that never wait for input would loop forever within one webhook.
    let mut state = vec![0u8; nodes.len()]; // 0 new, 1 on stack, 2 done
    for start in 0..nodes.len() {
        if state[start] != 0 || nodes[start].kind.takes_input() {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some((id, edge)) = stack.pop() {
            let edges = nodes[id].kind.edges();
            if edge < edges.len() {
                stack.push((id, edge + 1));
                let next = edges[edge].1.index();
                if nodes[next].kind.takes_input() {
                    continue;
                }
                match state[next] {
                    0 => {
                        state[next] = 1;
                        stack.push((next, 0));
                    }
                    1 => {
                        let position = c
                            .spans
                            .key(&format!("/nodes/{}", pointer_segment(&nodes[next].name)));
                        c.error_at(
                            position,
                            Some(&nodes[next].name),
                            "is part of a loop that never waits for the caller (add a gather-digits or confirm node to it)".into(),
                        );
                    }
                    _ => {}
                }
            } else {
                state[id] = 2;
            }
        }
    }
}

/// The `schedules:` block: each zone, day, range and date read, each problem at its place.
fn compile_schedules(c: &mut Compiler<'_>, raw: &RawFlow) -> Vec<Schedule> {
    let mut out = Vec::new();
    for (name, s) in &raw.schedules {
        let p = format!("/schedules/{}", pointer_segment(name));
        let zone = hours::zone(&s.timezone).unwrap_or_else(|message| {
            c.error(&format!("{p}/timezone"), None, message);
            jiff::tz::TimeZone::UTC
        });
        let weekly = compile_week(c, &format!("{p}/weekly"), &s.weekly);
        let mut closed = BTreeSet::new();
        for (i, day) in s.closed.iter().enumerate() {
            match hours::parse_date(day) {
                Ok(date) => {
                    closed.insert(date);
                }
                Err(message) => c.error(&format!("{p}/closed/{i}"), None, message),
            }
        }
        let mut special = std::collections::BTreeMap::new();
        for (day, given) in &s.special {
            let dp = format!("{p}/special/{}", pointer_segment(day));
            match hours::parse_date(day) {
                Ok(date) if closed.contains(&date) => {
                    let position = c.spans.key(&dp);
                    c.error_at(
                        position,
                        None,
                        format!("`{day}` is listed under `closed` and has hours of its own here: keep one"),
                    );
                }
                Ok(date) => {
                    let ranges = compile_ranges(c, &dp, given);
                    special.insert(date, ranges);
                }
                Err(message) => {
                    let position = c.spans.key(&dp);
                    c.error_at(position, None, message);
                }
            }
        }
        let periods = s
            .periods
            .iter()
            .map(|(period, week)| {
                let pp = format!("{p}/periods/{}", pointer_segment(period));
                (period.clone(), compile_week(c, &pp, week))
            })
            .collect();
        out.push(Schedule {
            name: name.clone(),
            zone_name: s.timezone.clone(),
            zone,
            weekly,
            closed,
            special,
            periods,
        });
    }
    out
}

/// Weekly hours by day key; a day given twice is an error at the second key.
fn compile_week(
    c: &mut Compiler<'_>,
    p: &str,
    days: &indexmap::IndexMap<String, RawHours>,
) -> hours::Week {
    let mut week: hours::Week = Default::default();
    let mut given: [Option<&str>; 7] = [None; 7];
    for (key, ranges) in days {
        let kp = format!("{p}/{}", pointer_segment(key));
        match hours::parse_days(key) {
            Ok(list) => {
                let ranges = compile_ranges(c, &kp, ranges);
                for day in list {
                    if let Some(other) = given[day] {
                        let position = c.spans.key(&kp);
                        c.error_at(
                            position,
                            None,
                            format!(
                                "`{}` is already given by `{other}`: a day's hours are written once (a list holds several ranges)",
                                hours::DAYS[day]
                            ),
                        );
                        continue;
                    }
                    given[day] = Some(key);
                    week[day] = ranges.clone();
                }
            }
            Err(message) => {
                let position = c.spans.key(&kp);
                c.error_at(position, None, message);
            }
        }
    }
    week
}

/// One range or a list of them; overlapping ranges are an error.
fn compile_ranges(c: &mut Compiler<'_>, p: &str, given: &RawHours) -> Vec<hours::Range> {
    let mut out: Vec<(hours::Range, String)> = Vec::new();
    for (i, text) in given.ranges().into_iter().enumerate() {
        let at = match given {
            RawHours::One(_) => p.to_owned(),
            RawHours::Many(_) => format!("{p}/{i}"),
        };
        match hours::parse_range(text) {
            Ok(range) => {
                if let Some((_, other)) = out
                    .iter()
                    .find(|(r, _)| r.start < range.end && range.start < r.end)
                {
                    c.error(&at, None, format!("`{text}` overlaps `{other}`"));
                }
                out.push((range, text.to_owned()));
            }
            Err(message) => c.error(&at, None, message),
        }
    }
    out.into_iter().map(|(r, _)| r).collect()
}

/// A locale that has none of the flow's messages (its .ftl file is missing, or named for
/// another flow) is one error, not one per message: the first message's error, reworded.
fn one_error_per_empty_locale(c: &mut Compiler<'_>) {
    let mut empty: Vec<(String, Vec<String>)> = c
        .found_in_locale
        .iter()
        .filter(|(_, (found, missing))| *found == 0 && missing.len() > 1)
        .map(|(lang, (_, missing))| (lang.clone(), missing.clone()))
        .collect();
    empty.sort();
    for (lang, missing) in empty {
        let marker = format!("is missing in locale `{lang}` (");
        let mut first = None;
        c.diagnostics.0.retain(|d| {
            if d.message.contains(&marker) && d.message.starts_with("message `") {
                if first.is_none() {
                    first = Some(d.clone());
                }
                false
            } else {
                true
            }
        });
        let Some(mut d) = first else { continue };
        let dir = c
            .locales
            .all()
            .iter()
            .find(|l| l.langid.to_string() == lang)
            .map(|l| l.dir.display().to_string())
            .unwrap_or_default();
        let shown: Vec<String> = missing.iter().take(3).map(|m| format!("`{m}`")).collect();
        let more = if missing.len() > 3 { ", …" } else { "" };
        d.message = format!(
            "locale `{lang}` ({dir}) has none of this flow's {} messages ({}{more}): is its .ftl file missing or named for another flow?",
            missing.len(),
            shown.join(", ")
        );
        d.node = None;
        c.diagnostics.push(d);
    }
}
