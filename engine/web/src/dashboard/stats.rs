//! `/stats` as numbers and SVG bar charts over a chosen period of local days. Pure: the
//! period's parsing, its buckets (days, calendar weeks from Monday, months), which of them are
//! partial, the axis ticks and the bars' geometry are decided here and tested here; the page
//! handler only fetches the counts and the template only draws what it is given.

use std::collections::BTreeMap;

use fluent_bundle::FluentValue;
use serde::Serialize;

use super::format::{
    format_day, iso_week, month_start, next_month_start, week_start, weekday, ymd,
};
use super::i18n::{self, Lang, Text};
use liza_store::admin::{StatsBucket, StatsHour};

/// The periods offered as links: the last N days, today included.
pub const PRESETS: [i64; 4] = [7, 30, 90, 365];
/// The period without a choice.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest custom period (three years): longer ones are refused with a message.
pub const MAX_SPAN_DAYS: i64 = 3 * 366;
/// Periods up to this many days are drawn per day (and per calendar week beside).
pub const DAILY_UP_TO: i64 = 92;
/// Periods up to this many days are drawn per calendar week (and per month beside); longer
/// ones per month.
pub const WEEKLY_UP_TO: i64 = 400;
/// Records listed per kind.
pub const TOP_LIMIT: i64 = 10;
/// The records called about most are counted over the period's last days only: each call of
/// the period would be read (`record_calls` has no day sums that could rank a long period),
/// about 15,000 rows a week at 1,000,000 calls a year (docs/BENCHMARKS.md).
pub const TOP_DAYS: i64 = 7;

/// The chart's box in SVG user units; the page scales it to its width.
const WIDTH: i64 = 720;
const PLOT_TOP: i64 = 16;
const PLOT_HEIGHT: i64 = 200;
/// Room under the plot for the x labels.
const X_LABELS: i64 = 40;
/// The widest a character of a label gets at the phone's font size (24 units, see
/// dashboard.css): what the margins and the thinning of x labels are sized for.
const CHAR_UNITS: i64 = 14;
/// Intervals on the y axis at most.
const MAX_TICKS: i64 = 5;

/// The days shown: `first..=last`, local days, `last` never after today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub first: i64,
    pub last: i64,
    pub today: i64,
    /// The preset chosen (`?days=`), none for a custom period.
    pub preset: Option<i64>,
    /// The custom period's dates as typed (shown again in the form).
    pub from: String,
    pub to: String,
}

impl Period {
    /// The period of `?days=` or of `?from=&to=` (a custom period wins when `from` is given;
    /// `to` defaults to today and is cut at today). A message for anything else.
    pub fn parse(
        days: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: i64,
    ) -> Result<Self, Text> {
        let day = |text: &str| {
            super::parse_day(text).ok_or_else(|| Text::new("error-not-a-date").arg("value", text))
        };
        match (from, to) {
            (None, None) => {
                let n = match days {
                    None => DEFAULT_DAYS,
                    Some(text) => text
                        .parse::<i64>()
                        .ok()
                        .filter(|n| PRESETS.contains(n))
                        .ok_or_else(|| Text::new("stats-error-days").arg("value", text))?,
                };
                Ok(Self {
                    first: today - n + 1,
                    last: today,
                    today,
                    preset: Some(n),
                    from: String::new(),
                    to: String::new(),
                })
            }
            (None, Some(_)) => Err(Text::new("stats-error-from-missing")),
            (Some(from_text), to_text) => {
                let first = day(from_text)?;
                let last = match to_text {
                    Some(text) => day(text)?,
                    None => today,
                };
                if first > today {
                    return Err(Text::new("stats-error-future").arg("from", from_text));
                }
                if first > last {
                    return Err(Text::new("stats-error-reversed")
                        .arg("from", from_text)
                        .arg("to", to_text.unwrap_or_default()));
                }
                let last = last.min(today);
                if last - first + 1 > MAX_SPAN_DAYS {
                    return Err(Text::new("stats-error-too-long")
                        .arg("days", (last - first + 1).to_string())
                        .arg("max", MAX_SPAN_DAYS.to_string()));
                }
                Ok(Self {
                    first,
                    last,
                    today,
                    preset: None,
                    from: from_text.to_owned(),
                    to: to_text.unwrap_or_default().to_owned(),
                })
            }
        }
    }

