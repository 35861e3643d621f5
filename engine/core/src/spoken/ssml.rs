//! The SSML a message's author may write inside a Fluent message (`Wir sind <break
//! time="500ms"/> für Sie da`): the subset Twilio passes on to its Polly and Google voices
//! inside `<Say>` (docs/twilio.md), parsed into typed [`Element`]s and checked, so nothing but
//! these elements with checked attribute values ever reaches the TwiML writer.
//!
//! A variable's value never becomes markup: `i18n` hides its `<` and `>` before parsing
//! ([`hide_markup`]) and gives them back in the text afterwards ([`unhide_markup`]).

use super::Segment;

/// Stands for a placeable (`{ $name }`, `{ other-message }`) when a message's source is
/// checked: a tag must not contain one.
pub const PLACEABLE: char = '\u{E005}';
/// A variable's `<` and `>` while the message's own markup is parsed.
const HIDDEN_LT: char = '\u{E002}';
const HIDDEN_GT: char = '\u{E003}';

/// The tags a message may use, as written.
pub const TAG_NAMES: [&str; 10] = [
    "break", "emphasis", "prosody", "say-as", "sub", "lang", "p", "s", "w", "phoneme",
];

/// `<break strength>` values.
const STRENGTHS: [&str; 6] = ["none", "x-weak", "weak", "medium", "strong", "x-strong"];
/// `<emphasis level>` values.
const LEVELS: [&str; 3] = ["strong", "moderate", "reduced"];
const RATES: [&str; 5] = ["x-slow", "slow", "medium", "fast", "x-fast"];
const PITCHES: [&str; 6] = ["default", "x-low", "low", "medium", "high", "x-high"];
const VOLUMES: [&str; 7] = [
    "default", "silent", "x-soft", "soft", "medium", "loud", "x-loud",
];
/// `<say-as interpret-as>` values (Amazon Polly's list; Google's voices read the same ones).
pub const INTERPRET_AS: [&str; 14] = [
    "characters",
    "spell-out",
    "cardinal",
    "number",
    "ordinal",
    "digits",
    "fraction",
    "unit",
    "date",
    "time",
    "telephone",
    "address",
    "interjection",
    "expletive",
];
/// `<say-as interpret-as="date" format>` values.
const DATE_FORMATS: [&str; 11] = [
    "mdy", "dmy", "ymd", "md", "dm", "ym", "my", "d", "m", "y", "yyyymmdd",
];
const ROLES: [&str; 6] = [
    "amazon:VB",
    "amazon:VBD",
    "amazon:NN",
    "amazon:DT",
    "amazon:IN",
    "amazon:SENSE_1",
];
const ALPHABETS: [&str; 2] = ["ipa", "x-sampa"];

/// The longest `<break time>` Amazon Polly honours.
const LONGEST_BREAK_MS: f64 = 10_000.0;

/// One SSML element and what it encloses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub tag: Tag,
    pub children: Vec<Segment>,
}

/// A checked SSML tag: its name and attribute values are among those Twilio's voices take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// A pause: `time` (`500ms`, `2s`, at most 10 s) or `strength`.
    Break {
        time: Option<String>,
        strength: Option<String>,
    },
    Emphasis {
        level: Option<String>,
    },
    /// Rate, pitch, volume: at least one.
    Prosody {
        rate: Option<String>,
        pitch: Option<String>,
        volume: Option<String>,
    },
    SayAs {
        interpret_as: String,
        format: Option<String>,
    },
    /// Says `alias` instead of the text inside.
    Sub {
        alias: String,
    },
    /// `xml:lang`: the text inside is in another language.
    Lang {
        lang: String,
    },
    P,
    S,
    W {
        role: String,
    },
    Phoneme {
        alphabet: String,
        ph: String,
    },
}

