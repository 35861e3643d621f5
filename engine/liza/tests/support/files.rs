//! The repository's folders, and copies of them that a test may change.

use std::path::{Path, PathBuf};

/// The repository's top folder (flows/, locales/, docs/, …).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies the folder `from` to `to`, subfolders included.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A copy of the shipped flows and locales (`flows/`, `locales/` in the folder) that a test
/// may break.
pub fn flow_files_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_root().join("flows"), &dir.path().join("flows"));
    copy_dir(&repo_root().join("locales"), &dir.path().join("locales"));
    dir
}

/// A throw-away folder holding one flow of a test's own (`flows/<file>`) and its messages
/// (`locales/<lang>/t.ftl`, one text per language), to serve or play with the folder's
/// `flows/` and `locales/`.
pub fn flow_folder(file: &str, flow: &str, messages: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(dir.path().join("flows").join(file), flow).unwrap();
    for (lang, text) in messages {
        let folder = dir.path().join("locales").join(lang);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("t.ftl"), text).unwrap();
    }
    dir
}

/// Runs `command` with `stdin` written to its standard input; its status and output.
pub fn run_with_stdin(command: &mut std::process::Command, stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
