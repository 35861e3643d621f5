//! `liza graph`: a flow as a graph — DOT text, and SVG drawn by layout-rs (no Graphviz needed).
//! Nodes are shaped by kind; edges carry the key or condition; retry, no-input and
//! exhausted edges are dashed.

use std::fmt::Write as _;

use liza_core::flow::{Flow, InputSpec, NodeKind};

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn shape(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Say { .. } => "box",
        NodeKind::Gather(_) | NodeKind::Confirm(_) => "doublecircle",
        NodeKind::Branch { .. } | NodeKind::Hours { .. } => "diamond",
        NodeKind::Persist { .. } | NodeKind::Lookup { .. } => "record",
        NodeKind::Goto(_) => "circle",
        NodeKind::Play { .. } => "invhouse",
        NodeKind::Pause { .. } => "plain",
        NodeKind::Set { .. } => "Mrecord",
        NodeKind::Hangup { .. } => "octagon",
        NodeKind::Fetch(_) => "parallelogram",
        NodeKind::Transfer(_) => "doubleoctagon",
        NodeKind::Sms(_) => "tab",
        NodeKind::Voicemail(_) => "cylinder",
    }
}

/// The flow in Graphviz DOT.
pub fn to_dot(flow: &Flow) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&flow.name));
    let _ = writeln!(out, "  node [fontname=\"Helvetica\"];");
    for (_, node) in flow.nodes() {
        let mut label = format!("{}\\n({})", node.name, node.kind.name());
        if let NodeKind::Fetch(fetch) = &node.kind {
            // The request as written: the connection's name, never its URL or headers.
            let request = format!("{} {}", fetch.method.as_str(), fetch.shown.shown());
            label = format!(
                "{label}\\n{}",
                request.replace('\\', "\\\\").replace('"', "\\\"")
            );
        }
        if let NodeKind::Transfer(transfer) = &node.kind {
            // Whom it calls as written (`${env:SHOP_PHONE}`, not the number behind it).
            let whom = format!(
                "{}{} {}",
                if transfer.check.is_some() {
                    "can call? "
                } else {
                    ""
                },
                transfer.target.noun(),
                transfer.target.value().shown()
            );
            label = format!(
                "{label}\\n{}",
                whom.replace('\\', "\\\\").replace('"', "\\\"")
            );
        }
        let listen = match &node.kind {
            NodeKind::Gather(g) => Some(&g.input.listen),
            NodeKind::Confirm(c) => Some(&c.input.listen),
            _ => None,
        };
        if let Some(listen) = listen.filter(|l| l.speech) {
            // How it takes its answer, when words count too.
            let how = if listen.dtmf {
                "keys or words"
            } else {
                "words"
            };
            label = format!("{label}\\n{how}");
        }
        match &node.kind {
            NodeKind::Play { url, repeat, .. } => {
                // The file's name, not the whole URL.
                let file = url.rsplit('/').next().unwrap_or(url);
                let times = if *repeat > 1 {
                    format!(" ×{repeat}")
                } else {
                    String::new()
                };
                label = format!(
                    "{label}\\n{}{times}",
                    file.replace('\\', "\\\\").replace('"', "\\\"")
                );
            }
            NodeKind::Pause { secs, .. } => label = format!("{label}\\n{secs} s"),
            _ => {}
        }
        if let NodeKind::Sms(sms) = &node.kind {
            let what = match &sms.message {
                Some(message) => format!("text: {message}"),
                None => "can text?".to_owned(),
            };
            label = format!("{label}\\n{what}");
        }
        let entry = if flow.node(flow.entry()).name == node.name {
            ", style=bold"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} [shape={}, label=\"{label}\"{entry}];",
            quote(&node.name),
            shape(&node.kind)
        );
    }
    for (_, node) in flow.nodes() {
        let from = quote(&node.name);
        let input: Option<&InputSpec> = match &node.kind {
            NodeKind::Gather(g) => Some(&g.input),
            NodeKind::Confirm(c) => Some(&c.input),
            _ => None,
        };
        if let Some(input) = input {
            // Retries without a `goto` ask the same question again.
            let mut again = Vec::new();
            if input.on_invalid.goto.is_none() {
                again.push(if input.listen.speech {
                    "invalid / not understood"
                } else {
                    "invalid"
                });
            }
            if input.on_no_input.goto.is_none() {
                again.push("no input");
            }
            if !again.is_empty() {
                let _ = writeln!(
                    out,
                    "  {from} -> {from} [label={}, style=dashed];",
                    quote(&format!("{}: ask again", again.join(" / ")))
                );
            }
        }
        for (label, target) in node.kind.edges() {
            let to = quote(&flow.node(target).name);
            let dashed = matches!(
                label.as_str(),
                "invalid"
                    | "no input"
                    | "exhausted"
                    | "error"
                    | "timeout"
                    | "not_configured"
                    | "busy"
                    | "no_answer"
                    | "failed"
                    | "not_mobile"
                    | "empty"
                    | "no_consent"
            );
            let style = if dashed { ", style=dashed" } else { "" };
            if label.is_empty() {
                let _ = writeln!(out, "  {from} -> {to};");
            } else {
                let _ = writeln!(out, "  {from} -> {to} [label={}{style}];", quote(&label));
            }
        }
    }
    out.push_str("}\n");
    out
}

/// What the shapes and lines mean: one note beside the drawing, for the SVG (product staff
/// read that one; the DOT text is for tools). Lists the kinds the flow uses.
pub fn legend(flow: &Flow) -> String {
    let mut kinds: Vec<(&'static str, &'static str)> = Vec::new();
    for (_, node) in flow.nodes() {
        let entry = (node.kind.name(), shape(&node.kind));
        if !kinds.contains(&entry) {
            kinds.push(entry);
        }
    }
    let mut lines = vec!["Legend".to_owned()];
    lines.extend(
        kinds
            .iter()
            .map(|(kind, shape)| format!("{}: {kind}", in_words(shape))),
    );
    lines.push("bold: where a call starts".to_owned());
    lines.push("dashed arrow: retry, no input, a failure".to_owned());
    // DOT's line break inside a label is the two characters `\n`.
    let label: Vec<String> = lines
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
        .collect();
    format!(
        "  \"legend\" [shape=note, label=\"{}\"];\n",
        label.join("\\n")
    )
}

/// A DOT shape as a reader would name it.
fn in_words(shape: &str) -> &str {
    match shape {
        "doublecircle" => "double circle",
        "record" => "box in parts",
        "Mrecord" => "rounded box in parts",
        "doubleoctagon" => "double octagon",
        "tab" => "folder tab",
        "invhouse" => "upside-down house",
        "plain" => "bare text",
        other => other,
    }
}

/// The flow in DOT with its [`legend`], for drawing.
pub fn to_dot_with_legend(flow: &Flow) -> String {
    let mut dot = to_dot(flow);
    let end = dot.rfind('}').unwrap_or(dot.len());
    dot.insert_str(end, &legend(flow));
    dot
}

/// Renders DOT text as SVG.
pub fn dot_to_svg(dot: &str) -> Result<String, String> {
    use layout::backends::svg::SVGWriter;
    use layout::gv::{DotParser, GraphBuilder};
    let mut parser = DotParser::new(dot);
    let graph = parser
        .process()
        .map_err(|e| format!("cannot lay out the graph: {e}"))?;
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut visual = builder.get();
    let mut svg = SVGWriter::new();
    visual.do_it(false, false, false, &mut svg);
    Ok(svg.finalize())
}
