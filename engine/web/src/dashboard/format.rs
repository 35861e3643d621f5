//! How the dashboard writes times, durations and phone numbers. All times are UTC.

use fluent_bundle::FluentValue;
use minijinja::{State, Value};

use super::i18n::{self, Lang};

use liza_store::admin::{CallDetail, DAY_MS};

/// (year, month, day) of a day count since 1970-01-01.
/// Howard Hinnant's `civil_from_days`: a dozen lines, so no date crate for it.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (the inverse of `civil_from_days`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-25` → epoch ms at 00:00 UTC; `None` for anything else.
pub fn date_to_ms(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1970..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Reject 2026-02-31 and the like: the date must survive the round trip.
    (civil_from_days(days) == (year, month, day)).then_some(days * DAY_MS)
}

/// `2026-11-25` for a day count since the epoch.
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-11-25 14:03:07 UTC`.
pub fn format_datetime(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        format_day(days),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `+49 151 ••• ••78`: enough to recognise a caller, not enough to call them; by the number's
/// real country code (`+1 202 ••• ••02`). The same mask as the stored one of callers who did
/// not consent ([`liza_core::privacy::mask`]).
pub fn mask_phone(number: &str) -> String {
    liza_core::privacy::mask(number)
}

/// A time in the page's language (`01.12.2026, 14:03:07` or `1 Dec 2026, 14:03:07`), UTC.
pub fn local_datetime(lang: Lang, ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    i18n::date_time(lang, civil_from_days(days), secs)
}

pub fn datetime_filter(state: &State, value: Value) -> String {
    match i64::try_from(value) {
        Ok(ms) => local_datetime(i18n::of_state(state), ms),
        Err(_) => "—".to_owned(),
    }
}

pub fn duration_filter(value: Value) -> String {
    match i64::try_from(value) {
        Ok(secs) if secs >= 60 => format!("{} min {:02} s", secs / 60, secs % 60),
        Ok(secs) => format!("{secs} s"),
        Err(_) => "—".to_owned(),
    }
}

/// The proof of a call's consent in English with ISO times (the command line's
/// `liza calls show`); [`consent_line_in`] says it in the page's language.
pub fn consent_line(call: &CallDetail) -> String {
    consent_line_in(call, Lang::En, format_datetime)
}

/// The proof of a call's consent in one line, in `lang`: the decision, its time, the question
/// as heard, its language and the flow version that asked it ("Consent given on 1 Dec 2026,
/// 14:03:12 to «Dürfen wir …» — de-DE, flow 62bf78ab"). A call asked and ended without a
/// decision had no answer; one never asked was not asked.
/// Times are written by `when` (the page's language and zone; the command line's ISO form).
pub fn consent_line_in(call: &CallDetail, lang: Lang, when: impl Fn(i64) -> String) -> String {
    let asked = call.consent_text.as_deref().map(|text| {
        let version = call.flow_version.as_deref().unwrap_or("");
        i18n::text(
            lang,
            "consent-asked",
            &[
                ("text", FluentValue::from(text)),
                (
                    "locale",
                    FluentValue::from(call.consent_locale.as_deref().unwrap_or("?")),
                ),
                (
                    "version",
                    FluentValue::from(&version[..version.len().min(8)]),
                ),
            ],
        )
    });
    let at = |ms: Option<i64>| ms.map_or_else(|| "—".to_owned(), &when);
    let line = |id: &str, at: String, decision: Option<&str>, asked: Option<String>| {
        let mut args = vec![("at", FluentValue::from(at))];
        if let Some(decision) = decision {
            args.push(("decision", FluentValue::from(decision.to_owned())));
        }
        if let Some(asked) = asked {
            args.push(("asked", FluentValue::from(asked)));
        }
        i18n::text(lang, id, &args)
    };
    match (call.summary.consent.as_deref(), asked) {
        (Some(decision), Some(asked)) => line(
            "consent-decided",
            at(call.consent_at),
            Some(decision),
            Some(asked),
        ),
        (Some(decision), None) => line(
            "consent-decided-unstored",
            at(call.consent_at),
            Some(decision),
            None,
        ),
        (None, Some(asked)) if call.ended_at.is_some() || call.summary.status != "in_progress" => {
            line(
                "consent-no-answer",
                at(call.consent_asked_at),
                None,
                Some(asked),
            )
        }
        (None, Some(asked)) => line(
            "consent-waiting",
            at(call.consent_asked_at),
            None,
            Some(asked),
        ),
        (None, None) => i18n::text(lang, "consent-not-asked", &[]),
    }
}

pub fn mask_filter(value: String) -> String {
    mask_phone(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_epoch_days() {
        assert_eq!(date_to_ms("1970-01-01"), Some(0));
        assert_eq!(date_to_ms("2026-11-25"), Some(1_795_564_800_000));
        assert_eq!(format_day(1_795_564_800_000 / DAY_MS), "2026-11-25");
        assert_eq!(format_day(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(date_to_ms("2026-02-31"), None);
        assert_eq!(date_to_ms("yesterday"), None);
        assert_eq!(
            format_datetime(1_795_564_800_000 + 3_723_000),
            "2026-11-25 01:02:03 UTC"
        );
    }

    #[test]
    fn phone_numbers_keep_their_country_code_and_last_two_digits() {
        assert_eq!(mask_phone("+4915112345678"), "+49 151 ••• ••78");
        assert_eq!(mask_phone("+12025550123"), "+1 202 ••• ••23");
        assert_eq!(mask_phone("anonymous"), "•••");
        assert_eq!(mask_phone("12345"), "•••");
    }
}
