//! Problems found in a user's flow or locale file, pointing into that file.
//!
//! Rendered for product staff: `path:line:col: error: node `x`: the rule, then what broke it`,
//! followed by the source line and a caret.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub position: Position,
    /// The flow node the problem is in, when there is one.
    pub node: Option<String>,
    pub message: String,
    /// The offending source line, shown under the message with a caret.
    pub source_line: Option<String>,
    /// The file could not be read at all (missing, a directory, no permission): nothing in
    /// it was checked. `liza check` exits 2 for these, 1 for problems inside files.
    pub unreadable: bool,
}

impl Diagnostic {
    pub fn error(file: &Path, position: Position, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            file: file.to_path_buf(),
            position,
            node: None,
            message: message.into(),
            source_line: None,
            unreadable: false,
        }
    }

    /// A file or directory that could not be read (`message` says why).
    pub fn unreadable(file: &Path, message: impl Into<String>) -> Self {
        Self {
            unreadable: true,
            ..Self::error(file, Position::default(), message)
        }
    }

    pub fn warning(file: &Path, position: Position, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(file, position, message)
        }
    }

    pub fn in_node(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }

    /// Attaches the source line the position points at.
    pub fn with_source(mut self, source: &str) -> Self {
        if self.position.line > 0 {
            self.source_line = source
                .lines()
                .nth(self.position.line - 1)
                .map(str::to_owned);
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {severity}: ",
            self.file.display(),
            self.position.line,
            self.position.column
        )?;
        if let Some(node) = &self.node {
            write!(f, "node `{node}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(line) = &self.source_line {
            // Very long lines (a long prompt) are cut after the caret's neighbourhood.
            const SHOWN: usize = 100;
            let keep = SHOWN.max(self.position.column + 20);
            let cut: String = line.chars().take(keep).collect();
            let line = if cut.len() < line.len() {
                format!("{cut}…")
            } else {
                cut
            };
            let gutter = self.position.line.to_string();
            let pad = " ".repeat(gutter.len());
            // Tabs keep their width so the caret lines up under the column.
            let caret_pad: String = line
                .chars()
                .take(self.position.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{pad} |\n{gutter} | {line}\n{pad} | {caret_pad}^")?;
        }
        Ok(())
    }
}

/// All diagnostics of one load, sorted by file and position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Whether some file could not be read at all (see [`Diagnostic::unreadable`]).
    pub fn has_unreadable(&self) -> bool {
        self.0.iter().any(|d| d.unreadable)
    }

    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (&a.file, a.position, a.severity, &a.message)
                .cmp(&(&b.file, b.position, b.severity, &b.message))
        });
        self.0.dedup();
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

/// " (did you mean `order`?)" when one of `candidates` is a close spelling of `name`.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(distance, c)| *distance <= (c.len().max(name.len()) / 3).max(1) && *c != name)
        .min();
    match best {
        Some((_, c)) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_node_source_and_caret() {
        let d = Diagnostic::error(
            Path::new("flows/liza.yaml"),
            Position {
                line: 2,
                column: 11,
            },
            "next `odrer` does not exist (did you mean `order`?)",
        )
        .in_node("consent")
        .with_source("nodes:\n    next: odrer\n");
        assert_eq!(
            d.to_string(),
            "flows/liza.yaml:2:11: error: node `consent`: next `odrer` does not exist (did you mean `order`?)\n  |\n2 |     next: odrer\n  |           ^"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("odrer", ["order", "consent"]),
            " (did you mean `order`?)"
        );
        assert_eq!(did_you_mean("xyz", ["order", "consent"]), "");
    }
}
