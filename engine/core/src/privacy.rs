//! A caller's number as the store may keep it before they consent: a keyed hash (HMAC-SHA256,
//! so repeat callers can still be counted and a person can still be found for an export or an
//! erasure, but a leaked table cannot be reversed by hashing every possible number) and a
//! masked form for display (`+49 151 ••• ••78`). Numbers are parsed and normalised to E.164
//! with the `phonenumber` crate (Google's libphonenumber metadata), so `+49 151 12345678` and
//! `+4915112345678` are the same caller.
//!
//! Must not touch: the store, HTTP, the clock. Where the key comes from (a setting, or one
//! generated and kept in the database) is the binary's business.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// A phone number in E.164 form, parsed from what a person typed or Twilio sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
    national: String,
}

/// Why a typed number is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberError {
    pub input: String,
}

impl std::fmt::Display for NumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a phone number in international form; write it in E.164 form: a plus, \
             the country code and the number without its leading 0, e.g. +4915112345678",
            self.input
        )
    }
}

impl std::error::Error for NumberError {}

/// The fewest and most digits an E.164 number has (country code included).
const E164_DIGITS: std::ops::RangeInclusive<usize> = 7..=15;

impl PhoneNumber {
    /// Parses a number in international form: `+4915112345678`, `+49 151 1234 5678`,
    /// `0049 151 12345678`, `+49 (0)151-12345678`. A national form (`0151 12345678`) needs
    /// `region` (ISO 3166 two letters, e.g. `DE`); without one it is refused.
    pub fn parse(input: &str, region: Option<&str>) -> Result<Self, NumberError> {
        let error = || NumberError {
            input: input.trim().to_owned(),
        };
        let trimmed = input.trim();
        let cleaned = match trimmed.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => trimmed.to_owned(),
        };
        let region = region.and_then(|r| r.to_ascii_uppercase().parse().ok());
        let parsed = phonenumber::parse(region, &cleaned).map_err(|_| error())?;
        // What the crate's E.164 format writes (`+`, the code, the national significant number
        // with an Italian leading zero), without the search for a national format (regular
        // expressions) that it makes first and E.164 does not use: a webhook's hot path.
        let e164 = format!("+{}{}", parsed.code().value(), parsed.national());
        let digits = e164.len().saturating_sub(1);
        if !E164_DIGITS.contains(&digits) || !e164[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(error());
        }
        let country_code = parsed.code().value();
        let national = e164[1 + country_code.to_string().len()..].to_owned();
        Ok(Self {
            e164,
            country_code,
            national,
        })
    }

    /// [`PhoneNumber::parse`], and only a number that can exist by the numbering plan of its
    /// country (libphonenumber's validity: length and ranges), so that a part of a number
    /// (`0450099`) is not taken for a whole one.
    pub fn parse_valid(input: &str, region: Option<&str>) -> Result<Self, NumberError> {
        let number = Self::parse(input, region)?;
        let parsed = phonenumber::parse(None, &number.e164).map_err(|_| NumberError {
            input: input.trim().to_owned(),
        })?;
        if parsed.is_valid() {
            Ok(number)
        } else {
            Err(NumberError {
                input: input.trim().to_owned(),
            })
        }
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// For display where the whole number must not be shown: the country code, the first
    /// three digits of the national number and the last two (`+49 151 ••• ••78`,
    /// `+1 202 ••• ••02`).
    pub fn masked(&self) -> String {
        let n = &self.national;
        if n.len() >= 7 {
            format!(
                "+{} {} ••• ••{}",
                self.country_code,
                &n[..3],
                &n[n.len() - 2..]
            )
        } else {
            format!(
                "+{} ••• ••{}",
                self.country_code,
                &n[n.len().saturating_sub(2)..]
            )
        }
    }
}

