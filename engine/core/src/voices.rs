//! Twilio's voices: which languages each speaks, whether it speaks SSML, how many characters
//! one `<Say>` may hold for it.
//!
//! Sources (docs/twilio.md#voices): Twilio's `<Say>` and text-to-speech pages (the basic
//! voices `man` and `woman`: en, en-gb, es, fr, de; Polly and Google voices by name; SSML for
//! Polly and Google voices only; 3,000 characters a `<Say>` for Polly and Google, 4,096 for
//! the basic voices) and Amazon Polly's list of voices (name → language). A Google voice's
//! language is part of its name (`Google.de-DE-Wavenet-A`).

/// Who speaks for a voice name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `man`, `woman` (and the deprecated `alice`): no SSML.
    Basic,
    /// `Polly.<Name>`, `Polly.<Name>-Neural`, `Polly.<Name>-Generative`.
    Polly,
    /// `Google.<lang>-<REGION>-<Kind>-<X>`.
    Google,
    /// A name Liza does not know (Twilio may have added it): no claims about it.
    Unknown,
}

/// The characters Twilio takes in one `<Say>` for a Polly or Google voice (the text spoken:
/// SSML tags do not count, as Amazon Polly bills characters).
pub const SAY_LIMIT_SSML_VOICE: usize = 3000;
/// … and for a basic voice.
pub const SAY_LIMIT_BASIC: usize = 4096;

/// Amazon Polly's voices as Twilio names them (`Polly.` + name), with their languages.
/// A bilingual voice lists both.
pub const POLLY: &[(&str, &[&str])] = &[
    // German
    ("Marlene", &["de-DE"]),
    ("Vicki", &["de-DE"]),
    ("Hans", &["de-DE"]),
    ("Daniel", &["de-DE"]),
    ("Hannah", &["de-AT"]),
    ("Sabrina", &["de-CH"]),
    // English
    ("Joanna", &["en-US"]),
    ("Salli", &["en-US"]),
    ("Kimberly", &["en-US"]),
    ("Kendra", &["en-US"]),
    ("Ivy", &["en-US"]),
    ("Ruth", &["en-US"]),
    ("Danielle", &["en-US"]),
    ("Matthew", &["en-US"]),
    ("Justin", &["en-US"]),
    ("Joey", &["en-US"]),
    ("Kevin", &["en-US"]),
    ("Stephen", &["en-US"]),
    ("Gregory", &["en-US"]),
    ("Patrick", &["en-US"]),
    ("Amy", &["en-GB"]),
    ("Emma", &["en-GB"]),
    ("Brian", &["en-GB"]),
    ("Arthur", &["en-GB"]),
    ("Geraint", &["en-GB-WLS"]),
    ("Nicole", &["en-AU"]),
    ("Olivia", &["en-AU"]),
    ("Russell", &["en-AU"]),
    ("Aditi", &["en-IN", "hi-IN"]),
    ("Raveena", &["en-IN"]),
    ("Kajal", &["en-IN", "hi-IN"]),
    ("Niamh", &["en-IE"]),
    ("Aria", &["en-NZ"]),
    ("Ayanda", &["en-ZA"]),
    // French
    ("Celine", &["fr-FR"]),
    ("Céline", &["fr-FR"]),
    ("Lea", &["fr-FR"]),
    ("Léa", &["fr-FR"]),
    ("Mathieu", &["fr-FR"]),
    ("Remi", &["fr-FR"]),
    ("Rémi", &["fr-FR"]),
    ("Chantal", &["fr-CA"]),
    ("Gabrielle", &["fr-CA"]),
    ("Liam", &["fr-CA"]),
    ("Isabelle", &["fr-BE"]),
    // Spanish
    ("Conchita", &["es-ES"]),
    ("Lucia", &["es-ES"]),
    ("Enrique", &["es-ES"]),
    ("Sergio", &["es-ES"]),
    ("Mia", &["es-MX"]),
    ("Andres", &["es-MX"]),
    ("Penelope", &["es-US"]),
    ("Lupe", &["es-US"]),
    ("Miguel", &["es-US"]),
    ("Pedro", &["es-US"]),
    // Italian
    ("Carla", &["it-IT"]),
    ("Bianca", &["it-IT"]),
    ("Giorgio", &["it-IT"]),
    ("Adriano", &["it-IT"]),
    // Dutch
    ("Lotte", &["nl-NL"]),
    ("Laura", &["nl-NL"]),
    ("Ruben", &["nl-NL"]),
    ("Lisa", &["nl-BE"]),
    // Portuguese
    ("Ines", &["pt-PT"]),
    ("Inês", &["pt-PT"]),
    ("Cristiano", &["pt-PT"]),
    ("Camila", &["pt-BR"]),
    ("Vitoria", &["pt-BR"]),
    ("Vitória", &["pt-BR"]),
    ("Ricardo", &["pt-BR"]),
    ("Thiago", &["pt-BR"]),
    // Nordic
    ("Naja", &["da-DK"]),
    ("Mads", &["da-DK"]),
    ("Sofie", &["da-DK"]),
    ("Liv", &["nb-NO"]),
    ("Ida", &["nb-NO"]),
    ("Astrid", &["sv-SE"]),
    ("Elin", &["sv-SE"]),
    ("Suvi", &["fi-FI"]),
    ("Dora", &["is-IS"]),
    ("Dóra", &["is-IS"]),
    ("Karl", &["is-IS"]),
    // Other European
    ("Ewa", &["pl-PL"]),
    ("Maja", &["pl-PL"]),
    ("Jacek", &["pl-PL"]),
    ("Jan", &["pl-PL"]),
    ("Ola", &["pl-PL"]),
    ("Tatyana", &["ru-RU"]),
    ("Maxim", &["ru-RU"]),
    ("Filiz", &["tr-TR"]),
    ("Burcu", &["tr-TR"]),
    ("Carmen", &["ro-RO"]),
    ("Gwyneth", &["cy-GB"]),
    ("Arlet", &["ca-ES"]),
    // Asian and Arabic
    ("Mizuki", &["ja-JP"]),
    ("Takumi", &["ja-JP"]),
    ("Kazuha", &["ja-JP"]),
    ("Tomoko", &["ja-JP"]),
    ("Seoyeon", &["ko-KR"]),
    ("Zhiyu", &["cmn-CN"]),
    ("Zeina", &["arb"]),
    ("Hala", &["ar-AE"]),
    ("Zayd", &["ar-AE"]),
];