    /// Days in the period.
    pub fn days(&self) -> i64 {
        self.last - self.first + 1
    }

    /// The days the records called about most are counted over: the last [`TOP_DAYS`].
    pub fn top_days(&self) -> (i64, i64) {
        ((self.last - TOP_DAYS + 1).max(self.first), self.last)
    }

    /// The bars' unit for the period's length.
    pub fn grain(&self) -> Grain {
        match self.days() {
            n if n <= DAILY_UP_TO => Grain::Day,
            n if n <= WEEKLY_UP_TO => Grain::Week,
            _ => Grain::Month,
        }
    }
}

/// What one bar of a chart over time stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    Day,
    /// An ISO calendar week, Monday to Sunday.
    Week,
    Month,
}

impl Grain {
    /// The next coarser grain, drawn beside (weeks beside days, months beside weeks).
    fn coarser(self) -> Option<Self> {
        match self {
            Self::Day => Some(Self::Week),
            Self::Week => Some(Self::Month),
            Self::Month => None,
        }
    }
}

/// Why a bar does not stand for a whole day, week or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Partial {
    /// It holds today, which is not over.
    Running,
    /// The chosen period holds only some of its days.
    Cut,
}

/// One bar of a chart over time: the days it counts (`first..=last`, inside the period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Its first day as a whole (a week's Monday, a month's 1st), for its label.
    pub start: i64,
    pub first: i64,
    pub last: i64,
    pub partial: Option<Partial>,
}

/// The bars of `period` at `grain`: whole days, calendar weeks (Monday to Sunday) or months,
/// cut to the period; those cut, or holding today, are partial.
pub fn slots(period: &Period, grain: Grain) -> Vec<Slot> {
    let mut slots = Vec::new();
    let mut start = match grain {
        Grain::Day => period.first,
        Grain::Week => week_start(period.first),
        Grain::Month => month_start(period.first),
    };
    while start <= period.last {
        let next = match grain {
            Grain::Day => start + 1,
            Grain::Week => start + 7,
            Grain::Month => next_month_start(start),
        };
        let first = start.max(period.first);
        let last = (next - 1).min(period.last);
        let partial = if (start..next).contains(&period.today) {
            Some(Partial::Running)
        } else if first != start || last != next - 1 {
            Some(Partial::Cut)
        } else {
            None
        };
        slots.push(Slot {
            start,
            first,
            last,
            partial,
        });
        start = next;
    }
    slots
}

/// The y axis: the step between ticks (1, 2 or 5 times a power of ten) and the top of the
/// axis (a whole number of steps, at least `max`), with at most [`MAX_TICKS`] intervals.
pub fn ticks(max: i64) -> (i64, i64) {
    if max <= 0 {
        return (1, 1);
    }
    let rough = (max + MAX_TICKS - 1) / MAX_TICKS;
    let mut magnitude = 1;
    while magnitude * 10 <= rough {
        magnitude *= 10;
    }
    let step = [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= rough)
        .unwrap_or(10 * magnitude);
    let top = ((max + step - 1) / step).max(1) * step;
    (step, top)
}

/// A line across the plot at a round value, with its label.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub y: i64,
    pub label: String,
}

/// One bar, with its geometry in SVG user units.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    /// On the axis (`25.11.`, `KW 48`).
    pub label: String,
    /// In the table and the bar's tooltip: the label with the days counted.
    pub long_label: String,
    pub value: i64,
    /// The value as the page's language writes it.
    pub shown: String,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// The bar's middle, where its label is centred.
    pub center: i64,
    /// Only some bars carry an axis label, so the labels do not overlap.
    pub show_label: bool,
    pub partial: Option<Partial>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// Unique on the page (element ids).
    pub id: String,
    pub title: String,
    /// What the table's first column names.
    pub column: String,
    /// What the table's value column names (calls, unless said otherwise).
    pub value_column: String,
    /// One sentence for screen readers: what the chart shows, its largest value.
    pub summary: String,
    pub width: i64,
    pub height: i64,
    pub left: i64,
    pub right: i64,
    pub top: i64,
    pub bottom: i64,
    pub label_y: i64,
    pub ticks: Vec<Tick>,
    pub bars: Vec<Bar>,
    pub has_partial: bool,
}

