//! Fluent translation files: loading, checking and rendering speech.
//!
//! `locales/<lang>/*.ftl` become one bundle per language. Rendering never emits
//! bidi isolation marks, and variables that hold keyed digits come out as
//! [`Segment::Digits`] so the TwiML layer can read them digit by digit.
//!
//! Must not touch: flows, the store, HTTP, TwiML writing (it only produces segments).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;
use unic_langid::LanguageIdentifier;

use crate::diagnostics::{Diagnostic, Diagnostics, Position};
use crate::spoken::ssml::{self, PLACEABLE};
use crate::spoken::Segment;

/// A value passed to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    /// Keyed digits (an order number): read back digit by digit.
    Digits(String),
}

/// Where a message is defined and which variables it uses.
#[derive(Debug, Clone)]
pub struct MessageInfo {
    pub file: PathBuf,
    pub position: Position,
    /// The whole file it is defined in (shared by its messages), for diagnostics that point
    /// into it.
    pub source: Arc<str>,
    pub variables: BTreeSet<String>,
    /// Where its first SSML tag is (`<break time="500ms"/>`), if it has one.
    pub ssml: Option<Position>,
    /// Other messages it references (`{ other-message }`).
    references: BTreeSet<String>,
}

/// One language: its bundle and what it defines.
pub struct Locale {
    pub langid: LanguageIdentifier,
    bundle: FluentBundle<FluentResource>,
    messages: BTreeMap<String, MessageInfo>,
    pub dir: PathBuf,
}

impl std::fmt::Debug for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locale")
            .field("langid", &self.langid.to_string())
            .field("messages", &self.messages.len())
            .finish()
    }
}

impl Locale {
    pub fn message(&self, id: &str) -> Option<&MessageInfo> {
        self.messages.get(id)
    }

    pub fn message_ids(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }

    /// Variables a message needs, following references to other messages.
    pub fn variables_needed(&self, id: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        let mut stack = vec![id.to_owned()];
        while let Some(current) = stack.pop() {
            if !seen.insert(current.clone()) {
                continue;
            }
            if let Some(info) = self.messages.get(&current) {
                out.extend(info.variables.iter().cloned());
                stack.extend(info.references.iter().cloned());
            }
        }
        out
    }

    /// Renders a message into speech segments. Formatting problems (a missing
    /// variable) are returned beside the best-effort text, never instead of it.
    pub fn render(&self, id: &str, args: &[(&str, Arg)]) -> (Vec<Segment>, Vec<String>) {
        let Some(message) = self.bundle.get_message(id) else {
            return (
                vec![Segment::Text(String::new())],
                vec![format!(
                    "message `{id}` is not defined in `{}`",
                    self.langid
                )],
            );
        };
        let Some(pattern) = message.value() else {
            return (
                vec![],
                vec![format!("message `{id}` has no value in `{}`", self.langid)],
            );
        };
        let mut fluent_args = FluentArgs::new();
        let mut digits = Vec::new();
        for (name, arg) in args {
            match arg {
                // A value's `<` is text, never a tag: hidden while the markup is parsed.
                Arg::Text(t) => fluent_args.set(*name, FluentValue::from(ssml::hide_markup(t))),
                Arg::Digits(d) => {
                    // A private-use marker stands in for the digits and is split out below.
                    fluent_args.set(
                        *name,
                        FluentValue::from(format!("\u{E000}{}\u{E001}", digits.len())),
                    );
                    digits.push(d.clone());
                }
            }
        }
        let mut errors = Vec::new();
        let text = self
            .bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors);
        let mut problems: Vec<String> = errors
            .iter()
            .map(|e| format!("message `{id}`: {e}"))
            .collect();
        // The message's own SSML, checked when the files were loaded.
        let (parsed, markup) = ssml::parse(&text);
        problems.extend(
            markup
                .into_iter()
                .map(|p| format!("message `{id}`: {}", p.message)),
        );
        (with_digits(parsed, &digits), problems)
    }
}

impl Locale {
    /// A message's value, or one of its attributes, as plain text without variables (a
    /// label on a page, not speech). `None` when the message or attribute is missing.
    pub fn label(&self, id: &str, attribute: Option<&str>) -> Option<String> {
        let message = self.bundle.get_message(id)?;
        let pattern = match attribute {
            Some(name) => message.get_attribute(name)?.value(),
            None => message.value()?,
        };
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, None, &mut errors);
        Some(text.trim().to_owned())
    }
}