impl Tag {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Break { .. } => "break",
            Self::Emphasis { .. } => "emphasis",
            Self::Prosody { .. } => "prosody",
            Self::SayAs { .. } => "say-as",
            Self::Sub { .. } => "sub",
            Self::Lang { .. } => "lang",
            Self::P => "p",
            Self::S => "s",
            Self::W { .. } => "w",
            Self::Phoneme { .. } => "phoneme",
        }
    }

    /// Its attributes in writing order, only those set.
    pub fn attributes(&self) -> Vec<(&'static str, &str)> {
        fn set<'a>(pairs: &[(&'static str, &'a Option<String>)]) -> Vec<(&'static str, &'a str)> {
            pairs
                .iter()
                .filter_map(|(name, value)| value.as_deref().map(|v| (*name, v)))
                .collect()
        }
        match self {
            Self::Break { time, strength } => set(&[("time", time), ("strength", strength)]),
            Self::Emphasis { level } => set(&[("level", level)]),
            Self::Prosody {
                rate,
                pitch,
                volume,
            } => set(&[("rate", rate), ("pitch", pitch), ("volume", volume)]),
            Self::SayAs {
                interpret_as,
                format,
            } => {
                let mut out = vec![("interpret-as", interpret_as.as_str())];
                out.extend(format.as_deref().map(|f| ("format", f)));
                out
            }
            Self::Sub { alias } => vec![("alias", alias.as_str())],
            Self::Lang { lang } => vec![("xml:lang", lang.as_str())],
            Self::P | Self::S => vec![],
            Self::W { role } => vec![("role", role.as_str())],
            Self::Phoneme { alphabet, ph } => {
                vec![("alphabet", alphabet.as_str()), ("ph", ph.as_str())]
            }
        }
    }
}

/// A mistake in a message's markup, `offset` bytes into the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub offset: usize,
    pub message: String,
}

/// Hides a variable's `<` and `>` (and the private-use characters rendering uses as markers)
/// so that [`parse`] reads its value as text only.
pub fn hide_markup(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, '\u{E000}'..='\u{E00F}'))
        .map(|c| match c {
            '<' => HIDDEN_LT,
            '>' => HIDDEN_GT,
            c => c,
        })
        .collect()
}

/// Gives back what [`hide_markup`] hid, in text that is no longer parsed.
pub fn unhide_markup(text: &str) -> String {
    text.replace(HIDDEN_LT, "<").replace(HIDDEN_GT, ">")
}

/// Parses a message's text into segments: text, and an [`Element`] for each checked tag.
/// Mistakes come back beside the best-effort result: a tag that is not understood is left
/// out (the text inside it is kept), an element never closed ends with the text.
pub fn parse(text: &str) -> (Vec<Segment>, Vec<Problem>) {
    let mut parser = Parser {
        problems: Vec::new(),
        stack: vec![Frame {
            tag: None,
            name: String::new(),
            offset: 0,
            children: Vec::new(),
        }],
    };
    let mut rest = 0;
    while let Some(found) = text[rest..].find('<') {
        let lt = rest + found;
        parser.text(&text[rest..lt]);
        let Some(len) = tag_end(&text[lt..]) else {
            parser.problem(
                lt,
                "`<` starts a tag that is never closed with `>` (SSML tags are written `<break time=\"500ms\"/>`; a less-than sign cannot be said, write it out)".into(),
            );
            rest = text.len();
            break;
        };
        parser.tag(lt, &text[lt + 1..lt + len - 1]);
        rest = lt + len;
    }
    parser.text(&text[rest..]);
    parser.finish()
}

/// The length of the tag at the start of `text` (through its `>`), quotes respected.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

struct Frame {
    /// `None`: a tag that was not understood (its text is kept, the tag left out).
    tag: Option<Tag>,
    name: String,
    offset: usize,
    children: Vec<Segment>,
}

struct Parser {
    problems: Vec<Problem>,
    stack: Vec<Frame>,
}

impl Parser {
    fn problem(&mut self, offset: usize, message: String) {
        self.problems.push(Problem { offset, message });
    }

