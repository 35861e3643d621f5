//! `/stats` as numbers and SVG bar charts, computed from day buckets. Pure: tested here.

use std::collections::BTreeMap;

use serde::Serialize;

use super::format::format_day;
use liza_store::admin::StatsBucket;

/// Days shown per day (and used for consent, languages, handling time).
pub const DAYS: i64 = 30;
/// Days the records called about most often are counted over.
pub const TOP_DAYS: i64 = 7;
/// Weeks shown per week.
pub const WEEKS: i64 = 12;

const CHART_WIDTH: i64 = 720;
const CHART_HEIGHT: i64 = 180;

/// One bar, with its geometry already in SVG user units.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// Only some bars carry an axis label, so the labels do not overlap.
    pub show_label: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub title: String,
    pub width: i64,
    pub height: i64,
    pub max: i64,
    pub bars: Vec<Bar>,
}

impl Chart {
    fn new(title: &str, points: Vec<(String, i64)>, label_every: usize) -> Self {
        let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0);
        let slot = CHART_WIDTH / (points.len().max(1) as i64);
        let bars = points
            .into_iter()
            .enumerate()
            .map(|(i, (label, value))| {
                let height = if max > 0 {
                    value * CHART_HEIGHT / max
                } else {
                    0
                };
                Bar {
                    show_label: i % label_every.max(1) == 0,
                    label,
                    value,
                    x: i as i64 * slot + 1,
                    y: CHART_HEIGHT - height,
                    width: (slot - 2).max(1),
                    height,
                }
            })
            .collect();
        Self {
            title: title.to_owned(),
            width: CHART_WIDTH,
            height: CHART_HEIGHT,
            max,
            bars,
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

#[derive(Debug, Clone, Serialize)]
pub struct StatsView {
    pub days: i64,
    pub weeks: i64,
    pub per_day: Chart,
    pub per_week: Chart,
    pub consent: Chart,
    pub handling: Chart,
    /// Totals over the last `days` days.
    pub total: GroupRow,
    pub by_language: Vec<GroupRow>,
    pub top_days: i64,
}

impl StatsView {
    /// `buckets` cover the last `WEEKS` weeks up to and including day `today`.
    pub fn build(buckets: &[StatsBucket], today: i64) -> Self {
        let first_day = today - DAYS + 1;
        let mut per_day: BTreeMap<i64, i64> = (first_day..=today).map(|d| (d, 0)).collect();
        // Calendar weeks from Monday; the last one is this week, still running.
        let first_week_day = super::week_start(today) - (WEEKS - 1) * 7;
        let mut per_week = vec![0i64; WEEKS as usize];
        let mut total = GroupRow {
            name: "all".into(),
            ..GroupRow::default()
        };
        let mut languages: BTreeMap<String, GroupRow> = BTreeMap::new();
        let mut handling: BTreeMap<i64, (i64, i64)> =
            (first_day..=today).map(|d| (d, (0, 0))).collect();
        for bucket in buckets {
            if bucket.day >= first_week_day && bucket.day <= today {
                per_week[((bucket.day - first_week_day) / 7) as usize] += bucket.calls;
            }
            if bucket.day < first_day || bucket.day > today {
                continue;
            }
            *per_day.entry(bucket.day).or_default() += bucket.calls;
            total.add(bucket);
            let language = bucket.language.clone().unwrap_or_else(|| "unknown".into());
            languages
                .entry(language.clone())
                .or_insert_with(|| GroupRow {
                    name: language,
                    ..GroupRow::default()
                })
                .add(bucket);
            let day = handling.entry(bucket.day).or_default();
            day.0 += bucket.duration_secs_sum;
            day.1 += bucket.durations;
        }
        let per_day = Chart::new(
            "Calls per day",
            per_day
                .into_iter()
                .map(|(day, calls)| (format_day(day)[5..].to_owned(), calls))
                .collect(),
            5,
        );
        let per_week = Chart::new(
            "Calls per week",
            per_week
                .into_iter()
                .enumerate()
                .map(|(i, calls)| {
                    (
                        format_day(first_week_day + i as i64 * 7)[5..].to_owned(),
                        calls,
                    )
                })
                .collect(),
            2,
        );
        let unanswered = total.calls - total.consent_given - total.consent_refused;
        let consent = Chart::new(
            "Consent",
            vec![
                ("given".into(), total.consent_given),
                ("refused".into(), total.consent_refused),
                ("no answer".into(), unanswered),
            ],
            1,
        );
        let handling = Chart::new(
            "Average handling time per day (seconds)",
            handling
                .into_iter()
                .map(|(day, (sum, count))| {
                    (
                        format_day(day)[5..].to_owned(),
                        if count > 0 { sum / count } else { 0 },
                    )
                })
                .collect(),
            5,
        );
        let mut by_language: Vec<GroupRow> = languages.into_values().collect();
        by_language.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.name.cmp(&b.name)));
        Self {
            days: DAYS,
            weeks: WEEKS,
            per_day,
            per_week,
            consent,
            handling,
            total,
            by_language,
            top_days: TOP_DAYS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn buckets_add_up_per_day_week_language_and_consent() {
        let today = 20_000;
        let buckets = vec![
            bucket(today, "de-DE", Some("given"), 3),
            bucket(today, "en-US", Some("refused"), 1),
            bucket(today - 1, "de-DE", None, 2),
            // Older than 30 days: only in the weekly chart.
            bucket(today - 40, "de-DE", Some("given"), 7),
        ];
        let view = StatsView::build(&buckets, today);
        assert_eq!(view.per_day.bars.len(), 30);
        assert_eq!(view.per_day.bars[29].value, 4);
        assert_eq!(view.per_day.bars[28].value, 2);
        assert_eq!(view.per_day.bars[29].height, CHART_HEIGHT);
        assert_eq!(view.per_week.bars.len(), 12);
        assert_eq!(view.per_week.bars.iter().map(|b| b.value).sum::<i64>(), 13);
        assert_eq!(view.per_week.bars[11].value, 6);
        assert_eq!(view.total.calls, 6);
        assert_eq!(view.total.consent_given, 3);
        assert_eq!(view.consent.bars[2].value, 2);
        assert_eq!(view.by_language[0].name, "de-DE");
        assert_eq!(view.by_language[0].calls, 5);
        assert_eq!(view.total.average_secs, Some(90));
        assert_eq!(view.handling.bars[29].value, 90);
        assert_eq!(view.handling.bars[0].value, 0);
    }
}
