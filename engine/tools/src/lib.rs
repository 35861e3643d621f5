//! Authoring tools for product staff: simulate a call, run flow tests, draw a flow.
//! They run the same compiled flows and state machine as the server, without it.

pub mod fetchstub;
pub mod flowtest;
pub mod graph;
pub mod lint;
pub mod offline;
pub mod scenario;
pub mod simulate;
