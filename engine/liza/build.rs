//! Puts the git commit into `liza --version` (LIZA_GIT_COMMIT at compile time).
//!
//! From the environment variable LIZA_GIT_COMMIT when it is set (the Docker build has no
//! repository: `docker build --build-arg LIZA_GIT_COMMIT=$(git rev-parse --short=12 HEAD)`),
//! else from `git rev-parse`, else `unknown`. Never fails the build.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LIZA_GIT_COMMIT");
    let commit = std::env::var("LIZA_GIT_COMMIT")
        .ok()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=LIZA_GIT_COMMIT={commit}");
}

/// `git ARGS` in this package's directory; its trimmed output when it succeeds.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Build again when HEAD moves: HEAD itself (a checkout), the branch it names (a commit)
    // and packed-refs. Only files that exist: a missing one would rebuild every time.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name]) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    Some(commit)
}
