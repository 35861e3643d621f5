//! Small domain values shared by the call state machine, the store and the web layer: what
//! a call's status is, a consent answer, a stored record as a turn asks for it and sees it.

use serde::{Deserialize, Serialize};

/// Where a call stands, as the dashboard shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    InProgress,
    Processed,
    Completed,
    Problem,
}

impl CallStatus {
    pub const ALL: [CallStatus; 4] = [
        CallStatus::InProgress,
        CallStatus::Processed,
        CallStatus::Completed,
        CallStatus::Problem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Processed => "processed",
            Self::Completed => "completed",
            Self::Problem => "problem",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The statuses staff may give a call (dashboard, API): every one but `in_progress`, which
    /// only the call itself has while it runs — a call set back to it would look live for ever.
    pub const SET_BY_STAFF: [CallStatus; 3] = [
        CallStatus::Processed,
        CallStatus::Completed,
        CallStatus::Problem,
    ];

    /// Whether staff may give a call this status.
    pub fn settable_by_staff(self) -> bool {
        Self::SET_BY_STAFF.contains(&self)
    }
}

/// The caller's answer to a consent question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    Given,
    Refused,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Refused => "refused",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "given" => Some(Self::Given),
            "refused" => Some(Self::Refused),
            _ => None,
        }
    }
}

/// A stored record the turn needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRequest {
    pub kind: String,
    pub key: String,
    /// Create the record with this status if it does not exist (save-or-find).
    pub create_with_status: Option<String>,
}

/// A stored record as the turn sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    pub id: i64,
    pub status: String,
}
