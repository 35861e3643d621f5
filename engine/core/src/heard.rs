//! What a caller said, read as the digits they meant: Twilio's `SpeechResult` ("eins zwei
//! drei", "one 2 three", "12 345", "double five") turned into a digit string per language,
//! before a node checks it as it checks keys.
//!
//! Digit by digit, not as a quantity: each number word is written as its digits ("zwölf" →
//! `12`, "twenty three" → `23`) and the pieces are joined in order. What has no single
//! reading is not understood rather than guessed: "hundred", "tausend", a word that is no
//! number, a "double" with nothing after it. Punctuation and case are ignored; hesitations
//! ("äh", "um") are skipped. Languages other than German and English take digits only.
//!
//! Must not touch: every other module.

/// The longest `SpeechResult` read (a longer one is not understood); twice a 64-digit entry
/// said word by word with room for hesitations.
pub const MAX_SPEECH_LEN: usize = 512;

/// The digits meant by `said` in `language` (a BCP-47 tag, `de-DE`); `None` when any part of
/// it is not understood, or nothing was said.
pub fn digits(said: &str, language: &str) -> Option<String> {
    if said.len() > MAX_SPEECH_LEN {
        return None;
    }
    let words = Words::for_language(language);
    let lowered = said.to_lowercase();
    // Every mark that is not a letter or a digit separates words ("12-345", "eins, zwei.").
    let tokens: Vec<&str> = lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        i += 1;
        if token.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(token);
            continue;
        }
        if words.fillers.contains(&token) {
            continue;
        }
        if let Some(times) = words.repeat(token) {
            // "double five" → 55; the next word must be one digit.
            let next = tokens.get(i).and_then(|t| words.number(t))?;
            if next.len() != 1 {
                return None;
            }
            i += 1;
            out.push_str(&next.repeat(times));
            continue;
        }
        let mut number = words.number(token)?;
        // English tens followed by a unit: "twenty three" → 23 ("twenty" alone: 20).
        if number.len() == 2 && number.ends_with('0') && words.tens_take_units {
            if let Some(unit) = tokens.get(i).and_then(|t| words.number(t)) {
                if unit.len() == 1 && unit != "0" {
                    number.pop();
                    number.push_str(&unit);
                    i += 1;
                }
            }
        }
        out.push_str(&number);
    }
    (!out.is_empty()).then_some(out)
}

/// One language's number words.
struct Words {
    /// Each word for 0–9, and the words for 10–19 and the tens.
    units: &'static [(&'static str, u8)],
    teens_and_tens: &'static [(&'static str, u8)],
    /// Words that say the next digit twice or three times.
    repeats: &'static [(&'static str, usize)],
    fillers: &'static [&'static str],
    /// English: "twenty three" is 23. German says the unit first, in one word
    /// ("dreiundzwanzig"), or as "drei und zwanzig".
    tens_take_units: bool,
    /// German: "<unit>und<tens>" in one word or three.
    und: Option<&'static str>,
}

const GERMAN_UNITS: &[(&str, u8)] = &[
    ("null", 0),
    ("eins", 1),
    ("ein", 1),
    ("eine", 1),
    ("zwei", 2),
    ("zwo", 2),
    ("drei", 3),
    ("vier", 4),
    ("fünf", 5),
    ("fuenf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
];

const GERMAN_TEENS_AND_TENS: &[(&str, u8)] = &[
    ("zehn", 10),
    ("elf", 11),
    ("zwölf", 12),
    ("zwoelf", 12),
    ("dreizehn", 13),
    ("vierzehn", 14),
    ("fünfzehn", 15),
    ("fuenfzehn", 15),
    ("sechzehn", 16),
    ("siebzehn", 17),
    ("achtzehn", 18),
    ("neunzehn", 19),
    ("zwanzig", 20),
    ("dreißig", 30),
    ("dreissig", 30),
    ("vierzig", 40),
    ("fünfzig", 50),
    ("fuenfzig", 50),
    ("sechzig", 60),
    ("siebzig", 70),
    ("achtzig", 80),
    ("neunzig", 90),
];

const ENGLISH_UNITS: &[(&str, u8)] = &[
    ("zero", 0),
    ("oh", 0),
    ("o", 0),
    ("nought", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
];

const ENGLISH_TEENS_AND_TENS: &[(&str, u8)] = &[
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];

const GERMAN: Words = Words {
    units: GERMAN_UNITS,
    teens_and_tens: GERMAN_TEENS_AND_TENS,
    repeats: &[("doppel", 2), ("doppelt", 2), ("doppelte", 2)],
    fillers: &["äh", "ähm", "öh", "hm", "ähh"],
    tens_take_units: false,
    und: Some("und"),
};

const ENGLISH: Words = Words {
    units: ENGLISH_UNITS,
    teens_and_tens: ENGLISH_TEENS_AND_TENS,
    repeats: &[("double", 2), ("triple", 3)],
    fillers: &["uh", "um", "er", "erm", "hmm"],
    tens_take_units: true,
    und: None,
};

const DIGITS_ONLY: Words = Words {
    units: &[],
    teens_and_tens: &[],
    repeats: &[],
    fillers: &[],
    tens_take_units: false,
    und: None,
};

impl Words {
    fn for_language(tag: &str) -> &'static Words {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "de" => &GERMAN,
            "en" => &ENGLISH,
            _ => &DIGITS_ONLY,
        }
    }

    fn repeat(&self, word: &str) -> Option<usize> {
        self.repeats
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, times)| *times)
    }

    fn unit(&self, word: &str) -> Option<u8> {
        self.units.iter().find(|(w, _)| *w == word).map(|(_, n)| *n)
    }

    /// A word's digits: a unit, a teen or a ten, or German's "dreiundzwanzig".
    fn number(&self, word: &str) -> Option<String> {
        if let Some(n) = self.unit(word) {
            return Some(n.to_string());
        }
        if let Some((_, n)) = self.teens_and_tens.iter().find(|(w, _)| *w == word) {
            return Some(n.to_string());
        }
        let und = self.und?;
        let (unit, tens) = word.split_once(und)?;
        let unit = self.unit(unit).filter(|u| *u > 0)?;
        let tens = self
            .teens_and_tens
            .iter()
            .find(|(w, n)| *w == tens && *n >= 20)?
            .1;
        Some((tens + unit).to_string())
    }
}

