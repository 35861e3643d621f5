//! The callers' data rights (docs/privacy.md): the key of the callers' hashes, what is kept
//! before and without consent, the proof of consent, export, erasure and retention.

pub(crate) mod consent_proof;
mod dump;
mod key;
mod logs;
mod minimisation;
mod rights;
