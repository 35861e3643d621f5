//! What a phone number typed into the calls' search finds. Four forms find one caller:
//!
//! - international, spaced or not (`+49 151 04500990`, `+4915104500990`, `0049 151 …`);
//! - national (`015104500990`, `0151 04500990`, `0151/045 009-90`), read in the dashboard's
//!   region (the first flow's default language: `de-DE` → Germany), when it is a number that
//!   can exist there; searched as a part as well, because German numbering accepts most runs
//!   of seven or more digits as some landline (`04500990` is "valid"), so a part cannot be
//!   told from a whole number. Its cost is a part's: a walk down the time index, as every
//!   search without a `+` was before;
//! - masked as the lists show it (`+49 151 ••• ••90`): the calls whose stored masked form is
//!   the same, i.e. the same country code, first three and last two digits. That can be more
//!   than one caller: the hidden digits are not known, so the list says so;
//! - anything else is a part of a number kept in clear (`4500`), as before.
//!
//! A whole number (the first two forms) finds its calls both where the number is kept in clear
//! and where only its keyed hash is (callers who did not consent).

use liza_core::privacy::PhoneNumber;

/// The masking character of [`liza_core::privacy::mask`].
const BULLET: char = '•';

/// What the calls list is filtered by for a typed number; the calls that match any of the
/// set fields are found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumberSearch {
    /// A whole number in E.164 form: its calls kept in clear and (hashed) the others.
    pub whole: Option<String>,
    /// The start of an international number kept in clear (`+49151`).
    pub prefix: Option<String>,
    /// A part of a number kept in clear (digits).
    pub part: Option<String>,
    /// A masked number in its stored form.
    pub masked: Option<String>,
}

/// Reads `typed` as one of the four forms; a masked form that is not one the lists show is
/// refused with a message.
pub fn number_search(typed: &str, region: Option<&str>) -> Result<NumberSearch, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(NumberSearch::default());
    }
    if typed.contains([BULLET, '*']) {
        return masked(typed)
            .map(|masked| NumberSearch {
                masked: Some(masked),
                ..NumberSearch::default()
            })
            .ok_or_else(|| {
                format!(
                    "`{typed}` is not a masked number as the lists show it: the country code, \
                     the first three digits, dots for the hidden ones and the last two digits, \
                     e.g. +49 151 ••• ••90"
                )
            });
    }
    // The digits as stored, without the spaces and dashes people type.
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '/' | '(' | ')' | '.'))
        .collect();
    if let Some(international) = digits
        .strip_prefix('+')
        .or_else(|| digits.strip_prefix("00"))
    {
        return Ok(match PhoneNumber::parse(typed, None) {
            Ok(number) => NumberSearch {
                whole: Some(number.e164().to_owned()),
                ..NumberSearch::default()
            },
            Err(_) => NumberSearch {
                prefix: Some(format!("+{international}")),
                ..NumberSearch::default()
            },
        });
    }
    // A national form may be a whole number of the region or a part of any number: both.
    Ok(NumberSearch {
        whole: PhoneNumber::parse_valid(typed, region)
            .ok()
            .map(|number| number.e164().to_owned()),
        part: Some(digits),
        ..NumberSearch::default()
    })
}

/// `+49 151 ••• ••90` in the stored form ([`PhoneNumber::masked`]), however its spaces and
/// dots were copied (`*` for a dot is taken too); `None` when it is not one.
fn masked(typed: &str) -> Option<String> {
    let typed = typed.replace('*', &BULLET.to_string());
    let mut tokens = typed.split_whitespace();
    let country = tokens.next()?.strip_prefix('+')?;
    if !(1..=3).contains(&country.len()) || !country.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest: Vec<&str> = tokens.collect();
    let (prefix, hidden) = match rest.split_first() {
        Some((first, hidden)) if first.bytes().all(|b| b.is_ascii_digit()) => {
            (Some(*first), hidden)
        }
        _ => (None, &rest[..]),
    };
    if prefix.is_some_and(|p| p.len() != 3) {
        return None;
    }
    let hidden: String = hidden.concat();
    let last = hidden.trim_start_matches(BULLET);
    if last.len() == hidden.len() || last.len() != 2 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match prefix {
        Some(prefix) => format!("+{country} {prefix} ••• ••{last}"),
        None => format!("+{country} ••• ••{last}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_international_and_spaced_forms_are_one_whole_number() {
        for typed in [
            "015104500990",
            "0151 04500990",
            "+49 151 04500990",
            "+4915104500990",
            "0049 151 0450 0990",
            "0151/04500990",
        ] {
            let search = number_search(typed, Some("DE")).unwrap();
            assert_eq!(search.whole.as_deref(), Some("+4915104500990"), "{typed}");
            assert!(
                search.masked.is_none() && search.prefix.is_none(),
                "{typed}"
            );
        }
        // A national form is a part too, in case it was one.
        assert_eq!(
            number_search("0151 04500990", Some("DE"))
                .unwrap()
                .part
                .as_deref(),
            Some("015104500990")
        );
        assert_eq!(
            number_search("+49 151 04500990", Some("DE")).unwrap().part,
            None
        );
    }

    #[test]
    fn a_national_form_needs_a_region_and_a_part_stays_a_part() {
        let search = number_search("015104500990", None).unwrap();
        assert_eq!(search.whole, None);
        assert_eq!(search.part.as_deref(), Some("015104500990"));
        let search = number_search("0450 099", Some("DE")).unwrap();
        assert_eq!(search.part.as_deref(), Some("0450099"));
        let search = number_search("+49 15", Some("DE")).unwrap();
        assert_eq!(
            (search.whole, search.prefix.as_deref()),
            (None, Some("+4915"))
        );
    }

    #[test]
    fn a_masked_form_is_read_in_its_stored_form() {
        let expected = Some("+49 151 ••• ••90".to_owned());
        for typed in [
            "+49 151 ••• ••90",
            " +49  151 •••  ••90 ",
            "+49 151 *** **90",
        ] {
            assert_eq!(
                number_search(typed, Some("DE")).unwrap().masked,
                expected,
                "{typed}"
            );
        }
        assert_eq!(
            number_search("+1 ••• ••02", None)
                .unwrap()
                .masked
                .as_deref(),
            Some("+1 ••• ••02")
        );
        for bad in [
            "+49 151 •••",
            "49 151 ••• ••90",
            "+49 15 ••• ••90",
            "+49 151 ••• ••9x",
        ] {
            assert!(number_search(bad, None).is_err(), "{bad}");
        }
    }
}
