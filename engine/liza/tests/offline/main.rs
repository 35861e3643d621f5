//! The tests that need no server, one binary: the command line tools (`liza test`,
//! `simulate`, `graph`, `check`'s diagnostics, `migrate`), the docs and repository files, and
//! the rooms of ARCHITECTURE.md.

#[path = "../support/mod.rs"]
mod support;

mod diagnostics;
mod docs;
mod docs_examples;
mod repo_files;
mod rooms;
mod tools;
