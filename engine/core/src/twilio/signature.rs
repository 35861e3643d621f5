//! `X-Twilio-Signature` as described in docs/twilio.md:
//! HMAC-SHA1 over the public URL followed by the POST parameters sorted by name,
//! base64 encoded, compared in constant time.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

/// Computes the signature Twilio sends for `url` and the (decoded) POST parameters.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Byte order on the name; a stable sort keeps repeated names in the order received.
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key size");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL as Twilio may have signed it: as given, and with or without the
/// explicit default port (Twilio's helper libraries accept both).
pub fn signature_url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return variants,
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if let Some(host) = authority.strip_suffix(default_port) {
        variants.push(format!("{scheme}://{host}{tail}"));
    } else if !authority.contains(':') {
        variants.push(format!("{scheme}://{authority}{default_port}{tail}"));
    }
    variants
}

/// Checks signatures with the account's auth token. Its `Debug` never shows the token.
#[derive(Clone)]
pub struct SignatureVerifier {
    auth_token: SecretString,
}

impl std::fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureVerifier")
            .field("auth_token", &"[REDACTED]")
            .finish()
    }
}

impl SignatureVerifier {
    pub fn new(auth_token: SecretString) -> Self {
        Self { auth_token }
    }

    /// True when `signature` matches `url` (or its default-port twin) and `params`.
    pub fn verify(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        let token = self.auth_token.expose_secret();
        signature_url_variants(url).iter().any(|candidate| {
            let expected = compute_signature(token, candidate, params);
            expected.as_bytes().ct_eq(signature.as_bytes()).into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Test vectors from docs/twilio.md.
    fn vector_params() -> Vec<(String, String)> {
        pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn matches_twilio_documented_vector() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute_signature("12345", url, &vector_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute_signature("12345", with_port, &vector_params()),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
    }

    #[test]
    fn matches_liza_vector() {
        let params = pairs(&[
            ("CallSid", "CA123"),
            ("From", "+4915112345678"),
            ("To", "+4930123456"),
            ("Digits", "1"),
        ]);
        assert_eq!(
            compute_signature("12345", "https://example.com/webhook/voice", &params),
            "VojuJjzdZo5PBkdrM9pJdB50AKg="
        );
    }

    #[test]
    fn verifier_accepts_either_port_form_and_rejects_tampering() {
        let verifier = SignatureVerifier::new("12345".to_string().into());
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert!(verifier.verify(url, &vector_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(verifier.verify(url, &vector_params(), "kvajT1Ptam85bY51eRf/AJRuM3w="));
        let mut tampered = vector_params();
        tampered[2].1 = "1235".into();
        assert!(!verifier.verify(url, &tampered, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(!verifier.verify(url, &vector_params(), ""));
    }

    #[test]
    fn debug_hides_the_token() {
        let verifier = SignatureVerifier::new("super-secret-token".to_string().into());
        assert!(!format!("{verifier:?}").contains("super-secret-token"));
    }
}
