//! What is said: text and digit strings, and the SSML elements a message's author wrote
//! around them, before anyone decides how to write them down. Fluent rendering produces it
//! (`i18n`), the TwiML writer consumes it (`twiml`).

pub mod ssml;

pub use ssml::{Element, Tag};

/// One piece of spoken text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Plain text, spoken as written.
    Text(String),
    /// A digit string read one digit at a time (never as a quantity).
    Digits(String),
    /// An SSML element (`<break time="500ms"/>`, `<emphasis>…</emphasis>`) from the message's
    /// own text, parsed and checked ([`ssml::parse`]); never made from a variable's value.
    Ssml(Element),
}

/// "12345" → "1 2 3 4 5": spoken digit by digit by any voice (no periods: German
/// voices read "1." as an ordinal).
pub fn spaced_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() * 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Segments as written text (a text message's body): digits kept together, SSML elements
/// replaced by the text inside them.
pub fn written_text(speech: &[Segment]) -> String {
    let mut out = String::new();
    for segment in speech {
        match segment {
            Segment::Text(text) | Segment::Digits(text) => out.push_str(text),
            Segment::Ssml(element) => out.push_str(&written_text(&element.children)),
        }
    }
    out
}
