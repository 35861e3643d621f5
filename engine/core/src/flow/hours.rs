//! Opening hours: a flow's `schedules` (weekly hours, days closed, days with hours of their
//! own, named periods, a time zone) and what one says at an instant.
//!
//! Pure: the core has no clock. The adapter hands the turn its instant ("now" of the webhook,
//! `liza simulate --at`, a flow test's `at:`); this module only reads the calendar.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Day names as written in a flow, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes since midnight, start inclusive, end exclusive (`24:00` = 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u16,
    pub end: u16,
}

impl Range {
    fn contains(self, minute: u16) -> bool {
        self.start <= minute && minute < self.end
    }
}

/// Hours for each day of the week, Monday first.
pub type Week = [Vec<Range>; 7];

/// A compiled schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    /// The IANA name as written (`Europe/Berlin`).
    pub zone_name: String,
    pub zone: TimeZone,
    pub weekly: Week,
    /// Whole days closed (holidays), in the schedule's zone.
    pub closed: BTreeSet<Date>,
    /// Days with hours of their own, instead of the weekly ones.
    pub special: BTreeMap<Date, Vec<Range>>,
    /// Named periods, each with weekly hours; the first in force wins.
    pub periods: Vec<(String, Week)>,
}

/// What a schedule says at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<'a> {
    Open,
    Closed,
    /// A named period is in force (before the weekly hours are asked).
    Period(&'a str),
}

impl Schedule {
    /// The schedule at `now`. A day closed closes everything; a day with hours of its own
    /// follows only them; else the first named period in force among `wanted` wins; else the
    /// weekly hours decide.
    pub fn at(&self, now: Timestamp, wanted: &[&str]) -> Status<'_> {
        let local = now.to_zoned_datetime(self.zone.clone());
        let date = local.date();
        if self.closed.contains(&date) {
            return Status::Closed;
        }
        let day = usize::try_from(Weekday::Monday.until(local.weekday())).unwrap_or(0) % 7;
        let minute =
            u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        // A day with hours of its own follows only them (no weekly period applies).
        if let Some(hours) = self.special.get(&date) {
            return if hours.iter().any(|r| r.contains(minute)) {
                Status::Open
            } else {
                Status::Closed
            };
        }
        for (name, week) in &self.periods {
            if wanted.contains(&name.as_str()) && week[day].iter().any(|r| r.contains(minute)) {
                return Status::Period(name);
            }
        }
        if self.weekly[day].iter().any(|r| r.contains(minute)) {
            Status::Open
        } else {
            Status::Closed
        }
    }
}

/// Days named by a weekly key: `mon`, `mon-fri`, `sat,sun`, `fri-mon` (wraps). Err: a message.
pub fn parse_days(key: &str) -> Result<Vec<usize>, String> {
    let day = |name: &str| {
        let name = name.trim().to_ascii_lowercase();
        DAYS.iter().position(|d| *d == name).ok_or_else(|| {
            format!(
                "`{name}` is not a day{}: write mon, tue, wed, thu, fri, sat or sun, a span such as `mon-fri`, or a list such as `sat,sun`",
                crate::diagnostics::did_you_mean(&name, DAYS)
            )
        })
    };
    let mut out = Vec::new();
    for part in key.split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                let mut d = from;
                loop {
                    out.push(d);
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => out.push(day(part)?),
        }
    }
    Ok(out)
}

fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// One range of hours, `09:00-17:30`. Err: a message that says how to write it.
pub fn parse_range(text: &str) -> Result<Range, String> {
    let how = "write hours as `09:00-17:30` (24-hour clock, two digits each; `24:00` ends a day)";
    let Some((from, to)) = text.split_once('-') else {
        return Err(format!("`{text}` is not a range of hours: {how}"));
    };
    let (Some(start), Some(end)) = (parse_time(from), parse_time(to)) else {
        return Err(format!("`{text}` is not a range of hours: {how}"));
    };
    if end <= start {
        return Err(format!(
            "`{text}` ends before it starts: a range past midnight is two, e.g. `22:00-24:00` and `00:00-02:00` on the next day"
        ));
    }
    Ok(Range { start, end })
}

/// A calendar date, `2026-12-24`. Err: a message.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let shaped = text.len() == 10
        && text.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    match text.parse::<Date>() {
        Ok(date) if shaped => Ok(date),
        _ if shaped => Err(format!("`{text}` is not a date in the calendar")),
        _ => Err(format!("`{text}` is not a date: write it as `2026-12-24`")),
    }
}

/// A time zone by its IANA name (the tz database is built into the binary). Err: a message
/// with a did-you-mean.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        let names: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_owned())
            .collect();
        format!(
            "`{name}` is not a time zone{} (an IANA name such as `Europe/Berlin`)",
            crate::diagnostics::did_you_mean(name, names.iter().map(String::as_str))
        )
    })
}

