//! The `liza` binary's library: settings, wiring and the command line. The rooms themselves
//! are crates of their own (see ARCHITECTURE.md); they are re-exported here under the names
//! the tests and the docs use.

pub mod cli;
pub mod dev;
pub mod settings;
pub mod startup;

pub use liza_core::{
    diagnostics, flow, i18n, model, privacy, runtime, speech, spoken, twilio, twiml,
};
pub use liza_loadtest as loadtest;
pub use liza_service::{calls, metrics, registry, reload, retention};
pub use liza_store as store;
pub use liza_tools as tools;
pub use liza_web as web;
pub use liza_web::auth;