/// Whether `from` (as Twilio sent it, E.164) is a number a text message reaches: a mobile
/// number, or one the numbering plan cannot tell from a landline (the USA's, libphonenumber's
/// `FixedLineOrMobile`). Anything else (a landline, `anonymous`, a SIP address) is not.
pub fn is_mobile(from: &str) -> bool {
    let Ok(number) = PhoneNumber::parse(from, None) else {
        return false;
    };
    let Ok(parsed) = phonenumber::parse(None, &number.e164) else {
        return false;
    };
    matches!(
        parsed.number_type(&phonenumber::metadata::DATABASE),
        phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile
    )
}

/// The key of the callers' hashes. Whoever holds it can test whether a given number called;
/// without it the hashes say nothing. Changing it makes every stored hash unfindable, so the
/// binary refuses to start with a key other than the one the hashes were made with
/// ([`PrivacyKey::check_value`]).
pub struct PrivacyKey(SecretString);

/// Why a key is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTooShort {
    pub length: usize,
}

impl std::fmt::Display for KeyTooShort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LIZA_PRIVACY_KEY has {} characters; it needs at least {MIN_KEY_LEN} (e.g. `openssl rand -hex 32`)",
            self.length
        )
    }
}

impl std::error::Error for KeyTooShort {}

/// How much of a caller's HMAC-SHA256 is kept (32 hex digits, 128 bits; the HMAC truncated
/// as RFC 2104 allows): two callers share a hash with a chance of about n² / 2¹²⁹ among n
/// callers, and finding a number by its hash still takes the key. Half the bytes of the whole
/// HMAC, in every call's row and in the index that finds a caller's calls.
pub const CALLER_HASH_BYTES: usize = 16;

/// The shortest key accepted: 32 characters (a generated key is 64 hex digits, 256 bits).
pub const MIN_KEY_LEN: usize = 32;

impl PrivacyKey {
    pub fn new(secret: &str) -> Result<Self, KeyTooShort> {
        let secret = secret.trim();
        if secret.chars().count() < MIN_KEY_LEN {
            return Err(KeyTooShort {
                length: secret.chars().count(),
            });
        }
        Ok(Self(SecretString::from(secret.to_owned())))
    }

    /// A new key from 32 random bytes the caller drew (the core draws no randomness itself).
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(SecretString::from(hex(&bytes)))
    }

    /// The key as text, to be kept where it was generated (the database).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn mac(&self, domain: &str, value: &str) -> String {
        hex(&self.mac_bytes(domain, value))
    }

    fn mac_bytes(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A caller's hash: the first [`CALLER_HASH_BYTES`] of the HMAC, hex.
    fn caller_mac(&self, number: &str) -> String {
        hex(&self.mac_bytes("liza-caller", number)[..CALLER_HASH_BYTES])
    }

    /// A value stored beside the hashes that tells whether a key is the one they were made
    /// with, without revealing it.
    pub fn check_value(&self) -> String {
        self.mac("liza-privacy-key-check", "")
    }

    /// The keyed hash of a caller's number (normalised first, so spacing does not matter).
    pub fn caller_hash(&self, number: &str) -> String {
        self.caller_mac(&normalised(number))
    }

    /// What the store keeps of a caller who has not consented.
    /// The number is parsed once for both (a webhook's hot path).
    pub fn caller(&self, from: &str) -> Caller {
        let number = PhoneNumber::parse(from, None).ok();
        Caller {
            hash: self.caller_mac(number.as_ref().map_or(from.trim(), PhoneNumber::e164)),
            masked: masked_form(number.as_ref(), from),
        }
    }
}

impl std::fmt::Debug for PrivacyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivacyKey(…)")
    }
}

/// A caller as kept without their consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// [`PrivacyKey::caller_hash`], hex.
    pub hash: String,
    /// [`mask`].
    pub masked: String,
}

/// A number as Twilio sent it (`From`), in E.164 when it is one; anything else (`anonymous`,
/// `client:alice`, a SIP address) as it came, trimmed.
pub fn normalised(from: &str) -> String {
    match PhoneNumber::parse(from, None) {
        Ok(number) => number.e164,
        Err(_) => from.trim().to_owned(),
    }
}

