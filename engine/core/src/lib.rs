//! Liza's pure core: everything that decides what a caller hears, without I/O beyond reading
//! the flow and locale files it is pointed at.
//!
//! The pipeline inside: [`flow`] reads and compiles YAML → [`i18n`] renders Fluent messages
//! into [`spoken`] segments (text, digits and the SSML their authors wrote) → [`runtime`] runs one turn of the call state machine →
//! [`speech`] turns its actions into verbs → [`twiml`] writes the document. [`twilio`] knows
//! Twilio's webhook parameters and signatures, [`voices`] its voices and their languages; [`heard`] reads what a caller said as digits; [`diagnostics`] is how every room reports a
//! problem in a user's file; [`privacy`] keeps a caller's number out of the store until they
//! consent (a keyed hash and a masked form). No tokio, SQL, HTTP server or file watching (see ARCHITECTURE.md).

pub mod diagnostics;
pub mod flow;
pub mod heard;
pub mod i18n;
pub mod privacy;
pub mod runtime;
pub mod speech;
pub mod spoken;
pub mod turn;
pub mod twilio;
pub mod twiml;
pub mod voices;

pub use liza_model as model;
