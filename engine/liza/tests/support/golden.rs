//! Golden files: output compared with a file in the repository, byte for byte.

use std::path::Path;

/// Compares `actual` with the golden file at `path`; a difference fails with a line diff.
/// With `LIZA_BLESS=1` the file is (re)written instead — review the diff before committing.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var_os("LIZA_BLESS").is_some_and(|v| v != "0" && !v.is_empty()) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "golden file {} is missing: run with LIZA_BLESS=1 to create it",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
        .unified_diff()
        .context_radius(2)
        .header("golden", "actual")
        .to_string();
    panic!(
        "{} differs from the output; rerun with LIZA_BLESS=1 if the change is intended\n{diff}",
        path.display()
    );
}