/// The basic voices' languages (Twilio's `<Say>` page).
const BASIC: &[&str] = &["en", "en-GB", "es", "fr", "de"];

pub fn engine(voice: &str) -> Engine {
    if voice.starts_with("Polly.") {
        Engine::Polly
    } else if voice.starts_with("Google.") {
        Engine::Google
    } else if matches!(voice, "man" | "woman" | "alice") {
        Engine::Basic
    } else {
        Engine::Unknown
    }
}

/// Whether Twilio passes SSML inside `<Say>` on to this voice (Polly and Google voices).
pub fn speaks_ssml(voice: &str) -> bool {
    matches!(engine(voice), Engine::Polly | Engine::Google)
}

/// The characters one `<Say>` may hold for this voice.
pub fn say_limit(voice: &str) -> usize {
    match engine(voice) {
        Engine::Basic => SAY_LIMIT_BASIC,
        _ => SAY_LIMIT_SSML_VOICE,
    }
}

/// The language tags a voice speaks; `None` for a voice this table does not know.
pub fn languages(voice: &str) -> Option<Vec<String>> {
    match engine(voice) {
        Engine::Basic if voice == "alice" => None,
        Engine::Basic => Some(BASIC.iter().map(|t| t.to_string()).collect()),
        Engine::Polly => {
            let name = voice.trim_start_matches("Polly.");
            let name = ["-Neural", "-Generative", "-LongForm"]
                .iter()
                .fold(name, |n, suffix| n.trim_end_matches(suffix));
            POLLY
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, langs)| langs.iter().map(|t| t.to_string()).collect())
        }
        Engine::Google => {
            let name = voice.trim_start_matches("Google.");
            let mut parts = name.splitn(3, '-');
            let (lang, region) = (parts.next()?, parts.next()?);
            Some(vec![format!("{lang}-{region}")])
        }
        Engine::Unknown => None,
    }
}

