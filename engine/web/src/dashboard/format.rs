//! How the dashboard writes times, durations and phone numbers. Times are shown, and days
//! and weeks begin, in the dashboard's time zone ([`Zone`], `LIZA_TIMEZONE`).

use fluent_bundle::FluentValue;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use minijinja::{State, Value};

use super::i18n::{self, Lang};

use liza_store::admin::{CallDetail, DaySpan, DAY_MS};

/// The zone when `LIZA_TIMEZONE` is not set.
pub const DEFAULT_ZONE: &str = "Europe/Berlin";

/// The dashboard's time zone: an IANA zone from the tz database bundled into the binary (no
/// /usr/share/zoneinfo needed). Days are local calendar days, numbered as days since
/// 1970-01-01 of their date; a day's bounds are its local midnights.
#[derive(Debug, Clone)]
pub struct Zone {
    tz: TimeZone,
    name: String,
}

impl Default for Zone {
    fn default() -> Self {
        Self::named(DEFAULT_ZONE).expect("the default zone is in the bundled database")
    }
}

impl Zone {
    /// The zone `name` (`Europe/Berlin`, `America/New_York`, `UTC`), or what is wrong with it.
    pub fn named(name: &str) -> Result<Self, String> {
        let name = name.trim();
        match TimeZone::get(name) {
            Ok(tz) => Ok(Self {
                tz,
                name: name.to_owned(),
            }),
            Err(_) => Err(format!(
                "LIZA_TIMEZONE={name} is not a time zone of the tz database: expected a name \
                 such as {DEFAULT_ZONE}, Europe/Vienna, America/New_York or UTC"
            )),
        }
    }

    /// UTC.
    pub fn utc() -> Self {
        Self {
            tz: TimeZone::UTC,
            name: "UTC".to_owned(),
        }
    }

    /// As configured (`Europe/Berlin`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn civil(&self, ms: i64) -> DateTime {
        let at = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
        self.tz.to_datetime(at)
    }

    /// `2026-11-25 15:03:07`: the local date and time of an instant (epoch ms).
    pub fn datetime(&self, ms: i64) -> String {
        self.civil(ms).strftime("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// `2026-11-25T15:03:07+01:00`: an instant in ISO 8601 with the zone's offset at it (the
    /// exports' times).
    pub fn iso(&self, ms: i64) -> String {
        let at = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
        at.to_zoned_datetime(self.tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    }

    /// `15:03:07`: the local time of day.
    pub fn time(&self, ms: i64) -> String {
        self.civil(ms).strftime("%H:%M:%S").to_string()
    }

    /// The local day an instant falls on.
    pub fn day_of(&self, ms: i64) -> i64 {
        let date = self.civil(ms).date();
        days_from_civil(
            i64::from(date.year()),
            date.month() as u32,
            date.day() as u32,
        )
    }

    /// The local hour (0-23) of an instant.
    pub fn hour_of(&self, ms: i64) -> i64 {
        i64::from(self.civil(ms).hour())
    }

    /// When the local day `day` begins (its first instant: midnight, or the end of a DST gap
    /// that swallows midnight), epoch ms.
    pub fn day_start(&self, day: i64) -> i64 {
        let (y, m, d) = civil_from_days(day);
        Date::new(y as i16, m as i8, d as i8)
            .and_then(|date| date.to_zoned_datetime(self.tz.clone()))
            .map_or(day * DAY_MS, |start| start.timestamp().as_millisecond())
    }

    /// The local day `day` with its bounds.
    pub fn span(&self, day: i64) -> DaySpan {
        DaySpan {
            day,
            start_ms: self.day_start(day),
            end_ms: self.day_start(day + 1),
        }
    }

    /// `2026-11-25` typed into a filter → when that local day begins; `None` for anything else.
    pub fn date_to_ms(&self, text: &str) -> Option<i64> {
        parse_day(text).map(|day| self.day_start(day))
    }
}

/// The Monday of the week holding local day `day` (1970-01-01 was a Thursday).
pub fn week_start(day: i64) -> i64 {
    day - weekday(day)
}

/// The weekday of a day, Monday 0 … Sunday 6.
pub fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// The ISO week number (1-53) of a day.
pub fn iso_week(day: i64) -> i64 {
    let (y, m, d) = civil_from_days(day);
    Date::new(y as i16, m as i8, d as i8).map_or(0, |date| i64::from(date.iso_week_date().week()))
}

/// (year, month 1-12, day 1-31) of a local day.
pub fn ymd(day: i64) -> (i64, u32, u32) {
    civil_from_days(day)
}

/// The first day of the month holding `day`.
pub fn month_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, m, 1)
}

/// The first day of the month after the one holding `day`.
pub fn next_month_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    }
}

/// `2026-11-25` → its day number; `None` for anything else (`2026-02-31` included).
pub fn parse_day(text: &str) -> Option<i64> {
    date_to_ms(text).map(|ms| ms / DAY_MS)
}

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

/// `2026-11-25` → epoch ms at 00:00 UTC; `None` for anything else. For the local day use
/// [`Zone::date_to_ms`].
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

/// `2026-11-25 14:03:07 UTC`: an instant in UTC, where no zone is at hand (the admin CLI).
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