/// Parsed segments with the digit markers split out of their text and variables' hidden
/// markup given back as text.
fn with_digits(segments: Vec<Segment>, digits: &[String]) -> Vec<Segment> {
    let mut out = Vec::new();
    for segment in segments {
        match segment {
            Segment::Text(text) => {
                out.extend(split_digits(&text, digits).into_iter().map(|s| match s {
                    Segment::Text(t) => Segment::Text(ssml::unhide_markup(&t)),
                    other => other,
                }))
            }
            Segment::Ssml(mut element) => {
                element.children = with_digits(element.children, digits);
                out.push(Segment::Ssml(element));
            }
            other => out.push(other),
        }
    }
    out
}

fn split_digits(text: &str, digits: &[String]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('\u{E000}') {
        let Some(len) = rest[start..].find('\u{E001}') else {
            break;
        };
        if start > 0 {
            out.push(Segment::Text(rest[..start].to_owned()));
        }
        let index: usize = rest[start + '\u{E000}'.len_utf8()..start + len]
            .parse()
            .unwrap_or(usize::MAX);
        if let Some(d) = digits.get(index) {
            out.push(Segment::Digits(d.clone()));
        }
        rest = &rest[start + len + '\u{E001}'.len_utf8()..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest.to_owned()));
    }
    out
}

/// Every language found under a locales directory.
#[derive(Debug)]
pub struct Locales {
    locales: Vec<Locale>,
    /// Every .ftl file as read: (`<lang>/<file>.ftl`, text), to store a flow version whole.
    sources: Vec<(String, String)>,
}

impl Locales {
    /// Loads `dir/<lang>/*.ftl`. All problems are reported at once.
    pub fn load(dir: &Path) -> Result<Self, Diagnostics> {
        let mut diagnostics = Diagnostics::default();
        let lang_dirs = match language_dirs(dir) {
            Ok(dirs) => dirs,
            Err(e) => {
                diagnostics.push(Diagnostic::unreadable(
                    dir,
                    format!("cannot read locales directory: {e}"),
                ));
                return Err(diagnostics);
            }
        };
        let mut locales = Vec::new();
        let mut sources = Vec::new();
        for lang_dir in lang_dirs {
            let name = lang_dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let langid: LanguageIdentifier = match name.parse() {
                Ok(l) => l,
                Err(_) => {
                    diagnostics.push(Diagnostic::error(
                        &lang_dir,
                        Position::default(),
                        format!("`{name}` is not a language tag (expected e.g. `de` or `en-GB`)"),
                    ));
                    continue;
                }
            };
            let files = match read_locale_files(&lang_dir) {
                Ok(files) => files,
                Err(d) => {
                    diagnostics.extend(d);
                    continue;
                }
            };
            for (path, text) in &files {
                let file = path.file_name().unwrap_or_default().to_string_lossy();
                sources.push((format!("{name}/{file}"), text.clone()));
            }
            match build_locale(langid, &lang_dir, files) {
                Ok(locale) => locales.push(locale),
                Err(d) => diagnostics.extend(d),
            }
        }
        if locales.is_empty() && !diagnostics.has_errors() {
            diagnostics.push(Diagnostic::error(
                dir,
                Position::default(),
                "no language directories found (expected e.g. `de/` and `en/` with .ftl files)",
            ));
        }
        if diagnostics.has_errors() {
            diagnostics.sort();
            return Err(diagnostics);
        }
        Ok(Self { locales, sources })
    }

    /// Rebuilds locales from [`Locales::sources`] (a stored flow version), as if read from
    /// a directory `root`.
    pub fn from_sources(root: &Path, sources: Vec<(String, String)>) -> Result<Self, Diagnostics> {
        let mut by_lang: BTreeMap<String, Vec<(PathBuf, String)>> = BTreeMap::new();
        for (name, text) in &sources {
            let (lang, file) = name.split_once('/').unwrap_or(("", name));
            by_lang
                .entry(lang.to_owned())
                .or_default()
                .push((root.join(lang).join(file), text.clone()));
        }
        let mut locales = Vec::new();
        for (lang, files) in by_lang {
            let langid: LanguageIdentifier = lang.parse().map_err(|_| {
                Diagnostics(vec![Diagnostic::error(
                    root,
                    Position::default(),
                    format!("`{lang}` is not a language tag"),
                )])
            })?;
            locales.push(build_locale(langid, &root.join(&lang), files)?);
        }
        Ok(Self { locales, sources })
    }

