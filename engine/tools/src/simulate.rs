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
    writeln!(out)?;
    let report = call.start(from);
    writeln!(out, "  language: {}", call.state.language)?;
    print_turn(out, &report)?;
    let mut lines = input.lines();
    while !call.ended() {
        write!(out, "keys> ")?;
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
            None => call.press(Some(keys).filter(|k| !k.is_empty())),
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