/// A time in the page's language (`01.12.2026, 14:03:07` or `1 Dec 2026, 14:03:07`), in the
/// dashboard's zone.
pub fn local_datetime(lang: Lang, zone: &Zone, ms: i64) -> String {
    let local = zone.civil(ms);
    let date = local.date();
    let secs =
        i64::from(local.hour()) * 3600 + i64::from(local.minute()) * 60 + i64::from(local.second());
    i18n::date_time(
        lang,
        (
            i64::from(date.year()),
            date.month() as u32,
            date.day() as u32,
        ),
        secs,
    )
}

/// `{{ ms | datetime }}`: the local date and time in the page's language, `—` for none.
pub fn datetime_filter(zone: &Zone, state: &State, value: Value) -> String {
    match i64::try_from(value) {
        Ok(ms) => local_datetime(i18n::of_state(state), zone, ms),
        Err(_) => "—".to_owned(),
    }
}

/// `{{ ms | time }}`: the local time of day, `—` for none.
pub fn time_filter(zone: &Zone, value: Value) -> String {
    match i64::try_from(value) {
        Ok(ms) => zone.time(ms),
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
pub fn consent_line(zone: &Zone, call: &CallDetail) -> String {
    consent_line_in(call, Lang::En, |ms| zone.datetime(ms))
}

/// The proof of a call's consent in one line, in `lang`: the decision, its time, the question
/// as heard, its language and the flow version that asked it ("Given on 1 Dec 2026,
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

    /// 2026-03-29 is the day Berlin moves from CET (+1) to CEST (+2) at 02:00; 2026-10-25 the
    /// day it moves back at 03:00.
    #[test]
    fn berlin_days_follow_daylight_saving_time() {
        let zone = Zone::named("Europe/Berlin").unwrap();
        let spring = parse_day("2026-03-29").unwrap();
        let span = zone.span(spring);
        // Midnight CET is 23:00 UTC the day before; the day lasts 23 hours.
        assert_eq!(
            span.start_ms,
            date_to_ms("2026-03-28").unwrap() + 23 * 3_600_000
        );
        assert_eq!(span.end_ms - span.start_ms, 23 * 3_600_000);
        let autumn = zone.span(parse_day("2026-10-25").unwrap());
        assert_eq!(autumn.end_ms - autumn.start_ms, 25 * 3_600_000);
        // 22:30 UTC on 2026-11-24 is 23:30 in Berlin, still the 24th; 23:30 UTC is the 25th.
        let evening = date_to_ms("2026-11-24").unwrap() + 22 * 3_600_000 + 1_800_000;
        assert_eq!(format_day(zone.day_of(evening)), "2026-11-24");
        assert_eq!(zone.datetime(evening), "2026-11-24 23:30:00");
        assert_eq!(format_day(zone.day_of(evening + 3_600_000)), "2026-11-25");
        assert_eq!(zone.hour_of(evening + 3_600_000), 0);
        // Summer: 16:26 UTC is 18:26 in Berlin.
        let summer = date_to_ms("2026-07-01").unwrap() + 16 * 3_600_000 + 26 * 60_000;
        assert_eq!(zone.datetime(summer), "2026-07-01 18:26:00");
        assert_eq!(zone.time(summer), "18:26:00");
        assert_eq!(
            zone.date_to_ms("2026-07-01"),
            Some(date_to_ms("2026-06-30").unwrap() + 22 * 3_600_000)
        );
        assert_eq!(zone.date_to_ms("2026-13-01"), None);
    }

    #[test]
    fn iso_times_carry_the_zones_offset_at_that_instant() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // 2026-11-25 14:03:07 UTC (winter) and 2026-07-01 10:00:00 UTC (summer).
        assert_eq!(berlin.iso(1_795_615_387_000), "2026-11-25T15:03:07+01:00");
        assert_eq!(berlin.iso(1_782_900_000_000), "2026-07-01T12:00:00+02:00");
        assert_eq!(Zone::utc().iso(0), "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn a_zone_that_does_not_exist_is_named_in_the_error() {
        let error = Zone::named("Europe/Berln").unwrap_err();
        assert!(error.contains("LIZA_TIMEZONE=Europe/Berln"), "{error}");
        assert!(error.contains("Europe/Berlin"), "{error}");
        assert_eq!(Zone::named("UTC").unwrap().name(), "UTC");
        assert_eq!(Zone::default().name(), "Europe/Berlin");
    }

    #[test]
    fn weeks_start_on_monday_and_have_iso_numbers() {
        // 2026-11-25 is a Wednesday of ISO week 48; its week began on Monday 2026-11-23.
        let wednesday = parse_day("2026-11-25").unwrap();
        assert_eq!(format_day(week_start(wednesday)), "2026-11-23");
        assert_eq!(weekday(wednesday), 2);
        assert_eq!(iso_week(wednesday), 48);
        // 2027-01-01 (a Friday) still belongs to ISO week 53 of 2026.
        assert_eq!(iso_week(parse_day("2027-01-01").unwrap()), 53);
    }

    #[test]
    fn phone_numbers_keep_their_country_code_and_last_two_digits() {
        assert_eq!(mask_phone("+4915112345678"), "+49 151 ••• ••78");
        assert_eq!(mask_phone("+12025550123"), "+1 202 ••• ••23");
        assert_eq!(mask_phone("anonymous"), "•••");
        assert_eq!(mask_phone("12345"), "•••");
    }
}