/// An instant as staff write it (`liza simulate --at`, a flow test's `at:`), in epoch
/// milliseconds: `2026-12-24T10:00` in `zone` (the flow's first schedule's; UTC without one),
/// or with an offset or zone of its own (`2026-12-24T10:00+01:00`,
/// `2026-12-24T10:00[Europe/Berlin]`).
pub fn parse_instant(text: &str, zone: Option<&TimeZone>) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(zoned) = text.parse::<jiff::ZonedDateTime>() {
        return Ok(zoned.timestamp().as_millisecond());
    }
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| format!("`{text}` is not a moment: write it as `2026-12-24T10:00`"))?;
    let zone = zone.cloned().unwrap_or(TimeZone::UTC);
    civil
        .to_zoned_datetime(zone)
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn shop() -> Schedule {
        let mut weekly: Week = Default::default();
        for day in parse_days("mon-fri").unwrap() {
            weekly[day] = vec![
                parse_range("09:00-12:30").unwrap(),
                parse_range("13:30-18:00").unwrap(),
            ];
        }
        weekly[5] = vec![parse_range("10:00-14:00").unwrap()];
        let mut lunch: Week = Default::default();
        for day in parse_days("mon-fri").unwrap() {
            lunch[day] = vec![parse_range("12:30-13:30").unwrap()];
        }
        Schedule {
            name: "shop".into(),
            zone_name: "Europe/Berlin".into(),
            zone: zone("Europe/Berlin").unwrap(),
            weekly,
            closed: [parse_date("2026-12-25").unwrap()].into(),
            special: [(
                parse_date("2026-12-24").unwrap(),
                vec![parse_range("09:00-12:00").unwrap()],
            )]
            .into(),
            periods: vec![("lunch".into(), lunch)],
        }
    }

    #[test]
    fn weekly_hours_days_closed_and_own_hours_in_the_schedules_zone() {
        let s = shop();
        let lunch = ["lunch"];
        // Tuesday 1 December 2026, Berlin is UTC+1.
        assert_eq!(s.at(at("2026-12-01T08:00:00Z"), &[]), Status::Open); // 09:00
        assert_eq!(s.at(at("2026-12-01T07:59:00Z"), &[]), Status::Closed); // 08:59
        assert_eq!(s.at(at("2026-12-01T11:45:00Z"), &[]), Status::Closed); // 12:45, no period asked
        assert_eq!(
            s.at(at("2026-12-01T11:45:00Z"), &lunch),
            Status::Period("lunch")
        );
        assert_eq!(s.at(at("2026-12-01T17:00:00Z"), &[]), Status::Closed); // 18:00, end exclusive
                                                                           // Saturday and Sunday.
        assert_eq!(s.at(at("2026-12-05T09:30:00Z"), &[]), Status::Open);
        assert_eq!(s.at(at("2026-12-06T09:30:00Z"), &[]), Status::Closed);
        // Christmas Eve (a Thursday) has hours of its own; Christmas Day is closed.
        assert_eq!(s.at(at("2026-12-24T10:00:00Z"), &[]), Status::Open); // 11:00
        assert_eq!(s.at(at("2026-12-24T12:00:00Z"), &lunch), Status::Closed); // 13:00
        assert_eq!(s.at(at("2026-12-25T10:00:00Z"), &lunch), Status::Closed);
        // Summer time: 09:00 in Berlin is 07:00 UTC in July.
        assert_eq!(s.at(at("2026-07-01T07:00:00Z"), &[]), Status::Open);
    }

    #[test]
    fn instants_are_read_in_the_schedules_zone_unless_they_carry_their_own() {
        let berlin = zone("Europe/Berlin").unwrap();
        let utc_nine = at("2026-12-24T09:00:00Z").as_millisecond();
        assert_eq!(
            parse_instant("2026-12-24T10:00", Some(&berlin)),
            Ok(utc_nine)
        );
        assert_eq!(parse_instant("2026-12-24T09:00", None), Ok(utc_nine));
        assert_eq!(parse_instant("2026-12-24T10:00+01:00", None), Ok(utc_nine));
        assert_eq!(
            parse_instant("2026-12-24T10:00[Europe/Berlin]", None),
            Ok(utc_nine)
        );
        assert!(parse_instant("24.12. 10 Uhr", None)
            .unwrap_err()
            .contains("`2026-12-24T10:00`"));
    }

    #[test]
    fn days_ranges_dates_and_zones_are_read_or_explained() {
        assert_eq!(parse_days("sat,sun").unwrap(), [5, 6]);
        assert_eq!(parse_days("fri-mon").unwrap(), [4, 5, 6, 0]);
        assert!(parse_days("mo-fr")
            .unwrap_err()
            .contains("(did you mean `mon`?)"));
        assert_eq!(
            parse_range("00:00-24:00").unwrap(),
            Range {
                start: 0,
                end: 1440
            }
        );
        assert!(parse_range("9-17")
            .unwrap_err()
            .contains("write hours as `09:00-17:30`"));
        assert!(parse_range("18:00-09:00")
            .unwrap_err()
            .contains("ends before it starts"));
        assert!(parse_range("09:00-24:30").is_err());
        assert!(parse_date("2026-02-30")
            .unwrap_err()
            .contains("not a date in the calendar"));
        assert!(parse_date("24.12.2026")
            .unwrap_err()
            .contains("`2026-12-24`"));
        assert!(zone("Europe/Berln")
            .unwrap_err()
            .contains("(did you mean `Europe/Berlin`?)"));
    }
}
