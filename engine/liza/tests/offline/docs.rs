//! The README and env.example list every setting the engine reads.

use std::path::Path;

#[test]
fn readme_and_env_example_list_every_setting() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let env_example = std::fs::read_to_string(repo.join("env.example")).unwrap();
    for (name, default, _) in liza::settings::SETTINGS {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "README's settings table lacks {name}"
        );
        assert!(
            env_example.contains(&format!("{name}=")),
            "env.example lacks {name}"
        );
        if !default.is_empty() {
            assert!(
                env_example.contains(&format!("{name}={default}")),
                "env.example's default for {name} should be {default}"
            );
        }
    }
}

#[test]
fn readme_first_screen_shows_how_to_run_and_test() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let first_screen: String = readme.lines().take(20).collect::<Vec<_>>().join("\n");
    assert!(first_screen.contains("cargo run --release"));
    assert!(first_screen.contains("cargo test"));
}

#[test]
fn migrate_creates_the_database_file_its_folder_and_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/folder/liza.db");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_liza"))
        .arg("migrate")
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Migrations applied."));
    let text = std::fs::read(&db).unwrap();
    assert!(text.starts_with(b"SQLite format 3"));
    // Running it again is a no-op.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_liza"))
        .arg("migrate")
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    assert!(again.status.success());
}