    /// The .ftl files these locales were built from.
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }

    pub fn all(&self) -> &[Locale] {
        &self.locales
    }

    pub fn get(&self, index: usize) -> &Locale {
        &self.locales[index]
    }

    /// The locale that serves `requested` (e.g. `en-GB` → the `en` files),
    /// falling back to `default`, then to the first locale.
    pub fn negotiate(&self, requested: &str, default: &str) -> usize {
        // fluent-langneg has its own LanguageIdentifier type; go through the tag text.
        let available: Vec<fluent_langneg::LanguageIdentifier> = self
            .locales
            .iter()
            .filter_map(|l| l.langid.to_string().parse().ok())
            .collect();
        let wanted: Vec<fluent_langneg::LanguageIdentifier> = [requested, default]
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect();
        let chosen = fluent_langneg::negotiate_languages(
            &wanted,
            &available,
            None,
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        chosen
            .first()
            .and_then(|c| available.iter().position(|a| a == *c))
            .unwrap_or(0)
    }
}

/// The language directories of a locales directory (`<dir>/<lang>/`), sorted.
fn language_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The .ftl files of one language directory, sorted.
fn ftl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|ext| ext == "ftl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Every file [`Locales::load`] reads from `dir`, in the order it reads them.
pub fn source_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    Ok(language_dirs(dir)?
        .iter()
        .flat_map(|lang_dir| ftl_files(lang_dir))
        .collect())
}

/// The .ftl files of one language directory, sorted, with their text.
fn read_locale_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let files = ftl_files(dir);
    let mut read = Vec::new();
    for file in files {
        match fs::read_to_string(&file) {
            Ok(text) => read.push((file, text)),
            Err(e) => diagnostics.push(Diagnostic::unreadable(
                &file,
                format!("cannot read file: {e}"),
            )),
        }
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    Ok(read)
}

fn build_locale(
    langid: LanguageIdentifier,
    dir: &Path,
    files: Vec<(PathBuf, String)>,
) -> Result<Locale, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let mut bundle = FluentBundle::new_concurrent(vec![langid.clone()]);
    // Isolation marks (U+2068/U+2069) would be read out or break a voice.
    bundle.set_use_isolating(false);
    let mut messages = BTreeMap::new();
    for (file, source) in files {
        let resource = match FluentResource::try_new(source.clone()) {
            Ok(r) => r,
            Err((r, errors)) => {
                for e in errors {
                    // An error found at the end of the file belongs to the entry it broke.
                    let offset = match &e.slice {
                        Some(slice) if e.pos.start >= source.trim_end().len() => slice.start,
                        _ => e.pos.start,
                    };
                    let position = offset_position(&source, offset);
                    let hint = syntax_hint(&e.kind, &source, position.line);
                    diagnostics.push(
                        Diagnostic::error(
                            &file,
                            position,
                            format!("Fluent syntax: {}{hint}", e.kind),
                        )
                        .with_source(&source),
                    );
                }
                r
            }
        };
        let mut seen_in_file: BTreeMap<&str, usize> = BTreeMap::new();
        let shared: Arc<str> = Arc::from(source.as_str());
        for entry in resource.entries() {
            if let ast::Entry::Message(m) = entry {
                let id = m.id.name.to_owned();
                let nth = seen_in_file.entry(m.id.name).or_default();
                let position = message_position(&source, &id, *nth);
                *nth += 1;
                if let Some(previous) = messages.get(&id) {
                    let previous: &MessageInfo = previous;
                    diagnostics.push(
                        Diagnostic::error(
                            &file,
                            position,
                            format!(
                                "message `{id}` is defined twice: here and in {}:{} (the first is used; remove or rename one)",
                                previous.file.display(),
                                previous.position.line
                            ),
                        )
                        .with_source(&source),
                    );
                    continue;
                }
                let mut variables = BTreeSet::new();
                let mut references = BTreeSet::new();
                let mut ssml = None;
                if let Some(value) = &m.value {
                    collect_pattern(value, &mut variables, &mut references);
                    let mut problems = Vec::new();
                    check_markup(resource.source(), value, &mut ssml, &mut problems);
                    for (offset, problem) in problems {
                        diagnostics.push(
                            Diagnostic::error(
                                &file,
                                offset_position(&source, offset),
                                format!("message `{id}`: {problem}"),
                            )
                            .with_source(&source),
                        );
                    }
                }
                let ssml = ssml.map(|offset| offset_position(&source, offset));
                messages.insert(
                    id,
                    MessageInfo {
                        file: file.clone(),
                        position,
                        source: shared.clone(),
                        variables,
                        ssml,
                        references,
                    },
                );
            }
        }
        // Duplicates were reported above; the bundle keeps the first definition.
        let _ = bundle.add_resource(resource);
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    Ok(Locale {
        langid,
        bundle,
        messages,
        dir: dir.to_path_buf(),
    })
}

/// 1-based line and column of a byte offset.
pub fn offset_position(source: &str, offset: usize) -> Position {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        column: source[line_start..offset].chars().count() + 1,
    }
}

