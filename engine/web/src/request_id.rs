//! A request id on every log line of a request, and in its answer's `X-Request-Id` header.
//!
//! The id is nginx's (`proxy_set_header X-Request-Id $request_id;` in deploy/nginx/liza.conf)
//! when the request comes from a trusted proxy (`LIZA_TRUSTED_PROXIES`) and the header is a
//! plausible id; otherwise Liza makes one (32 hex digits, like nginx's). A client's own
//! `X-Request-Id` is never believed: it could pass itself off as another request in the logs.
//!
//! Everything the request logs runs inside the span `http{request_id, call_sid}`; the webhook
//! handler fills in `call_sid` once it has read the body ([`record_call_sid`]), so every line
//! about a call also names it (in JSON logs: `"span":{"request_id":…,"call_sid":…}`).

use std::net::IpAddr;
use std::sync::Arc;

use poem::http::header::{HeaderName, HeaderValue};
use poem::{Endpoint, IntoResponse, Request, Response};
use rand::Rng;
use tracing::Instrument;

use crate::client::TrustedProxies;

pub const HEADER: &str = "x-request-id";

/// Longest id taken from a proxy (nginx's are 32 characters).
const MAX_LEN: usize = 64;

/// What the proxy sent, if it is an id: 1 to 64 letters, digits, `-`, `_` or `.`.
fn plausible(value: &str) -> bool {
    (1..=MAX_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// 32 hex digits, like nginx's `$request_id`.
pub fn generate() -> String {
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}

/// The request's id: the trusted proxy's, or a new one.
pub fn of_request(req: &Request, trusted: &TrustedProxies) -> String {
    choose(
        req.remote_addr().as_socket_addr().map(|peer| peer.ip()),
        req.headers().get(HEADER).and_then(|v| v.to_str().ok()),
        trusted,
    )
}

/// `sent` (the `X-Request-Id` header) when `peer` is a trusted proxy and it is plausible;
/// otherwise a new id.
fn choose(peer: Option<IpAddr>, sent: Option<&str>, trusted: &TrustedProxies) -> String {
    match sent {
        Some(id) if peer.is_some_and(|ip| trusted.contains(ip)) && plausible(id) => id.to_owned(),
        _ => generate(),
    }
}

/// Names the call in the current request's span (no-op outside one).
pub fn record_call_sid(call_sid: &str) {
    tracing::Span::current().record("call_sid", tracing::field::display(call_sid));
}

/// Runs the request inside its span and returns the id in the answer.
pub async fn middleware<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    trusted: Arc<TrustedProxies>,
) -> poem::Result<Response> {
    let id = of_request(&req, &trusted);
    let span = tracing::info_span!(
        "http",
        request_id = %id,
        call_sid = tracing::field::Empty
    );
    let mut response = match ep.call(req).instrument(span).await {
        Ok(output) => output.into_response(),
        Err(error) => error.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_names_the_request_others_do_not() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        let (proxy, client): (IpAddr, IpAddr) =
            ("127.0.0.1".parse().unwrap(), "203.0.113.9".parse().unwrap());
        let nginx = "0123456789abcdef0123456789abcdef";
        assert_eq!(choose(Some(proxy), Some(nginx), &trusted), nginx);
        // A client that is not the proxy, an implausible id, or none at all: a new id.
        let long = "x".repeat(65);
        for (peer, id) in [
            (Some(client), Some(nginx)),
            (None, Some(nginx)),
            (Some(proxy), Some("a b")),
            (Some(proxy), Some("id\n")),
            (Some(proxy), Some(long.as_str())),
            (Some(proxy), Some("")),
            (Some(proxy), None),
        ] {
            let made = choose(peer, id, &trusted);
            assert_ne!(Some(made.as_str()), id);
            assert_eq!(made.len(), 32);
            assert!(made.bytes().all(|b| b.is_ascii_hexdigit()), "{made}");
        }
        assert_ne!(generate(), generate());
    }
}
