//! Small domain values shared by the runtime, the store and the web layer.

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
