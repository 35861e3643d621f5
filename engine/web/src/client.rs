//! Where a request came from: the client's address, believing `X-Forwarded-For` and
//! `Forwarded` only when the socket's peer is a proxy the operator trusts
//! (`LIZA_TRUSTED_PROXIES`). Pure functions; anything that limits by address uses them.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use ipnet::IpNet;
use tracing::warn;

/// Proxies hops beyond this many are not walked (the headers are the client's to inflate).
const MAX_HOPS: usize = 32;

/// The addresses and networks of proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// An entry of `LIZA_TRUSTED_PROXIES` that is neither an address nor a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LIZA_TRUSTED_PROXIES: `{0}` is not an IP address or a network like 10.0.0.0/8")]
pub struct BadProxy(pub String);

impl TrustedProxies {
    /// Addresses and CIDRs separated by commas or spaces, e.g. `127.0.0.1, 10.0.0.0/8, ::1`.
    pub fn parse(text: &str) -> Result<Self, BadProxy> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| BadProxy(item.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client's address. `peer` is the socket's remote address; `forwarded_for` the values of
/// every `X-Forwarded-For` header and `forwarded` those of every `Forwarded` header, in the
/// order received.
///
/// The headers are read only when `peer` is trusted: from the right (the hop nearest to us),
/// each trusted proxy hands over to the hop before it, and the first untrusted hop is the
/// client (entries to its left are whatever the client wrote). A hop that is not an address
/// (`unknown`, garbage) ends the walk at the last trusted hop, so a client cannot choose a
/// fresh key per request. When both headers are present and name different clients, neither
/// is believed and the peer's address is used.
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: &[&str],
    forwarded: &[&str],
    trusted: &TrustedProxies,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let by_xff =
        (!forwarded_for.is_empty()).then(|| walk(peer, forwarded_for_hops(forwarded_for), trusted));
    let by_forwarded =
        (!forwarded.is_empty()).then(|| walk(peer, forwarded_hops(forwarded), trusted));
    match (by_xff, by_forwarded) {
        (Some(a), Some(b)) if a != b => peer,
        (Some(ip), _) | (None, Some(ip)) => ip,
        (None, None) => peer,
    }
}

/// [`client_ip`] of a request; `None` when its peer is not an IP socket.
pub fn of_request(req: &poem::Request, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.remote_addr().as_socket_addr()?.ip();
    // A value that is not text is kept as a hop that is not an address.
    let values = |name: &str| -> Vec<&str> {
        req.headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or(""))
            .collect()
    };
    let (forwarded_for, forwarded) = (values("x-forwarded-for"), values("forwarded"));
    if trusted.is_empty() && !(forwarded_for.is_empty() && forwarded.is_empty()) {
        warn_untrusted_local_proxy(peer);
    }
    Some(client_ip(peer, &forwarded_for, &forwarded, trusted))
}

/// A forwarding header from a loopback or private address looks like a proxy nobody
/// declared: say once how to declare it, since all its clients now share one address.
fn warn_untrusted_local_proxy(peer: IpAddr) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let local = match peer.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local(),
    };
    if local && !WARNED.swap(true, Ordering::Relaxed) {
        warn!(peer = %peer, "Forwarding headers arrive from a local address, but LIZA_TRUSTED_PROXIES is not set: they are ignored and every client behind that proxy shares its address for login limits. Set LIZA_TRUSTED_PROXIES to the proxy's address.");
    }
}

/// Walks `hops` (left to right as in the header) from the right, starting at the trusted `peer`.
fn walk(peer: IpAddr, hops: Vec<Option<IpAddr>>, trusted: &TrustedProxies) -> IpAddr {
    let mut nearest_trusted = peer;
    for hop in hops.into_iter().rev().take(MAX_HOPS) {
        let Some(ip) = hop else {
            return nearest_trusted;
        };
        if !trusted.contains(ip) {
            return ip;
        }
        nearest_trusted = ip;
    }
    nearest_trusted
}

/// `X-Forwarded-For: 203.0.113.7, 10.0.0.2`: one address per comma, ports tolerated.
fn forwarded_for_hops(values: &[&str]) -> Vec<Option<IpAddr>> {
    values
        .iter()
        .flat_map(|value| value.split(','))
        .map(parse_hop)
        .collect()
}

/// `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"` (RFC 7239): the `for`
/// parameter of each element; an element without one is not an address.
fn forwarded_hops(values: &[&str]) -> Vec<Option<IpAddr>> {
    values
        .iter()
        .flat_map(|value| split_unquoted(value, ','))
        .map(|element| {
            split_unquoted(element, ';').into_iter().find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_hop(value.trim().trim_matches('"')))
                    .flatten()
            })
        })
        .collect()
}

