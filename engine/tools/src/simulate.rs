//! `liza simulate`: a call in the terminal (or from a pipe), no Twilio and no server.

use std::io::{self, BufRead, IsTerminal, Write};

use crate::fetchstub::FetchStubs;
use crate::offline::{MemoryRecords, OfflineCall, TurnReport};
use liza_core::flow::Flow;
use liza_core::speech::SpeechConfig;

fn print_turn(out: &mut impl Write, report: &TurnReport) -> io::Result<()> {
    for line in report.visits.iter().flat_map(|v| v.transcript()) {
        writeln!(out, "{line}")?;
    }
    for text in &report.texts {
        writeln!(
            out,
            "[{}] SMS to the caller (sent after the turn is stored): {}  ‹{}›",
            text.node, text.body, text.message
        )?;
    }
    for problem in &report.problems {
        writeln!(out, "  warning: {problem}")?;
    }
    Ok(())
}

fn listens_for_words(kind: &liza_core::flow::NodeKind) -> bool {
    match kind {
        liza_core::flow::NodeKind::Gather(g) => g.input.listen.speech,
        liza_core::flow::NodeKind::Confirm(c) => c.input.listen.speech,
        _ => false,
    }
}

/// A line typed at a node that listens for words, read as words (and Twilio's confidence in
/// thousandths): anything but keys (`eins zwei`, `~0.3 one two`), or anything at all where
/// the node takes no keys. `None`: keys, or a node that does not listen for words.
fn spoken<'l>(line: &'l str, listen: Option<&liza_core::flow::Listen>) -> Option<(&'l str, u16)> {
    let listen = listen.filter(|l| l.speech)?;
    if let Some(rest) = line.strip_prefix('~') {
        let (confidence, words) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let confidence = confidence
            .parse::<f64>()
            .ok()
            .filter(|c| (0.0..=1.0).contains(c))
            .map_or(0, |c| (c * 1000.0).round() as u16);
        return Some((words.trim(), confidence));
    }
    let keys = line.trim_end_matches('#');
    let is_keys = keys.chars().all(|c| c.is_ascii_digit() || c == '*');
    (!line.is_empty() && (!is_keys || !listen.dtmf)).then_some((line, 1000))
}

/// Plays `flow` for a caller from `from`, reading keys line by line from `input`; its fetches
/// are answered by `fetches` (a fetch without a stub is `not_configured`).
pub fn simulate(
    flow: &Flow,
    speech: SpeechConfig,
    from: &str,
    fetches: FetchStubs,
    at: Option<i64>,
    input: impl BufRead,
    out: &mut impl Write,
) -> io::Result<()> {
    let echo = !io::stdin().is_terminal();
    let mut call = OfflineCall::new(flow, speech, MemoryRecords::default());
    if let Some(at) = at {
        call = call.at(at);
    }
    call.fetches = fetches;
    writeln!(
        out,
        "Simulating flow `{}` (version {}) for a call from {from}.",
        flow.name, flow.version
    )?;
    writeln!(out, "Type keys and Enter (a trailing # is optional); an empty line is no input; `hangup` hangs up.")?;
    if flow.nodes().any(|(_, node)| listens_for_words(&node.kind)) {
        writeln!(out, "Where the flow listens for words, type them (`eins zwei drei`): heard with confidence 1.0, or `~0.3 eins zwei` with 0.3.")?;
    }
    writeln!(out)?;
    let report = call.start(from);
    writeln!(out, "  language: {}", call.state.language)?;
    print_turn(out, &report)?;
    let mut lines = input.lines();
    while !call.ended() {
        let prompt = match call.listening() {
            Some(listen) if listen.speech && !listen.dtmf => "words> ",
            Some(listen) if listen.speech => "keys or words> ",
            _ => "keys> ",
        };
        write!(out, "{prompt}")?;
        out.flush()?;
        let Some(line) = lines.next() else {
            writeln!(out)?;
            writeln!(out, "(input ended: the caller hangs up)")?;
            call.hang_up();
            break;
        };
        let line = line?;
        let keys = line.trim().trim_end_matches('#');
        if echo {
            writeln!(out, "{}", line.trim())?;
        }
        if keys.eq_ignore_ascii_case("hangup") {
            writeln!(out, "(the caller hangs up)")?;
            call.hang_up();
            break;
        }
        // A transfer waits for the dial's outcome: `dial:busy`, `dial:no-answer`, `dial:completed`.
        // A voicemail waits for its recording: `recorded` (an empty line: nothing said).
        let report = match line.trim().strip_prefix("dial:") {
            Some(status) => call.dialed(status.trim()),
            None if line.trim() == "recorded" => call.recorded(),
            None => match spoken(line.trim(), call.listening()) {
                Some((words, confidence)) => call.say(words, confidence),
                None => call.press(Some(keys).filter(|k| !k.is_empty())),
            },
        };
        print_turn(out, &report)?;
    }
    writeln!(out)?;
    writeln!(out, "Call ended. What would be stored:")?;
    writeln!(
        out,
        "  call: status {}, language {}, consent {}",
        call.status.as_str(),
        call.state.language,
        call.consent.map_or("not asked", |c| c.as_str())
    )?;
    writeln!(out, "  path: {}", call.path().join(" → "))?;
    for text in &call.texts {
        writeln!(out, "  sms: {} ({})", text.message, text.node)?;
    }
    for (kind, key, status) in call.records.all() {
        writeln!(out, "  {kind} {key}: {status}")?;
    }
    Ok(())
}