    fn children(&mut self) -> &mut Vec<Segment> {
        &mut self
            .stack
            .last_mut()
            .expect("the root frame stays")
            .children
    }

    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Segment::Text(previous)) = self.children().last_mut() {
            previous.push_str(text);
        } else {
            self.children().push(Segment::Text(text.to_owned()));
        }
    }

    /// `inner`: what is between `<` and `>` of the tag at `offset`.
    fn tag(&mut self, offset: usize, inner: &str) {
        if inner.contains(PLACEABLE) || inner.contains(HIDDEN_LT) || inner.contains(HIDDEN_GT) {
            self.problem(
                offset,
                "a tag cannot hold a variable or another message: its name and attributes are written out in the message".into(),
            );
            // An opening tag still pairs with its closing one.
            if !inner.starts_with('/') && !inner.ends_with('/') {
                let name = inner.split(char::is_whitespace).next().unwrap_or("");
                self.stack.push(Frame {
                    tag: None,
                    name: name.to_owned(),
                    offset,
                    children: Vec::new(),
                });
            }
            return;
        }
        if let Some(name) = inner.strip_prefix('/') {
            self.close(offset, name.trim());
            return;
        }
        let (inner, empty) = match inner.strip_suffix('/') {
            Some(inner) => (inner, true),
            None => (inner, false),
        };
        let name_len = inner
            .find(|c: char| c.is_whitespace())
            .unwrap_or(inner.len());
        let name = &inner[..name_len];
        let tag = if TAG_NAMES.contains(&name) {
            match attributes(&inner[name_len..]) {
                Ok(attrs) => match check(name, &attrs) {
                    Ok(tag) => Some(tag),
                    Err(message) => {
                        self.problem(offset, message);
                        None
                    }
                },
                Err(message) => {
                    self.problem(offset, format!("`<{name}>`: {message}"));
                    None
                }
            }
        } else {
            self.problem(offset, unknown_tag(name));
            None
        };
        if name == "break" && !empty {
            self.problem(
                offset,
                "`<break>` holds no text: close it in itself, `<break time=\"500ms\"/>`".into(),
            );
            if let Some(tag) = tag {
                self.children().push(Segment::Ssml(Element {
                    tag,
                    children: Vec::new(),
                }));
            }
            return;
        }
        if empty {
            if let Some(tag) = tag {
                self.children().push(Segment::Ssml(Element {
                    tag,
                    children: Vec::new(),
                }));
            }
            return;
        }
        self.stack.push(Frame {
            tag,
            name: name.to_owned(),
            offset,
            children: Vec::new(),
        });
    }

    fn close(&mut self, offset: usize, name: &str) {
        let open = self.stack.len() - 1;
        if open > 0 && self.stack[open].name == name {
            self.pop();
            return;
        }
        let message = if open > 0 {
            let inner = &self.stack[open].name;
            if self.stack[1..].iter().any(|f| f.name == name) {
                format!("`</{name}>` closes `<{name}>` before the `<{inner}>` inside it: close `<{inner}>` first")
            } else {
                format!("`</{name}>` closes a tag that is not open (the open one is `<{inner}>`)")
            }
        } else {
            format!("`</{name}>` closes a tag that is not open")
        };
        self.problem(offset, message);
        // Close what is open down to the named tag, if it is open at all.
        if self.stack[1..].iter().any(|f| f.name == name) {
            while self.stack.len() > 1 {
                let done = self.stack.last().is_some_and(|f| f.name == name);
                self.pop();
                if done {
                    break;
                }
            }
        }
    }

    /// Ends the innermost open element and hands it to the one around it.
    fn pop(&mut self) {
        let frame = self.stack.pop().expect("only called with an open element");
        match frame.tag {
            Some(tag) => self.children().push(Segment::Ssml(Element {
                tag,
                children: frame.children,
            })),
            None => {
                for child in frame.children {
                    match child {
                        Segment::Text(t) => self.text(&t),
                        other => self.children().push(other),
                    }
                }
            }
        }
    }

    fn finish(mut self) -> (Vec<Segment>, Vec<Problem>) {
        while self.stack.len() > 1 {
            let frame = self.stack.last().expect("checked");
            let (offset, name) = (frame.offset, frame.name.clone());
            self.problem(
                offset,
                format!("`<{name}>` is never closed: end it with `</{name}>` (or write `<{name} …/>` if it holds no text)"),
            );
            self.pop();
        }
        let mut problems = self.problems;
        problems.sort_by_key(|p| p.offset);
        let root = self.stack.pop().expect("the root frame stays");
        (root.children, problems)
    }
}