/// German's "drei und zwanzig", as Twilio may write it, joined into "dreiundzwanzig" before
/// reading; other languages' words unchanged.
pub fn joined(said: &str, language: &str) -> String {
    let words = Words::for_language(language);
    let Some(und) = words.und else {
        return said.to_owned();
    };
    let lowered = said.to_lowercase();
    let tokens: Vec<&str> = lowered.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if i + 2 < tokens.len()
            && tokens[i + 1] == und
            && words.unit(tokens[i]).is_some_and(|u| u > 0)
            && words
                .teens_and_tens
                .iter()
                .any(|(w, n)| *w == tokens[i + 2] && *n >= 20)
        {
            out.push(format!("{}{und}{}", tokens[i], tokens[i + 2]));
            i += 3;
        } else {
            out.push(tokens[i].to_owned());
            i += 1;
        }
    }
    out.join(" ")
}

/// Words as they are compared with a choice's words: lower case, marks dropped, one space
/// between words ("Ja, gerne!" → `ja gerne`).
pub fn phrase(said: &str) -> String {
    said.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`joined`], then [`digits`]: what the state machine reads.
pub fn read(said: &str, language: &str) -> Option<String> {
    digits(&joined(said, language), language)
}

#[cfg(test)]
mod tests {
    use super::read;

    /// (language, what Twilio heard, the digits meant or `None`: not understood).
    const CASES: &[(&str, &str, Option<&str>)] = &[
        ("de-DE", "eins zwei drei vier fünf", Some("12345")),
        ("de-DE", "Eins, zwei, drei.", Some("123")),
        ("de-DE", "zwo null neun", Some("209")),
        ("de-DE", "zwölf", Some("12")),
        ("de-DE", "zwölf dreiundvierzig", Some("1243")),
        ("de-DE", "zwölf drei und vierzig", Some("1243")),
        ("de-DE", "einundzwanzig", Some("21")),
        ("de-DE", "doppel fünf eins", Some("551")),
        ("de-DE", "äh eins zwei", Some("12")),
        ("de-DE", "Fuenf Sechs", Some("56")),
        ("de-DE", "12 345", Some("12345")),
        ("de-DE", "12-345", Some("12345")),
        ("de-DE", "eins 2 drei", Some("123")),
        ("de-DE", "siebzehn", Some("17")),
        ("de", "null acht", Some("08")),
        ("de-DE", "zwölfhundert", None),
        ("de-DE", "eins hundert", None),
        ("de-DE", "meine Nummer ist eins", None),
        ("de-DE", "doppel", None),
        ("de-DE", "doppel zwölf", None),
        ("de-DE", "", None),
        ("de-DE", " ... ", None),
        ("de-DE", "nullundzwanzig", None),
        ("en-US", "one two three four five", Some("12345")),
        ("en-GB", "One. Two? Three!", Some("123")),
        ("en-GB", "oh seven", Some("07")),
        ("en-GB", "double five", Some("55")),
        ("en-GB", "triple nine one", Some("9991")),
        ("en-US", "twelve", Some("12")),
        ("en-US", "twenty three", Some("23")),
        ("en-US", "twenty", Some("20")),
        ("en-US", "twenty zero", Some("200")),
        ("en-US", "nineteen eighty four", Some("1984")),
        ("en-US", "one 2 three", Some("123")),
        ("en-US", "um one two", Some("12")),
        ("en-US", "one hundred", None),
        ("en-US", "a thousand", None),
        ("en-US", "double", None),
        ("en-US", "eins zwei", None),
        ("de-DE", "one two", None),
        ("fr-FR", "12 34", Some("1234")),
        ("fr-FR", "un deux", None),
    ];

    #[test]
    fn spoken_digits_are_read_per_language() {
        let mut wrong = Vec::new();
        for (language, said, expected) in CASES {
            let got = read(said, language);
            if got.as_deref() != *expected {
                wrong.push(format!(
                    "{language} {said:?}: expected {expected:?}, got {got:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn phrases_ignore_case_and_marks() {
        assert_eq!(super::phrase("  Ja, gerne! "), "ja gerne");
        assert_eq!(super::phrase("Yes - please."), "yes please");
        assert_eq!(super::phrase("..."), "");
    }

    #[test]
    fn a_very_long_result_is_not_understood() {
        let said = "eins ".repeat(200);
        assert_eq!(read(&said, "de-DE"), None);
        assert_eq!(
            read(&"1".repeat(super::MAX_SPEECH_LEN), "de-DE").map(|d| d.len()),
            Some(512)
        );
    }
}