/// Where the `nth` (0-based) definition of message `id` in `source` starts.
fn message_position(source: &str, id: &str, nth: usize) -> Position {
    let mut offset = 0;
    let mut found = 0;
    for line in source.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(id) {
            if rest.trim_start().starts_with('=') {
                if found == nth {
                    return offset_position(source, offset);
                }
                found += 1;
            }
        }
        offset += line.len();
    }
    Position { line: 1, column: 1 }
}

/// Where message `id`'s text (from its definition to the next entry) first uses `$variable`.
pub fn variable_position(source: &str, id: &str, variable: &str) -> Option<Position> {
    let start = source
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let at = *offset;
            *offset += line.len();
            Some((at, line))
        })
        .find(|(_, line)| {
            line.strip_prefix(id)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })?
        .0;
    let mut offset = start;
    for (i, line) in source[start..].split_inclusive('\n').enumerate() {
        // The next entry (or comment) starts at the line's first column.
        if i > 0 && line.starts_with(|c: char| !c.is_whitespace()) {
            break;
        }
        let mut from = 0;
        while let Some(found) = line[from..].find('$') {
            let name_start = from + found + 1;
            let name: String = line[name_start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            if name == variable {
                return Some(offset_position(source, offset + name_start - 1));
            }
            from = name_start;
        }
        offset += line.len();
    }
    None
}

/// What a Fluent syntax error usually means, for product staff: the mistakes seen most.
fn syntax_hint(kind: &fluent_syntax::parser::ErrorKind, source: &str, line: usize) -> String {
    use fluent_syntax::parser::ErrorKind;
    let text = source.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let previous = source
        .lines()
        .take(line.saturating_sub(1))
        .filter(|l| !l.trim().is_empty())
        .last()
        .unwrap_or("");
    let hint = if text.contains('\t') {
        "this line has a tab: Fluent indents with spaces only"
    } else {
        match kind {
            ErrorKind::MissingDefaultVariant => {
                "a choice needs a default marked with `*`, e.g. `*[other] …`, for any other value"
            }
            ErrorKind::MultipleDefaultVariants => "a choice has one default (`*`), not several",
            ErrorKind::UnbalancedClosingBrace => "a `}` without the `{` it closes",
            ErrorKind::ExpectedToken('}') => "a `{` is not closed: end the placeable with `}`",
            ErrorKind::MissingValue => "the message has no text after `=`",
            ErrorKind::ExpectedToken('=') | ErrorKind::ExpectedCharRange { .. }
                if !text.starts_with(char::is_whitespace)
                    && (previous.contains('=') || previous.starts_with(char::is_whitespace)) =>
            {
                "lines after a message's first line must be indented: start them with a space"
            }
            ErrorKind::ExpectedCharRange { .. } => {
                "a message starts with its id (letters, digits, `-`) and `=`"
            }
            _ => "",
        }
    };
    if hint.is_empty() {
        String::new()
    } else {
        format!(" ({hint})")
    }
}

/// Checks the SSML of a message's pattern (and of each variant of a choice in it, on its
/// own: a tag opened in a variant closes in it). `source`: the text the pattern's slices
/// point into; problems come back with their byte offsets in it, `first_tag` is set to the
/// offset of the first tag.
fn check_markup(
    source: &str,
    pattern: &ast::Pattern<&str>,
    first_tag: &mut Option<usize>,
    problems: &mut Vec<(usize, String)>,
) {
    let base = source.as_ptr() as usize;
    // The pattern's text with placeables as one character, and where each piece starts in
    // `source`: (offset in `text`, offset in `source`).
    let mut text = String::new();
    let mut map: Vec<(usize, usize)> = Vec::new();
    for element in &pattern.elements {
        match element {
            ast::PatternElement::TextElement { value } => {
                let at = (value.as_ptr() as usize).wrapping_sub(base);
                if at <= source.len() {
                    map.push((text.len(), at));
                }
                text.push_str(value);
            }
            ast::PatternElement::Placeable { expression } => {
                if let ast::Expression::Select { variants, .. } = expression {
                    for variant in variants {
                        check_markup(source, &variant.value, first_tag, problems);
                    }
                }
                text.push(PLACEABLE);
            }
        }
    }
    let to_source = |offset: usize| {
        map.iter()
            .rev()
            .find(|(at, _)| *at <= offset)
            .map_or(0, |(at, from)| from + (offset - at))
            .min(source.len())
    };
    if let Some(lt) = text.find('<') {
        let at = to_source(lt);
        if first_tag.is_none_or(|first| at < first) {
            *first_tag = Some(at);
        }
    }
    let (_, found) = ssml::parse(&text);
    problems.extend(found.into_iter().map(|p| (to_source(p.offset), p.message)));
}