/// The primary language of a tag (`de-DE` → `de`), lower case.
fn primary(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Whether `voice` speaks the language of `tag` (by its primary language: `de-AT` for a
/// `de-DE` voice is German all the same). `None`: the voice is not in the table.
pub fn speaks(voice: &str, tag: &str) -> Option<bool> {
    let wanted = primary(tag);
    let langs = languages(voice)?;
    Some(langs.iter().any(|l| {
        let p = primary(l);
        p == wanted || (p == "cmn" && wanted == "zh") || (p == "arb" && wanted == "ar")
    }))
}

/// Polly voices that speak the language of `tag`, those of its exact region first: the
/// suggestion when a voice does not fit.
pub fn polly_voices_for(tag: &str) -> Vec<String> {
    let wanted = primary(tag);
    let mut exact = Vec::new();
    let mut same_language = Vec::new();
    for (name, langs) in POLLY {
        // One spelling each: the accented duplicates are left out of suggestions.
        if !name.is_ascii() {
            continue;
        }
        if langs.iter().any(|l| l.eq_ignore_ascii_case(tag)) {
            exact.push(format!("Polly.{name}"));
        } else if langs.iter().any(|l| primary(l) == wanted) {
            same_language.push(format!("Polly.{name}"));
        }
    }
    exact.extend(same_language);
    exact
}

/// " (for `fr-FR` e.g. `Polly.Celine`, …)": what to choose for a language.
pub fn suggest(tag: &str) -> String {
    let voices = polly_voices_for(tag);
    if voices.is_empty() {
        return format!(
            " (Twilio's Polly voices speak no `{tag}`; a `Google.{tag}-…` voice may: docs/twilio.md#voices)"
        );
    }
    let some: Vec<String> = voices.iter().take(4).map(|v| format!("`{v}`")).collect();
    format!(" (for `{tag}` e.g. {})", some.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voices_know_their_languages() {
        assert_eq!(speaks("Polly.Vicki", "de-DE"), Some(true));
        assert_eq!(speaks("Polly.Vicki", "fr-FR"), Some(false));
        assert_eq!(speaks("Polly.Hans", "de-AT"), Some(true));
        assert_eq!(speaks("Polly.Joanna-Neural", "en-US"), Some(true));
        assert_eq!(speaks("Polly.Lea", "fr"), Some(true));
        assert_eq!(speaks("Google.de-DE-Wavenet-A", "de-DE"), Some(true));
        assert_eq!(speaks("Google.fr-FR-Neural2-A", "de-DE"), Some(false));
        assert_eq!(speaks("Google.uk-UA-Standard-A", "uk-UA"), Some(true));
        assert_eq!(speaks("woman", "de-DE"), Some(true));
        assert_eq!(speaks("man", "it-IT"), Some(false));
        assert_eq!(speaks("Polly.Nobody", "de-DE"), None);
        assert_eq!(speaks("alice", "de-DE"), None);
    }

    #[test]
    fn ssml_and_limits_follow_the_engine() {
        assert!(speaks_ssml("Polly.Vicki") && speaks_ssml("Google.en-US-Standard-A"));
        assert!(!speaks_ssml("man") && !speaks_ssml("woman"));
        assert_eq!(say_limit("Polly.Vicki"), 3000);
        assert_eq!(say_limit("woman"), 4096);
    }

    #[test]
    fn suggestions_start_with_the_exact_region() {
        let fr = polly_voices_for("fr-CA");
        assert_eq!(fr[0], "Polly.Chantal");
        assert!(fr.contains(&"Polly.Lea".to_owned()));
        assert!(!fr.iter().any(|v| v.contains('é')));
    }
}
