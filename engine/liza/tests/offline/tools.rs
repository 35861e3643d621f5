//! The authoring tools as product staff use them: `liza test`, `liza simulate`, `liza graph`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{assert_golden, repo_root, run_with_stdin};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/tools")
        .join(name)
}

fn liza(args: &[&str], stdin: &str) -> Output {
    run_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_liza"))
            .args(args)
            .current_dir(repo_root())
            .env("COMPANY_NAME", "Muster GmbH")
            .env("WEBSITE_URL", "www.muster.example")
            // The shop line's transfer dials it: unset, nothing is dialled.
            .env_remove("SHOP_PHONE"),
        stdin,
    )
}

#[test]
fn liza_flow_tests_pass() {
    let out = liza(&["test"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("23 passed, 0 failed"), "{stdout}");
}

#[test]
fn a_wrong_expectation_fails_with_a_readable_diff() {
    let out = liza(
        &[
            "test",
            "engine/liza/tests/golden/tools/wrong-expectation.yaml",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
    assert!(
        stdout.contains("-   - order_confirm") || stdout.contains("+ order_confirm"),
        "{stdout}"
    );
    assert_golden(&golden("wrong-expectation.out"), &stdout);
}

/// The golden call scenarios are flow tests too: `liza test` checks their expectations
/// offline, as integration/golden_calls.rs checks them against the server's rows.
#[test]
fn golden_call_scenarios_pass_as_flow_tests() {
    let out = liza(&["test", "engine/liza/tests/golden/calls"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("12 passed, 0 failed"), "{stdout}");
}

#[test]
fn simulate_plays_a_german_call_from_a_pipe() {
    let out = liza(
        &["simulate", "--from", "+4915112345678"],
        "1\n\n12345#\n2\n1\n2\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(
        "[greeting] Liza: Guten Tag! Hier ist Liza, die Sprachassistentin von Muster GmbH."
    ));
    assert!(stdout.contains("call: status completed, language de-DE, consent given"));
    assert_golden(&golden("simulate-de.out"), &stdout);
}

#[test]
fn simulate_answers_a_fetch_from_a_stub_or_a_fixture_file() {
    let out = liza(
        &[
            "simulate",
            "--from",
            "+4915112345678",
            "--fetch-stub",
            r#"shop-status=200 {"status":"shipped"}"#,
        ],
        "1\n12345\n1\n2\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("[shop-status] → ok (HTTP 200, 0 ms)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("GET shop /orders/12345 → order_status = shipped"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Ihre Bestellung 1 2 3 4 5 wurde versandt."),
        "{stdout}"
    );
    assert!(stdout.contains("order 12345: received"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fetch.yaml");
    std::fs::write(&fixtures, "shop-status: {outcome: timeout}\n").unwrap();
    let out = liza(
        &[
            "simulate",
            "--from",
            "+447700900123",
            "--fetch-fixtures",
            fixtures.to_str().unwrap(),
        ],
        "1\n4711\n1\n2\n",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("[shop-status] → timeout (no answer within 2000 ms)"),
        "{stdout}"
    );
    assert!(stdout.contains("Your order 4 7 1 1 has been received."));

    let wrong = liza(&["simulate", "--fetch-stub", "shop-stats=404"], "");
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("has no fetch node `shop-stats`"),
        "{wrong:?}"
    );
}

#[test]
fn simulate_plays_an_english_call_and_ends_when_input_ends() {
    let out = liza(&["simulate", "--from", "+447700900123"], "1\n4711\n1\n");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("language: en-GB"));
    assert!(stdout.contains("[order-status] Liza: Your order 4 7 1 1 has been received."));
    assert!(stdout.contains("(input ended: the caller hangs up)"));
    assert!(stdout.contains("order 4711: received"));
    assert_golden(&golden("simulate-en.out"), &stdout);
}

#[test]
fn graph_draws_liza_as_dot_and_svg() {
    let dot = liza(&["graph", "flows/liza.yaml"], "");
    assert!(dot.status.success());
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert_golden(&golden("liza.dot"), &dot);
    let svg = liza(&["graph", "flows/liza.yaml", "--format", "svg"], "");
    assert!(svg.status.success());
    let svg = String::from_utf8(svg.stdout).unwrap();
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    for node in [
        "greeting",
        "consent",
        "order_confirm",
        "save-order",
        "goodbye",
    ] {
        assert!(
            svg.contains(&format!(">{node}<")) || svg.contains(node),
            "{node} missing from the SVG"
        );
    }
    // The drawing says what its shapes and lines mean; the DOT text (for tools) does not.
    for line in [
        "Legend",
        "box: say",
        "double circle: confirm",
        "parallelogram: fetch",
        "octagon: hangup",
        "bold: where a call starts",
        "dashed arrow: retry, no input, a failure",
    ] {
        assert!(svg.contains(line), "{line} missing from the SVG's legend");
    }
    assert!(!dot.contains("Legend"));
}

#[test]
fn check_exits_0_clean_1_for_problems_in_files_2_for_files_it_cannot_read() {
    let clean = liza(&["check"], "");
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    let broken = liza(&["check", "engine/liza/tests/golden/diagnostics"], "");
    assert_eq!(broken.status.code(), Some(1), "{broken:?}");
    assert!(String::from_utf8_lossy(&broken.stdout).contains("error(s)"));
    let missing = liza(&["check", "flows/no-such-flow.yaml"], "");
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let stdout = String::from_utf8_lossy(&missing.stdout);
    assert!(
        stdout.contains("flows/no-such-flow.yaml") && stdout.contains("cannot read"),
        "{stdout}"
    );
    // A flow the tools cannot use is exit 2 for them too, with a pointer to `liza check`.
    let simulate = liza(&["simulate", "--flow", "no-such-flow"], "");
    assert_eq!(simulate.status.code(), Some(2), "{simulate:?}");
    assert_eq!(
        String::from_utf8_lossy(&simulate.stderr).trim(),
        "error: no flow named `no-such-flow`"
    );
}

/// The example flows' tests (examples/tests/) and golden calls (golden/example-calls/) pass
/// with `--flows examples`, as CI runs them.
#[test]
fn example_flow_tests_and_golden_calls_pass() {
    for (paths, count) in [
        (vec![], "22 passed, 0 failed"),
        (
            vec!["engine/liza/tests/golden/example-calls"],
            "2 passed, 0 failed",
        ),
    ] {
        let mut args = vec![
            "test",
            "--flows",
            "examples",
            "--locales",
            "examples/locales",
        ];
        args.extend(paths);
        let out = liza(&args, "");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(count), "{stdout}");
    }
}

/// `set` in the simulator and the graph: the outcome names the variables, the node is drawn.
#[test]
fn simulate_and_graph_show_the_set_node() {
    let out = liza(
        &[
            "simulate",
            "--flows",
            "examples",
            "--locales",
            "examples/locales",
            "--flow",
            "shop-line",
            "--from",
            "+14155550123",
        ],
        "2\n4711#\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("[topic-return] → set topic"), "{stdout}");
    assert!(
        stdout.contains("[shop-reference] → set order_number, reference"),
        "{stdout}"
    );
    assert!(
        stdout.contains("We noted the return of order 4 7 1 1. Please quote return-4711"),
        "{stdout}"
    );
    assert_golden(&golden("simulate-shop-set.out"), &stdout);
    let dot = liza(
        &[
            "graph",
            "examples/shop-line.yaml",
            "--locales",
            "examples/locales",
        ],
        "",
    );
    assert!(
        dot.status.success(),
        "{}",
        String::from_utf8_lossy(&dot.stderr)
    );
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert!(
        dot.contains(r#""shop-reference" [shape=Mrecord, label="shop-reference\n(set)"];"#),
        "{dot}"
    );
    assert!(
        dot.contains(r#""shop-reference" -> "shop-noted";"#),
        "{dot}"
    );
}

/// `liza simulate --at`: the moment of the call decides an `hours` node, read in the
/// schedule's zone; a moment that cannot be read is refused with how to write it.
#[test]
fn simulate_at_a_given_moment_follows_the_opening_hours() {
    let run = |at: &str| {
        liza(
            &[
                "simulate",
                "--flows",
                "examples",
                "--locales",
                "examples/locales",
                "--flow",
                "shop-line",
                "--from",
                "+14155550123",
                "--at",
                at,
            ],
            "0\nhangup\n",
        )
    };
    let out = run("2026-12-24T10:00");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("[shop-when] → open"), "{stdout}");
    assert!(stdout.contains("Our shop is open right now."), "{stdout}");
    assert_golden(&golden("simulate-shop-hours.out"), &stdout);
    let closed = String::from_utf8(run("2026-12-24T12:00").stdout).unwrap();
    assert!(closed.contains("[shop-when] → closed"), "{closed}");
    let lunch = String::from_utf8(run("2026-12-01T13:00").stdout).unwrap();
    assert!(lunch.contains("[shop-when] → period lunch"), "{lunch}");
    let wrong = run("24.12. 10 Uhr");
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("write it as `2026-12-24T10:00`"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let dot = String::from_utf8(
        liza(
            &[
                "graph",
                "examples/shop-line.yaml",
                "--locales",
                "examples/locales",
            ],
            "",
        )
        .stdout,
    )
    .unwrap();
    for edge in [
        r#""shop-when" -> "shop-lunch" [label="lunch"];"#,
        r#""shop-when" -> "shop-open" [label="open"];"#,
        r#""shop-when" -> "shop-closed" [label="closed"];"#,
    ] {
        assert!(dot.contains(edge), "{edge}\n{dot}");
    }
}

/// A flow test that meets opening hours without `at:` fails, whatever the hour it runs at: its
/// result would otherwise depend on the clock.
#[test]
fn a_flow_test_through_opening_hours_must_say_when_it_calls() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no-moment.yaml");
    std::fs::write(
        &file,
        "flow: shop-line\ntests:\n  - name: asks for the hours without a moment\n    \
         from: \"+14155550123\"\n    input: [\"0\", \"hangup\"]\n    expect:\n      \
         says: [shop-welcome, shop-topic]\n",
    )
    .unwrap();
    let out = liza(
        &[
            "test",
            "--flows",
            "examples",
            "--locales",
            "examples/locales",
            file.to_str().unwrap(),
        ],
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the call passes the `hours` node `shop-when`")
            && stdout.contains("give the test a moment, e.g. `at: 2026-12-01T10:00`"),
        "{stdout}"
    );
}

/// `liza simulate` at a transfer: the number from the environment (shown by its name), the
/// dial's outcome typed as `dial:…`, each outcome to its node; `liza graph` draws its edges.
#[test]
fn simulate_and_graph_show_the_transfer_node() {
    let out = run_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_liza"))
            .args([
                "simulate",
                "--flows",
                "examples",
                "--locales",
                "examples/locales",
                "--flow",
                "shop-line",
                "--from",
                "+14155550123",
                "--at",
                "2026-12-01T10:00",
            ])
            .current_dir(repo_root())
            .env("COMPANY_NAME", "Muster GmbH")
            .env("WEBSITE_URL", "www.muster.example")
            .env("SHOP_PHONE", "+4930901899"),
        "0\ndial:busy\n0\ndial:completed\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("[shop-transfer] → dial started"),
        "{stdout}"
    );
    assert!(stdout.contains("[shop-transfer] → dial busy"), "{stdout}");
    assert!(
        stdout.contains("Sorry, nobody can take your call right now."),
        "{stdout}"
    );
    assert!(
        stdout.contains("[shop-transfer] → dial answered"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("+4930901899"),
        "the number is shown by its name: {stdout}"
    );
    assert_golden(&golden("simulate-shop-transfer.out"), &stdout);

    let dot = String::from_utf8(
        liza(
            &[
                "graph",
                "examples/shop-line.yaml",
                "--locales",
                "examples/locales",
            ],
            "",
        )
        .stdout,
    )
    .unwrap();
    for edge in [
        r#""shop-transfer" [shape=doubleoctagon, label="shop-transfer\n(transfer)\nnumber ${env:SHOP_PHONE}"];"#,
        r#""shop-transfer" -> "shop-transferred" [label="answered"];"#,
        r#""shop-transfer" -> "shop-nobody" [label="busy", style=dashed];"#,
        r#""shop-transfer" -> "shop-nobody" [label="no_answer", style=dashed];"#,
        r#""shop-transfer" -> "shop-nobody" [label="failed", style=dashed];"#,
        r#""shop-transfer" -> "shop-topic" [label="not_configured", style=dashed];"#,
    ] {
        assert!(dot.contains(edge), "{edge}\n{dot}");
    }
}

/// `liza test` and `liza simulate` at a voicemail: recorded only after consent (`no_consent`
/// otherwise), `"recorded"` as the turn that ends the recording, silence as `empty`; `liza
/// graph` draws its edges.
#[test]
fn flow_tests_simulate_and_graph_at_a_voicemail() {
    let dir = tempfile::tempdir().unwrap();
    let flow = r##"name: voicemail-tool
entry: consent
languages:
  default: en-GB
privacy:
  consent: consent
  covers: [caller_number, conversation]
nodes:
  consent:
    kind: confirm
    webhook: consent
    prompt: consent-question
    choices:
      "1": given
      "2": refused
    on_exhausted: bye
  given:
    kind: persist
    consent: given
    next: message
  refused:
    kind: persist
    consent: refused
    next: message
  message:
    kind: voicemail
    say: greeting
    webhook: message
    next:
      recorded: bye
      empty: silent
      no_consent: bye
  silent:
    kind: hangup
  bye:
    kind: hangup
    say: goodbye
"##;
    std::fs::create_dir_all(dir.path().join("flows/tests")).unwrap();
    std::fs::write(dir.path().join("flows/voicemail-tool.yaml"), flow).unwrap();
    std::fs::write(
        dir.path().join("flows/tests/voicemail-tool.yaml"),
        r#"flow: voicemail-tool
tests:
  - name: a consenting caller's message is recorded
    from: "+447700900123"
    input: ["1", "recorded"]
    expect:
      path: [consent, given, message, bye]
      says: [consent-question, greeting, goodbye]
      consent: given
  - name: without consent nothing is recorded
    from: "+447700900123"
    input: ["2"]
    expect:
      path: [consent, refused, message, bye]
      says: [consent-question, goodbye]
  - name: silence at the beep is empty
    from: "+447700900123"
    input: ["1", ""]
    expect:
      path: [consent, given, message, silent]
"#,
    )
    .unwrap();
    let flows = dir.path().join("flows");
    let flows = flows.to_str().unwrap();
    let out = liza(&["test", "--flows", flows, "--locales", "locales"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");

    let out = liza(
        &[
            "simulate",
            "--flows",
            flows,
            "--locales",
            "locales",
            "--flow",
            "voicemail-tool",
            "--from",
            "+447700900123",
        ],
        "1\nrecorded\n",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("[message] → voicemail started"), "{stdout}");
    assert!(
        stdout.contains("[message] → voicemail recorded"),
        "{stdout}"
    );
    let out = liza(
        &[
            "simulate",
            "--flows",
            flows,
            "--locales",
            "locales",
            "--flow",
            "voicemail-tool",
            "--from",
            "+447700900123",
        ],
        "2\n",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("[message] → voicemail no_consent"),
        "{stdout}"
    );

    let file = dir.path().join("flows/voicemail-tool.yaml");
    let dot = String::from_utf8(
        liza(
            &["graph", file.to_str().unwrap(), "--locales", "locales"],
            "",
        )
        .stdout,
    )
    .unwrap();
    for edge in [
        r#""message" [shape=cylinder, label="message\n(voicemail)"];"#,
        r#""message" -> "bye" [label="recorded"];"#,
        r#""message" -> "silent" [label="empty", style=dashed];"#,
        r#""message" -> "bye" [label="no_consent", style=dashed];"#,
    ] {
        assert!(dot.contains(edge), "{edge}\n{dot}");
    }
}

/// Speech input in the authoring tools: `liza test` feeds words (`say:`, `say~0.3:`), `liza
/// simulate` takes words typed where the node listens for them (`~0.3 …` for a low
/// confidence), `liza graph` says which nodes take words.
#[test]
fn flow_tests_simulate_and_graph_with_speech_input() {
    let dir = tempfile::tempdir().unwrap();
    let flow = r##"name: speech-tool
entry: order
languages:
  default: de-DE
  prefixes:
    "+44": en-GB
nodes:
  order:
    kind: gather-digits
    webhook: order
    prompt: order-prompt
    input: [dtmf, speech]
    min_confidence: 0.6
    into: order_number
    min_length: 4
    max_length: 12
    on_invalid:
      say: order-invalid
    on_no_input:
      say: order-no-input
    on_exhausted: failed
    next: read-back
  read-back:
    kind: confirm
    webhook: read-back
    prompt: order-readback
    input: [speech]
    choices:
      "1": done
      "2": order
    on_exhausted: failed
  failed:
    kind: hangup
    say: order-failed
    call_status: problem
  done:
    kind: hangup
    say: goodbye
"##;
    std::fs::create_dir_all(dir.path().join("flows/tests")).unwrap();
    std::fs::write(dir.path().join("flows/speech-tool.yaml"), flow).unwrap();
    std::fs::write(
        dir.path().join("flows/tests/speech-tool.yaml"),
        r#"flow: speech-tool
tests:
  - name: an order number said in German words is read back and confirmed in words
    from: "+4915112345678"
    input: ["say: eins zwei drei vier fünf", "say: eins"]
    expect:
      path: [order, read-back, done]
      says: [order-prompt, order-readback, goodbye]
      text: ["1 2 3 4 5"]
  - name: English words, keys and a low confidence asked again
    from: "+447700900123"
    input: ["say~0.3: one two three four", "say: double five, oh seven", "say: two", "4711#", "say: one"]
    expect:
      path: [order, read-back, order, read-back, done]
      says: [order-prompt, order-invalid, order-prompt, order-readback, order-prompt, order-readback, goodbye]
      text: ["5 5 0 7", "4 7 1 1"]
  - name: words that are no number are invalid until the attempts run out
    from: "+4915112345678"
    input: ["say: meine Nummer", "say: hundert", "say: zwölf"]
    expect:
      path: [order, failed]
      status: problem
"#,
    )
    .unwrap();
    let flows = dir.path().join("flows");
    let flows = flows.to_str().unwrap();
    let out = liza(&["test", "--flows", flows, "--locales", "locales"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");

    let out = liza(
        &[
            "simulate",
            "--flows",
            flows,
            "--locales",
            "locales",
            "--flow",
            "speech-tool",
            "--from",
            "+4915112345678",
        ],
        "~0.3 eins zwei drei vier\nzwölf dreiundvierzig\n1\n",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_golden(&golden("simulate-speech.out"), &stdout);

    let file = dir.path().join("flows/speech-tool.yaml");
    let dot = String::from_utf8(
        liza(
            &["graph", file.to_str().unwrap(), "--locales", "locales"],
            "",
        )
        .stdout,
    )
    .unwrap();
    for line in [
        r#"label="order\n(gather-digits)\nkeys or words""#,
        r#"label="read-back\n(confirm)\nwords""#,
        r#""order" -> "order" [label="invalid / not understood / no input: ask again", style=dashed];"#,
    ] {
        assert!(dot.contains(line), "{line}\n{dot}");
    }
}

/// `play` and `pause` nodes in the authoring tools: `liza test` walks through them, `liza
/// simulate` shows what plays and how long the silence is, `liza graph` gives each a shape.
#[test]
fn flow_tests_simulate_and_graph_with_play_and_pause() {
    let dir = tempfile::tempdir().unwrap();
    let flow = r##"name: play-tool
entry: hello
languages:
  default: de-DE
nodes:
  hello:
    kind: say
    say: greeting
    next: jingle
  jingle:
    kind: play
    url: https://shop.example/audio/jingle.mp3
    loop: 2
    next: breath
  breath:
    kind: pause
    length: 2
    next: bye
  bye:
    kind: hangup
    say: goodbye
"##;
    std::fs::create_dir_all(dir.path().join("flows/tests")).unwrap();
    std::fs::write(dir.path().join("flows/play-tool.yaml"), flow).unwrap();
    std::fs::write(
        dir.path().join("flows/tests/play-tool.yaml"),
        r#"flow: play-tool
tests:
  - name: the jingle plays between the greeting and the goodbye
    from: "+4915112345678"
    input: []
    expect:
      path: [hello, jingle, breath, bye]
      says: [greeting, goodbye]
"#,
    )
    .unwrap();
    let flows = dir.path().join("flows");
    let flows = flows.to_str().unwrap();
    let out = liza(&["test", "--flows", flows, "--locales", "locales"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");

    let out = liza(
        &[
            "simulate",
            "--flows",
            flows,
            "--locales",
            "locales",
            "--flow",
            "play-tool",
            "--from",
            "+4915112345678",
        ],
        "",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("  [jingle]   [plays https://shop.example/audio/jingle.mp3 ×2]\n"),
        "{stdout}"
    );
    assert!(stdout.contains("  [breath]   [pause 2 s]\n"), "{stdout}");
    assert!(
        stdout.contains("path: hello → jingle → breath → bye"),
        "{stdout}"
    );

    let file = dir.path().join("flows/play-tool.yaml");
    let dot = String::from_utf8(
        liza(
            &["graph", file.to_str().unwrap(), "--locales", "locales"],
            "",
        )
        .stdout,
    )
    .unwrap();
    for line in [
        r#""jingle" [shape=invhouse, label="jingle\n(play)\njingle.mp3 ×2"];"#,
        r#""breath" [shape=plain, label="breath\n(pause)\n2 s"];"#,
        r#""jingle" -> "breath";"#,
    ] {
        assert!(dot.contains(line), "{line}\n{dot}");
    }
    let legend = liza_tools_legend(&file);
    assert!(legend.contains("upside-down house: play"), "{legend}");
    assert!(legend.contains("bare text: pause"), "{legend}");
}

/// The legend `liza graph --svg` draws beside a flow.
fn liza_tools_legend(file: &Path) -> String {
    let locales = repo_root().join("locales");
    let flows = liza::flow::load::load_paths(&[file.to_path_buf()], &locales).unwrap();
    liza::tools::graph::legend(&flows[0])
}