/// A number for display without revealing it: [`PhoneNumber::masked`]; what is not a phone
/// number (a SIP address, a client name, `anonymous`) is hidden whole.
pub fn mask(from: &str) -> String {
    masked_form(PhoneNumber::parse(from, None).ok().as_ref(), from)
}

/// [`mask`] of `from`, already parsed into `number` (`None`: not a phone number).
fn masked_form(number: Option<&PhoneNumber>, from: &str) -> String {
    match number {
        Some(number) => number.masked(),
        None if from.trim().is_empty() => String::new(),
        None => "•••".to_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PrivacyKey {
        PrivacyKey::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn numbers_are_written_as_the_crates_e164_format_writes_them() {
        for input in [
            "+4915112345678",
            "+49 30 123456",
            "0049 (0)151-12345678",
            "+39 06 6982 0000",
            "+390612345678",
            "+12025550102",
            "+44 20 7946 0958",
            "+3531234567",
            "+8613800138000",
            "+2250712345678",
        ] {
            let parsed = phonenumber::parse(None, input.replace("0049", "+49")).unwrap();
            let expected = parsed.format().mode(phonenumber::Mode::E164).to_string();
            assert_eq!(
                PhoneNumber::parse(input, None).unwrap().e164(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn mobile_numbers_are_told_from_landlines() {
        assert!(is_mobile("+4915112345678"), "German mobile");
        assert!(is_mobile("+447911123456"), "UK mobile");
        assert!(is_mobile("+12025550143"), "US: fixed line or mobile");
        assert!(!is_mobile("+493012345678"), "Berlin landline");
        assert!(!is_mobile("anonymous"));
        assert!(!is_mobile("client:alice"));
    }

    #[test]
    fn typed_forms_of_one_number_are_one_number() {
        for typed in [
            "+4915112345678",
            "+49 151 1234 5678",
            "0049 151 12345678",
            " +49-151-12345678 ",
        ] {
            let number = PhoneNumber::parse(typed, None).unwrap();
            assert_eq!(number.e164(), "+4915112345678", "{typed}");
        }
        let national = PhoneNumber::parse("0151 12345678", Some("de")).unwrap();
        assert_eq!(national.e164(), "+4915112345678");
    }

    #[test]
    fn malformed_numbers_are_refused_with_the_e164_form_shown() {
        for typed in [
            "0151 12345678",
            "hello",
            "+49",
            "",
            "+49 151 1234 5678 9999 1234",
        ] {
            let error = PhoneNumber::parse(typed, None).unwrap_err();
            assert!(error.to_string().contains("+4915112345678"), "{error}");
        }
    }

    #[test]
    fn masks_keep_the_country_code_and_hide_the_middle() {
        assert_eq!(mask("+4915112345678"), "+49 151 ••• ••78");
        assert_eq!(mask("+12025550102"), "+1 202 ••• ••02");
        assert_eq!(mask("+442079460958"), "+44 207 ••• ••58");
        assert_eq!(mask("client:alice"), "•••");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn hashes_are_keyed_and_normalised() {
        let a = key().caller_hash("+4915112345678");
        assert_eq!(a, key().caller_hash("+49 151 12345678"));
        assert_eq!(a.len(), 2 * CALLER_HASH_BYTES);
        assert!(!a.contains("4915112345678"));
        let other = PrivacyKey::new("another key that is long enough, surely").unwrap();
        assert_ne!(a, other.caller_hash("+4915112345678"));
        assert_ne!(a, key().caller_hash("+4915112345679"));
        assert_ne!(key().check_value(), other.check_value());
    }

    #[test]
    fn a_caller_is_its_hash_and_mask() {
        for from in ["+49 151 12345678", "client:alice", "", "anonymous"] {
            let caller = key().caller(from);
            assert_eq!(caller.hash, key().caller_hash(from), "{from}");
            assert_eq!(caller.masked, mask(from), "{from}");
        }
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_print() {
        assert_eq!(PrivacyKey::new("short").unwrap_err().length, 5);
        assert_eq!(format!("{:?}", key()), "PrivacyKey(…)");
        assert_eq!(PrivacyKey::from_random([7; 32]).expose().len(), 64);
    }
}