/// `name="value"` pairs, in order.
fn attributes(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            return Err(format!(
                "`{}` is not an attribute: write them `name=\"value\"`",
                rest.trim()
            ));
        };
        let name = rest[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!(
                "`{}` is not an attribute: write them `name=\"value\"`",
                rest[..eq].trim()
            ));
        }
        let after = rest[eq + 1..].trim_start();
        let Some(quote) = after.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
            return Err(format!(
                "the value of `{name}` needs quotes: `{name}=\"…\"`"
            ));
        };
        let Some(end) = after[1..].find(quote) else {
            return Err(format!("the value of `{name}` has no closing quote"));
        };
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("`{name}` is given twice"));
        }
        out.push((name.to_owned(), after[1..1 + end].to_owned()));
        rest = after[1 + end + 1..].trim_start();
    }
    Ok(out)
}

/// " (did you mean `emphasis`?)" for a close spelling among `candidates`.
fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(distance, c)| *distance <= (c.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn one_of(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_tag(name: &str) -> String {
    if name.is_empty() {
        return "`<` starts a tag without a name (a less-than sign cannot be said, write it out)"
            .into();
    }
    if name == "speak" {
        return "`<speak>` is not needed: the message is already spoken inside `<Say>`; leave it out".into();
    }
    format!(
        "unknown tag `<{name}>`{}; Twilio's voices take {}",
        did_you_mean(name, TAG_NAMES),
        one_of(&TAG_NAMES)
    )
}

/// The tag `name` with its attributes checked.
fn check(name: &str, attrs: &[(String, String)]) -> Result<Tag, String> {
    let allowed: &[&str] = match name {
        "break" => &["time", "strength"],
        "emphasis" => &["level"],
        "prosody" => &["rate", "pitch", "volume"],
        "say-as" => &["interpret-as", "format"],
        "sub" => &["alias"],
        "lang" => &["xml:lang"],
        "w" => &["role"],
        "phoneme" => &["alphabet", "ph"],
        _ => &[],
    };
    for (attr, _) in attrs {
        if !allowed.contains(&attr.as_str()) {
            let takes = if allowed.is_empty() {
                "no attributes".to_owned()
            } else {
                one_of(allowed)
            };
            return Err(format!(
                "`<{name}>` has no attribute `{attr}`{}; it takes {takes}",
                did_you_mean(attr, allowed.iter().copied())
            ));
        }
    }
    let get = |attr: &str| {
        attrs
            .iter()
            .find(|(n, _)| n == attr)
            .map(|(_, v)| v.trim().to_owned())
    };
    let required = |attr: &str, example: &str| {
        get(attr).ok_or_else(|| {
            format!("`<{name}>` needs `{attr}`, e.g. `<{name} {attr}=\"{example}\">`")
        })
    };
    let listed = |attr: &str, value: &str, values: &[&str], extra: &str| -> Result<(), String> {
        if values.contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "`{value}` is not a value of `<{name} {attr}>`{}: {}{extra}",
                did_you_mean(value, values.iter().copied()),
                one_of(values)
            ))
        }
    };
    Ok(match name {
        "break" => {
            let time = get("time");
            let strength = get("strength");
            if let Some(t) = &time {
                check_time(t)?;
            }
            if let Some(s) = &strength {
                listed("strength", s, &STRENGTHS, "")?;
            }
            Tag::Break { time, strength }
        }
        "emphasis" => {
            let level = get("level");
            if let Some(l) = &level {
                listed("level", l, &LEVELS, "")?;
            }
            Tag::Emphasis { level }
        }
        "prosody" => {
            let (rate, pitch, volume) = (get("rate"), get("pitch"), get("volume"));
            if rate.is_none() && pitch.is_none() && volume.is_none() {
                return Err(
                    "`<prosody>` needs `rate`, `pitch` or `volume`, e.g. `<prosody rate=\"slow\">`"
                        .into(),
                );
            }
            if let Some(r) = &rate {
                let percent = r
                    .strip_suffix('%')
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| (20..=200).contains(n));
                if percent.is_none() {
                    listed("rate", r, &RATES, ", or a percentage from `20%` to `200%`")?;
                }
            }
            if let Some(p) = &pitch {
                if !signed_number(p, "%") {
                    listed("pitch", p, &PITCHES, ", or a change like `+10%` or `-5%`")?;
                }
            }
            if let Some(v) = &volume {
                if !signed_number(v, "dB") {
                    listed("volume", v, &VOLUMES, ", or a change like `+6dB` or `-3dB`")?;
                }
            }
            Tag::Prosody {
                rate,
                pitch,
                volume,
            }
        }
        "say-as" => {
            let interpret_as = required("interpret-as", "digits")?;
            listed("interpret-as", &interpret_as, &INTERPRET_AS, "")?;
            let format = get("format");
            if let Some(f) = &format {
                if interpret_as != "date" {
                    return Err(format!(
                        "`format` belongs to `<say-as interpret-as=\"date\">`, not `{interpret_as}`"
                    ));
                }
                listed("format", f, &DATE_FORMATS, "")?;
            }
            Tag::SayAs {
                interpret_as,
                format,
            }
        }
        "sub" => Tag::Sub {
            alias: non_empty(name, "alias", required("alias", "World Wide Web")?)?,
        },
        "lang" => {
            let lang = required("xml:lang", "en-US")?;
            if lang.parse::<unic_langid::LanguageIdentifier>().is_err() || lang.len() < 2 {
                return Err(format!(
                    "`{lang}` is not a language tag (expected e.g. `en-US`)"
                ));
            }
            Tag::Lang { lang }
        }
        "p" => Tag::P,
        "s" => Tag::S,
        "w" => {
            let role = required("role", "amazon:VBD")?;
            listed("role", &role, &ROLES, "")?;
            Tag::W { role }
        }
        "phoneme" => {
            let alphabet = required("alphabet", "ipa")?;
            listed("alphabet", &alphabet, &ALPHABETS, "")?;
            Tag::Phoneme {
                alphabet,
                ph: non_empty(name, "ph", required("ph", "pɪˈkɑːn")?)?,
            }
        }
        _ => unreachable!("only known tags are checked"),
    })
}