/// A point of a chart: (axis label, table label, value, partial).
type Point = (String, String, i64, Option<Partial>);

impl Chart {
    fn new(lang: Lang, id: &str, title: String, column: String, points: Vec<Point>) -> Self {
        let max = points.iter().map(|p| p.2).max().unwrap_or(0).max(0);
        let (step, top_value) = ticks(max);
        let tick_values: Vec<i64> = (0..=top_value / step).map(|i| i * step).collect();
        let widest_tick = tick_values
            .iter()
            .map(|v| i18n::integer(lang, *v).chars().count() as i64)
            .max()
            .unwrap_or(1);
        let widest_label = points
            .iter()
            .map(|p| p.0.chars().count() as i64)
            .max()
            .unwrap_or(1);
        let left = 16 + widest_tick * CHAR_UNITS;
        let right = WIDTH - 4 - widest_label * CHAR_UNITS / 2;
        let bottom = PLOT_TOP + PLOT_HEIGHT;
        let y_of = |value: i64| bottom - value * PLOT_HEIGHT / top_value;
        let count = points.len().max(1) as i64;
        let slot = (right - left) as f64 / count as f64;
        // Labels at least one label's width (and a gap) apart.
        let spacing = (widest_label * CHAR_UNITS + 16) as f64;
        let label_every = ((spacing / slot).ceil() as usize).max(1);
        let gap = if slot >= 6.0 { 2.0 } else { 1.0 };
        let has_partial = points.iter().any(|p| p.3.is_some());
        let bars = points
            .into_iter()
            .enumerate()
            .map(|(i, (label, long_label, value, partial))| {
                let x0 = left as f64 + i as f64 * slot;
                let x = (x0 + gap / 2.0).round() as i64;
                let width = ((slot - gap).round() as i64).max(1);
                let y = y_of(value.max(0));
                Bar {
                    show_label: i % label_every == 0,
                    shown: i18n::integer(lang, value),
                    label,
                    long_label,
                    value,
                    x,
                    y,
                    width,
                    height: bottom - y,
                    center: (x0 + slot / 2.0).round() as i64,
                    partial,
                }
            })
            .collect();
        let summary = i18n::text(
            lang,
            "chart-summary",
            &[
                ("chart", FluentValue::from(title.as_str())),
                ("count", FluentValue::from(count)),
                ("max", FluentValue::from(i18n::integer(lang, max))),
            ],
        );
        Self {
            id: id.to_owned(),
            value_column: i18n::text(lang, "col-calls", &[]),
            title,
            column,
            summary,
            width: WIDTH,
            height: bottom + X_LABELS,
            left,
            right,
            top: PLOT_TOP,
            bottom,
            label_y: bottom + 30,
            ticks: tick_values
                .into_iter()
                .map(|v| Tick {
                    y: y_of(v),
                    label: i18n::integer(lang, v),
                })
                .collect(),
            bars,
            has_partial,
        }
    }
}

/// A row of a "by …" table.
#[derive(Debug, Clone, Serialize, Default)]
pub struct GroupRow {
    pub name: String,
    pub calls: i64,
    pub consent_given: i64,
    pub consent_refused: i64,
    pub problems: i64,
    /// Average handling time in seconds, where Twilio reported durations.
    pub average_secs: Option<i64>,
    #[serde(skip)]
    duration_sum: i64,
    #[serde(skip)]
    durations: i64,
}

impl GroupRow {
    fn add(&mut self, bucket: &StatsBucket) {
        self.calls += bucket.calls;
        match bucket.consent.as_deref() {
            Some("given") => self.consent_given += bucket.calls,
            Some("refused") => self.consent_refused += bucket.calls,
            _ => {}
        }
        if bucket.status == "problem" {
            self.problems += bucket.calls;
        }
        self.duration_sum += bucket.duration_secs_sum;
        self.durations += bucket.durations;
        self.average_secs = (self.durations > 0).then(|| self.duration_sum / self.durations);
    }
}

