//! Liza: a declarative IVR engine. Flows (YAML) and texts (Fluent) in, TwiML out.
//!
//! The pipeline: [`flow`] loads and compiles YAML → [`runtime`] runs one webhook's
//! turn of the call state machine → [`twiml`] writes the answer; [`store`] keeps
//! calls, steps and records; [`web`] is the thin HTTP adapter around all of it.
//! See ARCHITECTURE.md.

pub mod auth;
pub mod calls;
pub mod cli;
pub mod dev;
pub mod flow;
pub mod i18n;
pub mod loadtest;
pub mod metrics;
pub mod model;
pub mod offline;
pub mod registry;
pub mod reload;
pub mod runtime;
pub mod settings;
pub mod speech;
pub mod startup;
pub mod store;
pub mod tools;
pub mod twilio;
pub mod twiml;
pub mod web;