fn non_empty(name: &str, attr: &str, value: String) -> Result<String, String> {
    if value.is_empty() {
        Err(format!("`<{name} {attr}>` is empty"))
    } else {
        Ok(value)
    }
}

/// `+10%`, `-3.5dB`: a signed number and its unit.
fn signed_number(value: &str, unit: &str) -> bool {
    value
        .strip_suffix(unit)
        .filter(|n| n.starts_with(['+', '-']))
        .is_some_and(|n| n[1..].parse::<f64>().is_ok_and(f64::is_finite))
}

/// `500ms`, `2s`, `1.5s`: at most 10 seconds.
fn check_time(time: &str) -> Result<(), String> {
    let (number, factor) = if let Some(n) = time.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = time.strip_suffix('s') {
        (n, 1000.0)
    } else if time.parse::<f64>().is_ok() {
        return Err(format!(
            "break time `{time}` needs a unit: `{time}ms` or `{time}s`"
        ));
    } else {
        return Err(format!(
            "break time `{time}` is not a duration like `500ms` or `2s`"
        ));
    };
    let Some(ms) = number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0 && !number.starts_with('+'))
        .map(|n| n * factor)
    else {
        return Err(format!(
            "break time `{time}` is not a duration like `500ms` or `2s`"
        ));
    };
    if ms > LONGEST_BREAK_MS {
        return Err(format!(
            "break time `{time}` is longer than the 10 seconds a voice pauses at most"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Segment {
        Segment::Text(t.into())
    }

    fn problems(input: &str) -> Vec<String> {
        parse(input).1.into_iter().map(|p| p.message).collect()
    }

    #[test]
    fn parses_tags_into_typed_elements_and_keeps_text() {
        let (segments, problems) = parse(
            r#"Wir sind <break time="500ms"/> für Sie <emphasis level='strong'>da</emphasis> & gern."#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            segments,
            vec![
                text("Wir sind "),
                Segment::Ssml(Element {
                    tag: Tag::Break {
                        time: Some("500ms".into()),
                        strength: None
                    },
                    children: vec![],
                }),
                text(" für Sie "),
                Segment::Ssml(Element {
                    tag: Tag::Emphasis {
                        level: Some("strong".into())
                    },
                    children: vec![text("da")],
                }),
                text(" & gern."),
            ]
        );
    }

    #[test]
    fn nested_elements_and_every_tag() {
        let (segments, problems) = parse(
            r#"<p><s><prosody rate="90%" pitch="-5%" volume="+2dB">a<say-as interpret-as="date" format="dmy">1.2.2026</say-as></prosody></s></p><sub alias="Welt">W</sub><lang xml:lang="en-US">hi</lang><w role="amazon:VBD">read</w><phoneme alphabet="ipa" ph="pɪ">p</phoneme>"#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(segments.len(), 5);
        let Segment::Ssml(p) = &segments[0] else {
            panic!("{segments:?}")
        };
        assert_eq!(p.tag, Tag::P);
        let Segment::Ssml(s) = &p.children[0] else {
            panic!()
        };
        let Segment::Ssml(prosody) = &s.children[0] else {
            panic!()
        };
        assert_eq!(
            prosody.tag.attributes(),
            vec![("rate", "90%"), ("pitch", "-5%"), ("volume", "+2dB")]
        );
    }

    #[test]
    fn a_hidden_variable_stays_text() {
        let value = hide_markup("<break time=\"9s\"/>\u{E000}0\u{E001}");
        let (segments, problems) = parse(&format!("Hallo {value}!"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(segments.len(), 1);
        let Segment::Text(t) = &segments[0] else {
            panic!()
        };
        assert_eq!(unhide_markup(t), "Hallo <break time=\"9s\"/>0!");
    }

    #[test]
    fn typical_mistakes_are_explained() {
        assert_eq!(
            problems("a <brek time=\"1s\"/> b"),
            ["unknown tag `<brek>` (did you mean `break`?); Twilio's voices take `break`, `emphasis`, `prosody`, `say-as`, `sub`, `lang`, `p`, `s`, `w`, `phoneme`"]
        );
        assert_eq!(
            problems("<break time=\"500\"/>"),
            ["break time `500` needs a unit: `500ms` or `500s`"]
        );
        assert_eq!(
            problems("<break time=\"12s\"/>"),
            ["break time `12s` is longer than the 10 seconds a voice pauses at most"]
        );
        assert_eq!(
            problems("<prosody rate=\"slowly\">x</prosody>"),
            ["`slowly` is not a value of `<prosody rate>` (did you mean `slow`?): `x-slow`, `slow`, `medium`, `fast`, `x-fast`, or a percentage from `20%` to `200%`"]
        );
        assert_eq!(
            problems("<say-as interpret-as=\"digit\">1</say-as>")[0],
            "`digit` is not a value of `<say-as interpret-as>` (did you mean `digits`?): `characters`, `spell-out`, `cardinal`, `number`, `ordinal`, `digits`, `fraction`, `unit`, `date`, `time`, `telephone`, `address`, `interjection`, `expletive`"
        );
        assert_eq!(
            problems("<emphasis>x"),
            ["`<emphasis>` is never closed: end it with `</emphasis>` (or write `<emphasis …/>` if it holds no text)"]
        );
        assert_eq!(
            problems("<break tme=\"1s\"/>"),
            ["`<break>` has no attribute `tme` (did you mean `time`?); it takes `time`, `strength`"]
        );
        assert_eq!(
            problems("<p><s>x</p></s>"),
            [
                "`</p>` closes `<p>` before the `<s>` inside it: close `<s>` first",
                "`</s>` closes a tag that is not open"
            ]
        );
        assert_eq!(
            problems(&format!("<say-as interpret-as=\"{PLACEABLE}\">x</say-as>")),
            ["a tag cannot hold a variable or another message: its name and attributes are written out in the message"]
        );
        assert_eq!(problems("1 < 2").len(), 1);
    }

    #[test]
    fn what_is_not_understood_is_left_out_but_its_text_kept() {
        let (segments, problems) = parse("a <blink>b</blink> c");
        assert_eq!(problems.len(), 1);
        assert_eq!(segments, vec![text("a b c")]);
    }
}