/// The consent rate and what it leaves out.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentRate {
    pub given: i64,
    pub refused: i64,
    /// Calls without an answer to the consent question (hung up before it or never asked):
    /// not in the rate.
    pub unanswered: i64,
    /// given ÷ (given + refused), in whole percent; none without an answer.
    pub rate: Option<i64>,
    /// given ÷ all calls, in whole percent: what the rate would be counting every call.
    pub rate_of_all: Option<i64>,
}

impl ConsentRate {
    fn of(total: &GroupRow) -> Self {
        let answered = total.consent_given + total.consent_refused;
        let percent = |part: i64, whole: i64| (whole > 0).then(|| (part * 100 + whole / 2) / whole);
        Self {
            given: total.consent_given,
            refused: total.consent_refused,
            unanswered: total.calls - answered,
            rate: percent(total.consent_given, answered),
            rate_of_all: percent(total.consent_given, total.calls),
        }
    }
}

/// The period as the page names it.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodView {
    pub preset: Option<i64>,
    pub from: String,
    pub to: String,
    /// The first and last day in the page's language.
    pub first: String,
    pub last: String,
    pub days: i64,
    pub grain: Grain,
    /// The first and last day as dates for the form (`2026-11-25`).
    pub first_iso: String,
    pub last_iso: String,
    /// The days the top records are counted over, and whether that is less than the period.
    pub top_first: String,
    pub top_last: String,
    pub top_cut: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatsView {
    pub period: PeriodView,
    /// Calls per day, week or month; and per the next coarser unit beside, if any.
    pub over_time: Chart,
    pub coarser: Option<Chart>,
    pub by_hour: Chart,
    pub by_weekday: Chart,
    pub consent: Chart,
    pub handling: Chart,
    pub consent_rate: ConsentRate,
    /// Totals over the period.
    pub total: GroupRow,
    pub by_language: Vec<GroupRow>,
}

fn date(lang: Lang, day: i64) -> String {
    let (y, m, d) = ymd(day);
    i18n::date(lang, y, m, d)
}

fn text(lang: Lang, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    i18n::text(lang, id, args)
}

/// (axis label, table label) of a slot.
fn slot_labels(lang: Lang, grain: Grain, slot: &Slot) -> (String, String) {
    let range = if slot.first == slot.last {
        date(lang, slot.first)
    } else {
        format!("{} – {}", date(lang, slot.first), date(lang, slot.last))
    };
    match grain {
        Grain::Day => {
            let (_, m, d) = ymd(slot.first);
            let name = text(
                lang,
                "weekday-short",
                &[("day", FluentValue::from(weekday(slot.first)))],
            );
            (i18n::day_month(lang, m, d), format!("{name} {range}"))
        }
        Grain::Week => {
            let short = text(
                lang,
                "chart-week",
                &[("week", FluentValue::from(iso_week(slot.start)))],
            );
            let long = format!("{short}: {range}");
            (short, long)
        }
        Grain::Month => {
            let (y, m, _) = ymd(slot.start);
            let short = format!("{m:02}/{y}");
            let long = format!("{short}: {range}");
            (short, long)
        }
    }
}

