//! Liza's calls as a service: one webhook becomes one piece of store work ([`calls`]), the
//! flows that serve calls are kept by version ([`registry`]) and reloaded when their files
//! change ([`reload`]); [`metrics`] counts what happened; [`retention`] purges old calls' personal
//! data. No HTTP types and no SQL here.

pub mod calls;
pub mod fetch;
pub mod metrics;
pub mod outbox;
pub mod registry;
pub mod reload;
pub mod retention;
