//! One integration-test binary: the real server over loopback HTTP, signed requests,
//! a fresh database per test (SQLite, or PostgreSQL with LIZA_TEST_BACKEND=postgres).

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod calls;
mod edges;
mod golden_calls;
mod oracle;
mod reload;
mod security;