impl StatsView {
    /// `buckets` and `hours` are the store's counts of the period's days (others are ignored).
    pub fn build(
        period: &Period,
        buckets: &[StatsBucket],
        hours: &[StatsHour],
        lang: Lang,
    ) -> Self {
        let inside = |day: i64| day >= period.first && day <= period.last;
        let mut per_day: BTreeMap<i64, (i64, i64, i64)> = BTreeMap::new();
        let mut total = GroupRow {
            name: "all".into(),
            ..GroupRow::default()
        };
        let mut languages: BTreeMap<String, GroupRow> = BTreeMap::new();
        let mut weekdays = [0i64; 7];
        for bucket in buckets.iter().filter(|b| inside(b.day)) {
            let day = per_day.entry(bucket.day).or_default();
            day.0 += bucket.calls;
            day.1 += bucket.duration_secs_sum;
            day.2 += bucket.durations;
            weekdays[weekday(bucket.day) as usize] += bucket.calls;
            total.add(bucket);
            let language = bucket.language.clone().unwrap_or_else(|| "unknown".into());
            languages
                .entry(language.clone())
                .or_insert_with(|| GroupRow {
                    name: language,
                    ..GroupRow::default()
                })
                .add(bucket);
        }
        let mut by_hour = [0i64; 24];
        for hour in hours.iter().filter(|h| inside(h.day)) {
            if let Some(slot) = by_hour.get_mut(hour.hour as usize) {
                *slot += hour.calls;
            }
        }
        let sum_of = |slot: &Slot| -> (i64, i64, i64) {
            per_day
                .range(slot.first..=slot.last)
                .fold((0, 0, 0), |acc, (_, v)| {
                    (acc.0 + v.0, acc.1 + v.1, acc.2 + v.2)
                })
        };
        let grain = period.grain();
        let over = |grain: Grain, id: &str| {
            let points = slots(period, grain)
                .iter()
                .map(|slot| {
                    let (short, long) = slot_labels(lang, grain, slot);
                    (short, long, sum_of(slot).0, slot.partial)
                })
                .collect();
            let (title, column) = match grain {
                Grain::Day => ("chart-per-day", "col-day"),
                Grain::Week => ("chart-per-week", "col-week"),
                Grain::Month => ("chart-per-month", "col-month"),
            };
            Chart::new(
                lang,
                id,
                text(lang, title, &[]),
                text(lang, column, &[]),
                points,
            )
        };
        let over_time = over(grain, "over-time");
        let coarser = grain.coarser().map(|coarser| over(coarser, "coarser"));
        let handling = {
            let points = slots(period, grain)
                .iter()
                .map(|slot| {
                    let (short, long) = slot_labels(lang, grain, slot);
                    let (_, sum, count) = sum_of(slot);
                    (
                        short,
                        long,
                        if count > 0 { sum / count } else { 0 },
                        slot.partial,
                    )
                })
                .collect();
            let title = match grain {
                Grain::Day => "chart-handling-day",
                Grain::Week => "chart-handling-week",
                Grain::Month => "chart-handling-month",
            };
            let column = match grain {
                Grain::Day => "col-day",
                Grain::Week => "col-week",
                Grain::Month => "col-month",
            };
            let mut chart = Chart::new(
                lang,
                "handling",
                text(lang, title, &[]),
                text(lang, column, &[]),
                points,
            );
            chart.value_column = text(lang, "col-seconds", &[]);
            chart
        };
        let by_hour = Chart::new(
            lang,
            "by-hour",
            text(lang, "chart-by-hour", &[]),
            text(lang, "col-hour", &[]),
            by_hour
                .iter()
                .enumerate()
                .map(|(hour, calls)| {
                    let long = format!("{hour:02}:00–{hour:02}:59");
                    (hour.to_string(), long, *calls, None)
                })
                .collect(),
        );
        let by_weekday = Chart::new(
            lang,
            "by-weekday",
            text(lang, "chart-by-weekday", &[]),
            text(lang, "col-weekday", &[]),
            weekdays
                .iter()
                .enumerate()
                .map(|(day, calls)| {
                    let day = FluentValue::from(day as i64);
                    (
                        text(lang, "weekday-short", &[("day", day.clone())]),
                        text(lang, "weekday-long", &[("day", day)]),
                        *calls,
                        None,
                    )
                })
                .collect(),
        );
        let consent_rate = ConsentRate::of(&total);
        let consent = Chart::new(
            lang,
            "consent",
            text(lang, "chart-consent", &[]),
            text(lang, "col-consent", &[]),
            [
                ("consent-given", consent_rate.given),
                ("consent-refused", consent_rate.refused),
                ("consent-unanswered", consent_rate.unanswered),
            ]
            .into_iter()
            .map(|(id, calls)| (text(lang, id, &[]), text(lang, id, &[]), calls, None))
            .collect(),
        );
        let mut by_language: Vec<GroupRow> = languages.into_values().collect();
        by_language.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.name.cmp(&b.name)));
        Self {
            period: PeriodView {
                preset: period.preset,
                from: period.from.clone(),
                to: period.to.clone(),
                first: date(lang, period.first),
                last: date(lang, period.last),
                days: period.days(),
                grain,
                first_iso: format_day(period.first),
                last_iso: format_day(period.last),
                top_first: date(lang, period.top_days().0),
                top_last: date(lang, period.top_days().1),
                top_cut: period.top_days().0 > period.first,
            },
            over_time,
            coarser,
            by_hour,
            by_weekday,
            consent,
            handling,
            consent_rate,
            total,
            by_language,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::format::{parse_day, Zone};
    use super::*;

    fn day(text: &str) -> i64 {
        parse_day(text).unwrap()
    }

    fn bucket(day: i64, language: &str, consent: Option<&str>, calls: i64) -> StatsBucket {
        StatsBucket {
            day,
            language: Some(language.into()),
            status: "completed".into(),
            consent: consent.map(Into::into),
            calls,
            duration_secs_sum: calls * 90,
            durations: calls,
        }
    }

    fn preset(days: i64, today: i64) -> Period {
        Period::parse(Some(days.to_string().as_str()), None, None, today).unwrap()
    }

    #[test]
    fn buckets_add_up_per_day_week_language_hour_and_consent() {
        // Wednesday 2026-11-25.
        let today = day("2026-11-25");
        let buckets = vec![
            bucket(today, "de-DE", Some("given"), 3),
            bucket(today, "en-US", Some("refused"), 1),
            bucket(today - 1, "de-DE", None, 2),
            // Older than 30 days: not counted.
            bucket(today - 40, "de-DE", Some("given"), 7),
        ];
        let hours = vec![
            StatsHour {
                day: today,
                hour: 9,
                calls: 4,
            },
            StatsHour {
                day: today - 1,
                hour: 23,
                calls: 2,
            },
            StatsHour {
                day: today - 40,
                hour: 9,
                calls: 7,
            },
        ];
        let view = StatsView::build(&preset(30, today), &buckets, &hours, Lang::En);
        let bars = &view.over_time.bars;
        assert_eq!(bars.len(), 30);
        assert_eq!(bars[29].value, 4);
        assert_eq!(bars[29].label, "25 Nov");
        assert_eq!(bars[29].partial, Some(Partial::Running));
        assert_eq!(bars[28].partial, None);
        assert_eq!(bars[28].value, 2);
        assert_eq!(bars[29].y, PLOT_TOP + PLOT_HEIGHT - bars[29].height);
        let weeks = view.coarser.as_ref().unwrap();
        // 27 Oct (Tuesday) … 25 Nov: the week of 26 Oct is cut, the week of 23 Nov runs.
        assert_eq!(weeks.bars.len(), 5);
        assert_eq!(weeks.bars[0].label, "week 44");
        assert_eq!(weeks.bars[0].partial, Some(Partial::Cut));
        assert_eq!(
            weeks.bars[0].long_label,
            "week 44: 27 Oct 2026 – 1 Nov 2026"
        );
        assert_eq!(weeks.bars[4].label, "week 48");
        assert_eq!(weeks.bars[4].partial, Some(Partial::Running));
        assert_eq!(weeks.bars[4].value, 6);
        assert_eq!(weeks.bars.iter().map(|b| b.value).sum::<i64>(), 6);
        assert_eq!(view.total.calls, 6);
        assert_eq!(view.by_hour.bars[9].value, 4);
        assert_eq!(view.by_hour.bars[23].value, 2);
        // Tuesday and Wednesday.
        assert_eq!(view.by_weekday.bars[1].value, 2);
        assert_eq!(view.by_weekday.bars[2].value, 4);
        assert_eq!(view.by_weekday.bars[2].label, "Wed");
        assert_eq!(view.consent_rate.given, 3);
        assert_eq!(view.consent_rate.unanswered, 2);
        // 3 of 4 who answered; 3 of all 6 calls.
        assert_eq!(view.consent_rate.rate, Some(75));
        assert_eq!(view.consent_rate.rate_of_all, Some(50));
        assert_eq!(view.consent.bars[2].value, 2);
        assert_eq!(view.by_language[0].name, "de-DE");
        assert_eq!(view.by_language[0].calls, 5);
        assert_eq!(view.total.average_secs, Some(90));
        assert_eq!(view.handling.bars[29].value, 90);
        assert_eq!(view.handling.bars[0].value, 0);
    }

    #[test]
    fn the_period_comes_from_a_preset_or_two_dates() {
        let today = day("2026-11-25");
        let p = Period::parse(None, None, None, today).unwrap();
        assert_eq!((p.first, p.last, p.preset), (today - 29, today, Some(30)));
        assert_eq!(preset(7, today).first, today - 6);
        assert_eq!(preset(7, today).top_days(), (today - 6, today));
        assert_eq!(preset(90, today).top_days(), (today - 6, today));
        assert_eq!(preset(365, today).grain(), Grain::Week);
        assert_eq!(preset(90, today).grain(), Grain::Day);
        let custom =
            Period::parse(Some("7"), Some("2026-01-01"), Some("2026-03-31"), today).unwrap();
        assert_eq!(custom.first, day("2026-01-01"));
        assert_eq!(custom.last, day("2026-03-31"));
        assert_eq!(custom.preset, None);
        assert_eq!(custom.top_days(), (day("2026-03-25"), day("2026-03-31")));
        let short = Period::parse(None, Some("2026-11-20"), Some("2026-11-21"), today).unwrap();
        assert_eq!(short.top_days(), (short.first, short.last));
        // A `to` after today ends today; without `to` the period ends today.
        let ahead = Period::parse(None, Some("2026-11-01"), Some("2027-01-01"), today).unwrap();
        assert_eq!(ahead.last, today);
        assert_eq!(
            Period::parse(None, Some("2026-11-01"), None, today)
                .unwrap()
                .last,
            today
        );
        let two_years = Period::parse(None, Some("2024-11-26"), None, today).unwrap();
        assert_eq!(two_years.grain(), Grain::Month);

        let refused = |days, from, to| {
            Period::parse(days, from, to, today)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused(Some("12"), None, None),
            "There is no period of “12” days: choose 7, 30, 90 or 365 days, or two dates."
        );
        assert!(refused(None, Some("31.12.2026"), None).contains("31.12.2026"));
        assert!(refused(None, Some("2026-02-30"), None).contains("2026-02-30"));
        assert!(refused(None, Some("2026-11-20"), Some("2026-11-10")).contains("after"));
        assert!(refused(None, None, Some("2026-11-10")).contains("From"));
        assert!(refused(None, Some("2026-12-01"), None).contains("future"));
        assert!(refused(None, Some("2020-01-01"), None).contains("1098"));
        // Three years exactly are allowed.
        assert!(Period::parse(None, Some("2023-11-29"), None, today).is_ok());
    }

    #[test]
    fn weeks_are_iso_calendar_weeks_across_a_year_boundary() {
        // Monday 2026-12-28 begins ISO week 53 of 2026, which ends on Sunday 2027-01-03.
        let today = day("2027-01-13");
        let period = Period::parse(None, Some("2026-12-30"), None, today).unwrap();
        let weeks = slots(&period, Grain::Week);
        let shown: Vec<(String, String, Option<Partial>)> = weeks
            .iter()
            .map(|s| (format_day(s.first), format_day(s.last), s.partial))
            .collect();
        assert_eq!(
            shown,
            [
                ("2026-12-30".into(), "2027-01-03".into(), Some(Partial::Cut)),
                ("2027-01-04".into(), "2027-01-10".into(), None),
                (
                    "2027-01-11".into(),
                    "2027-01-13".into(),
                    Some(Partial::Running)
                ),
            ]
        );
        assert_eq!(iso_week(weeks[0].start), 53);
        assert_eq!(iso_week(weeks[1].start), 1);
        let view = StatsView::build(&period, &[], &[], Lang::De);
        let labels: Vec<&str> = view
            .over_time
            .bars
            .iter()
            .map(|b| b.label.as_str())
            .collect();
        assert_eq!(labels[0], "30.12.");
        let weeks = view.coarser.unwrap();
        let labels: Vec<&str> = weeks.bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["KW 53", "KW 1", "KW 2"]);
        assert_eq!(weeks.bars[0].long_label, "KW 53: 30.12.2026 – 03.01.2027");
        // Months: December cut at the 30th, January running.
        let months = slots(&period, Grain::Month);
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].partial, Some(Partial::Cut));
        assert_eq!(months[1].partial, Some(Partial::Running));
        assert_eq!(format_day(months[1].last), "2027-01-13");
    }

    /// A week holding the change to summer time (Sunday 2026-03-29, 23 hours in Berlin) is
    /// still seven local days, Monday to Sunday, and the days' bounds follow the zone.
    #[test]
    fn weeks_span_a_dst_change_in_berlin() {
        let zone = Zone::named("Europe/Berlin").unwrap();
        let today = day("2026-04-08");
        let period = Period::parse(None, Some("2026-03-23"), Some("2026-04-05"), today).unwrap();
        let weeks = slots(&period, Grain::Week);
        assert_eq!(weeks.len(), 2);
        assert!(weeks.iter().all(|w| w.partial.is_none()), "{weeks:?}");
        let week = &weeks[0];
        assert_eq!(format_day(week.first), "2026-03-23");
        assert_eq!(format_day(week.last), "2026-03-29");
        assert_eq!(iso_week(week.start), 13);
        // Its local bounds: 7 × 24 hours less the hour skipped.
        let hours = (zone.day_start(week.last + 1) - zone.day_start(week.first)) / 3_600_000;
        assert_eq!(hours, 7 * 24 - 1);
        // A call at 23:30 UTC on Sunday 29 March is Monday 30 March, 01:30 in Berlin: week 14.
        let at =
            super::super::format::date_to_ms("2026-03-29").unwrap() + 23 * 3_600_000 + 1_800_000;
        let local = zone.day_of(at);
        assert_eq!(format_day(local), "2026-03-30");
        let buckets = vec![
            bucket(local, "de-DE", None, 1),
            bucket(week.last, "de-DE", None, 2),
        ];
        let view = StatsView::build(&period, &buckets, &[], Lang::En);
        let weeks = view.coarser.unwrap();
        assert_eq!(weeks.bars[0].value, 2);
        assert_eq!(weeks.bars[1].value, 1);
        assert_eq!(weeks.bars[1].label, "week 14");
    }

    #[test]
    fn the_y_axis_has_round_ticks() {
        assert_eq!(ticks(0), (1, 1));
        assert_eq!(ticks(1), (1, 1));
        assert_eq!(ticks(5), (1, 5));
        assert_eq!(ticks(7), (2, 8));
        assert_eq!(ticks(10), (2, 10));
        assert_eq!(ticks(52), (20, 60));
        assert_eq!(ticks(100), (20, 100));
        assert_eq!(ticks(101), (50, 150));
        assert_eq!(ticks(999), (200, 1000));
        assert_eq!(ticks(123_456), (50_000, 150_000));
        for max in 0..2000 {
            let (step, top) = ticks(max);
            assert!(
                top >= max && top / step <= MAX_TICKS && top % step == 0,
                "{max}"
            );
        }
        let chart = Chart::new(
            Lang::De,
            "t",
            "T".into(),
            "C".into(),
            vec![
                ("a".into(), "a".into(), 1234, None),
                ("b".into(), "b".into(), 0, None),
            ],
        );
        let labels: Vec<&str> = chart.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "500", "1.000", "1.500"]);
        // The top tick is the top of the plot; 1234 of 1500 is that share of its height.
        assert_eq!(chart.ticks[3].y, PLOT_TOP);
        assert_eq!(chart.bars[0].height, 1234 * PLOT_HEIGHT / 1500);
        assert!(
            chart.bars[0].x >= chart.left && chart.bars[1].x + chart.bars[1].width <= chart.right
        );
    }

    #[test]
    fn x_labels_thin_out_on_many_bars() {
        let today = day("2026-11-25");
        let view = StatsView::build(&preset(90, today), &[], &[], Lang::En);
        let shown: Vec<&Bar> = view
            .over_time
            .bars
            .iter()
            .filter(|b| b.show_label)
            .collect();
        assert!(shown.len() >= 4 && shown.len() <= 8, "{}", shown.len());
        // Labels far enough apart for the phone's font size.
        for pair in shown.windows(2) {
            assert!(
                pair[1].center - pair[0].center >= 6 * CHAR_UNITS,
                "{pair:?}"
            );
        }
        let hours = &view.by_hour.bars;
        assert!(hours.iter().filter(|b| b.show_label).count() >= 6);
        assert!(view.by_weekday.bars.iter().all(|b| b.show_label));
    }
}
