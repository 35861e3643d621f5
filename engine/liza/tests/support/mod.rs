//! The one harness of the `liza` test binaries; each binary includes it with `mod support;`.
//!
//! - [`db`]: a fresh database per test, SQLite or PostgreSQL (`LIZA_TEST_BACKEND`), dropped
//!   afterwards, and row readers that work the same on both.
//! - [`app`]: Liza in this process ([`spawn_app`], [`AppOptions::spawn`]) or as a real
//!   `liza serve` process ([`AppOptions::process`]), always with the same test settings.
//! - [`twilio`]: the Twilio stand-in: signs requests, posts webhooks, follows a call through
//!   its TwiML, and checks that every answer is valid TwiML.
//! - [`golden`]: compares output with a golden file (`LIZA_BLESS=1` rewrites it).
//! - [`files`]: the repository's folders, throw-away copies of the shipped flows, and a folder
//!   with a test's own flow ([`flow_folder`]).
//! - [`shop`]: a fake shop API on loopback for the `fetch` node (slow, failing, huge, looping).
//!
//! Not every binary uses every piece.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod db;
pub mod files;
pub mod golden;
pub mod shop;
pub mod twilio;

pub use app::{spawn_app, spawn_app_on, spawn_process, AppOptions, LizaProcess, TestApp};
pub use db::{Backend, TestDb};
pub use files::{copy_dir, flow_files_copy, flow_folder, repo_root, run_with_stdin};
pub use golden::assert_golden;
pub use twilio::{
    assert_valid_twiml, attribute, call_params, element_text, form_body, gather_action, is_apology,
    loadtest_args, new_call_sid, recording_params, recording_url, xml_items, Answer, Call, Twilio,
    XmlItem, AUTH_TOKEN, CALLER, PUBLIC_URL, SHOP_NUMBER,
};
