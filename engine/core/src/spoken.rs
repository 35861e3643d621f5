//! What is said: text and digit strings, before anyone decides how to write them down.
//! Fluent rendering produces it (`i18n`), the TwiML writer consumes it (`twiml`).

/// One piece of spoken text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Plain text, spoken as written.
    Text(String),
    /// A digit string read one digit at a time (never as a quantity).
    Digits(String),
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
