//! One integration-test binary: the real server over loopback HTTP, signed requests,
//! fresh SQLite database per test.

mod bad_input;
mod calls;
mod edges;
mod golden_calls;
mod helpers;
mod oracle;
mod reload;
mod security;
