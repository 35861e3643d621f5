//! Twilio's side of the wire: webhook parameters and `X-Twilio-Signature`.
//!
//! Must not touch: flows, the store, HTTP frameworks. Pure functions over bytes and strings.

mod params;
mod signature;

pub use params::{CallStatusEvent, WebhookParams, MAX_DIGITS_LEN};
pub use signature::{compute_signature, signature_url_variants, SignatureVerifier};
