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

/// Joins futures that borrow the app (the server runs on the same runtime).
pub async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}