/// Splits at `separator` outside double quotes.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `203.0.113.7`, `203.0.113.7:5000`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:80`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .or_else(|| {
            text.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let client = client_ip(
            ip("198.51.100.9"),
            &["203.0.113.7"],
            &["for=203.0.113.8"],
            &proxies("10.0.0.0/8"),
        );
        assert_eq!(client, ip("198.51.100.9"));
        // No proxies configured: the peer, whatever the headers say.
        let client = client_ip(
            ip("127.0.0.1"),
            &["203.0.113.7"],
            &[],
            &TrustedProxies::default(),
        );
        assert_eq!(client, ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_entries_to_its_left_are_ignored() {
        let trusted = proxies("127.0.0.1, 10.0.0.0/8");
        // The client wrote "1.2.3.4"; nginx appended the address it saw.
        let client = client_ip(ip("127.0.0.1"), &["1.2.3.4, 203.0.113.7"], &[], &trusted);
        assert_eq!(client, ip("203.0.113.7"));
        // Two proxies in a row (a load balancer, then nginx), headers split over two lines.
        let client = client_ip(
            ip("127.0.0.1"),
            &["1.2.3.4, 203.0.113.7", "10.1.2.3"],
            &[],
            &trusted,
        );
        assert_eq!(client, ip("203.0.113.7"));
        // Every hop trusted: the left-most one is the client.
        let client = client_ip(ip("127.0.0.1"), &["10.9.9.9, 10.1.2.3"], &[], &trusted);
        assert_eq!(client, ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &[], &[], &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_hop_that_is_not_an_address_stops_at_the_last_trusted_hop() {
        let trusted = proxies("127.0.0.1, 10.0.0.0/8");
        for header in ["unknown", "", "203.0.113.7, 10.1.2.3, garbage, 10.2.2.2"] {
            let client = client_ip(ip("127.0.0.1"), &[header], &[], &trusted);
            let expected = if header.contains("10.2.2.2") {
                ip("10.2.2.2")
            } else {
                ip("127.0.0.1")
            };
            assert_eq!(client, expected, "{header:?}");
        }
    }

    #[test]
    fn forwarded_is_read_with_quotes_ports_and_ipv6() {
        let trusted = proxies("::1, 127.0.0.1");
        let client = client_ip(
            ip("::1"),
            &[],
            &[r#"for=1.2.3.4;proto=https, For="[2001:db8:cafe::17]:4711";by=127.0.0.1"#],
            &trusted,
        );
        assert_eq!(client, ip("2001:db8:cafe::17"));
        let client = client_ip(
            ip("127.0.0.1"),
            &[],
            &["for=\"198.51.100.3:47011\""],
            &trusted,
        );
        assert_eq!(client, ip("198.51.100.3"));
        // An element without `for` is not an address.
        let client = client_ip(ip("127.0.0.1"), &[], &["proto=https"], &trusted);
        assert_eq!(client, ip("127.0.0.1"));
        // X-Forwarded-For with ports and brackets.
        for header in ["198.51.100.3:5000", "[2001:db8::5]:443", "[2001:db8::5]"] {
            let client = client_ip(ip("127.0.0.1"), &[header], &[], &trusted);
            assert_ne!(client, ip("127.0.0.1"), "{header}");
        }
    }

    #[test]
    fn two_headers_that_disagree_are_both_disbelieved() {
        let trusted = proxies("127.0.0.1");
        let client = client_ip(
            ip("127.0.0.1"),
            &["203.0.113.7"],
            &["for=198.51.100.3"],
            &trusted,
        );
        assert_eq!(client, ip("127.0.0.1"));
        let client = client_ip(
            ip("127.0.0.1"),
            &["203.0.113.7"],
            &["for=203.0.113.7"],
            &trusted,
        );
        assert_eq!(client, ip("203.0.113.7"));
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_networks() {
        let trusted = proxies("127.0.0.0/8");
        let client = client_ip(
            ip("::ffff:127.0.0.1"),
            &["::ffff:203.0.113.7"],
            &[],
            &trusted,
        );
        assert_eq!(client, ip("203.0.113.7"));
    }

    #[test]
    fn the_proxy_list_parses_addresses_and_networks_and_names_a_bad_entry() {
        let trusted = proxies(" 127.0.0.1,10.0.0.0/8  fd00::/8 ");
        assert!(trusted.contains(ip("127.0.0.1")));
        assert!(trusted.contains(ip("10.200.3.4")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(!trusted.contains(ip("127.0.0.2")));
        assert!(!trusted.contains(ip("11.0.0.1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        // A host address with a prefix is widened to its network, as nginx's set_real_ip_from does.
        assert!(proxies("10.1.2.3/16").contains(ip("10.1.9.9")));
        assert_eq!(
            TrustedProxies::parse("127.0.0.1, 10.0.0.0/33").unwrap_err(),
            BadProxy("10.0.0.0/33".into())
        );
        assert!(TrustedProxies::parse("localhost").is_err());
    }
}
