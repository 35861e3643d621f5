//! Every ```yaml block in docs/ is a complete flow that loads against the repository's locales.

use std::path::Path;
use std::sync::Arc;

#[test]
fn every_yaml_example_in_the_docs_compiles() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let locales = Arc::new(liza::i18n::Locales::load(&repo.join("locales")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut count = 0;
    for doc in ["docs/flow-language.md", "docs/editing-liza.md"] {
        let text = std::fs::read_to_string(repo.join(doc)).unwrap();
        let mut lines = text.lines().enumerate();
        while let Some((start, line)) = lines.next() {
            if line.trim() != "```yaml" {
                continue;
            }
            let block: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| l.trim() != "```")
                .collect();
            let file = dir.path().join(format!("example-{count}.yaml"));
            std::fs::write(&file, block.join("\n")).unwrap();
            if let Err(d) = liza::flow::load_flow(&file, locales.clone()) {
                panic!("{doc}:{}: the example does not load:\n{d}", start + 1);
            }
            count += 1;
        }
    }
    assert!(
        count >= 8,
        "expected an example per node kind, found {count}"
    );
}