fn collect_pattern(
    pattern: &ast::Pattern<&str>,
    vars: &mut BTreeSet<String>,
    refs: &mut BTreeSet<String>,
) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            collect_expression(expression, vars, refs);
        }
    }
}

fn collect_expression(
    expr: &ast::Expression<&str>,
    vars: &mut BTreeSet<String>,
    refs: &mut BTreeSet<String>,
) {
    match expr {
        ast::Expression::Select { selector, variants } => {
            collect_inline(selector, vars, refs);
            for variant in variants {
                collect_pattern(&variant.value, vars, refs);
            }
        }
        ast::Expression::Inline(inline) => collect_inline(inline, vars, refs),
    }
}

fn collect_inline(
    expr: &ast::InlineExpression<&str>,
    vars: &mut BTreeSet<String>,
    refs: &mut BTreeSet<String>,
) {
    match expr {
        ast::InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_owned());
        }
        ast::InlineExpression::MessageReference { id, .. } => {
            refs.insert(id.name.to_owned());
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for arg in &arguments.positional {
                collect_inline(arg, vars, refs);
            }
            for arg in &arguments.named {
                collect_inline(&arg.value, vars, refs);
            }
        }
        ast::InlineExpression::Placeable { expression } => {
            collect_expression(expression, vars, refs)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locales(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Locales, Diagnostics>) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let loaded = Locales::load(dir.path());
        (dir, loaded)
    }

    #[test]
    fn labels_are_a_message_value_or_attribute() {
        let (_dir, loaded) = locales(&[(
            "en/a.ftl",
            "records-order = Orders\n    .one = Order\n    .key = Order number\n",
        )]);
        let locale = loaded.unwrap();
        let locale = locale.get(0);
        assert_eq!(
            locale.label("records-order", None).as_deref(),
            Some("Orders")
        );
        assert_eq!(
            locale.label("records-order", Some("one")).as_deref(),
            Some("Order")
        );
        assert_eq!(
            locale.label("records-order", Some("key")).as_deref(),
            Some("Order number")
        );
        assert_eq!(locale.label("records-order", Some("many")), None);
        assert_eq!(locale.label("nothing", None), None);
    }

    #[test]
    fn renders_without_isolation_marks_and_with_digit_segments() {
        let (_dir, loaded) = locales(&[(
            "de/a.ftl",
            "readback = Sie haben { $number } eingegeben, { $company }.\n",
        )]);
        let locales = loaded.unwrap();
        let (speech, problems) = locales.get(0).render(
            "readback",
            &[
                ("number", Arg::Digits("123".into())),
                ("company", Arg::Text("ACME".into())),
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            speech,
            vec![
                Segment::Text("Sie haben ".into()),
                Segment::Digits("123".into()),
                Segment::Text(" eingegeben, ACME.".into()),
            ]
        );
    }

    #[test]
    fn collects_variables_through_selects_and_references() {
        let (_dir, loaded) = locales(&[(
            "en/a.ftl",
            "status = { $status ->\n    [shipped] shipped to { $city }\n   *[other] { base }\n}\nbase = hello { $name }\n",
        )]);
        let locales = loaded.unwrap();
        let needed = locales.get(0).variables_needed("status");
        assert_eq!(
            needed.into_iter().collect::<Vec<_>>(),
            ["city", "name", "status"]
        );
    }

    #[test]
    fn negotiates_regional_variants_to_the_language_files() {
        let (_dir, loaded) = locales(&[("de/a.ftl", "a = a\n"), ("en/a.ftl", "a = a\n")]);
        let locales = loaded.unwrap();
        assert_eq!(
            locales
                .get(locales.negotiate("en-GB", "de-DE"))
                .langid
                .to_string(),
            "en"
        );
        assert_eq!(
            locales
                .get(locales.negotiate("en-US", "de-DE"))
                .langid
                .to_string(),
            "en"
        );
        assert_eq!(
            locales
                .get(locales.negotiate("fr-FR", "de-DE"))
                .langid
                .to_string(),
            "de"
        );
    }

    #[test]
    fn reports_syntax_errors_with_positions() {
        let (_dir, loaded) = locales(&[("en/a.ftl", "ok = fine\nbroken = { $x\n")]);
        let diagnostics = loaded.unwrap_err();
        let first = diagnostics.iter().next().unwrap();
        assert_eq!(first.position.line, 2);
        assert!(first.message.starts_with("Fluent syntax"), "{first}");
    }
}
