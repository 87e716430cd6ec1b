//! The domain error: one enum that each surface maps to its own error body.

use serde::Serialize;

/// Where a bad value was found; each surface renders it in its own error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Body,
    Query,
    Path,
    Header,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub location: Location,
    /// Path of the field inside its location, e.g. `["user_preferences", "timezone"]`.
    pub path: Vec<String>,
    pub message: String,
    /// A stable machine code in pydantic's vocabulary (`missing`, `string_too_short`, `value_error`...).
    pub code: &'static str,
}

impl FieldError {
    pub fn new(
        location: Location,
        field: &str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            location,
            path: field.split('.').map(str::to_owned).collect(),
            message: message.into(),
            code,
        }
    }

    pub fn body(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Location::Body, field, code, message)
    }

    pub fn query(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Location::Query, field, code, message)
    }

    /// The dotted name of the field, for surfaces that want one string.
    pub fn field_name(&self) -> String {
        self.path.join(".")
    }
}

/// Why a request could not be served now; each surface says it in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailability {
    /// The operator switched maintenance mode on.
    Maintenance,
    /// The database cannot be reached, or is busy or read-only.
    Database,
    /// Too much password hashing at once.
    Busy,
}

impl Unavailability {
    /// A sentence for the response body.
    pub fn message(self) -> &'static str {
        match self {
            Self::Maintenance => "The service is going through temporary maintenance.",
            Self::Database => "The service is temporarily unavailable; try again shortly.",
            Self::Busy => "The server is busy; try again shortly.",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {}", .0.iter().map(|e| format!("{}: {}", e.field_name(), e.message)).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    /// A request that is well formed but not acceptable (a limit reached, a state that forbids it).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid authorization credentials")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("rate limit exceeded")]
    RateLimited {
        retry_after_secs: u64,
        limit_per_minute: u32,
    },
    #[error("service unavailable: {cause:?}")]
    Unavailable {
        retry_after_secs: u64,
        cause: Unavailability,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn field(
        location: Location,
        field: &str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::Validation(vec![FieldError::new(location, field, code, message)])
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// The same error with every field error passed through `f` (a surface's own names).
    pub fn map_fields(self, f: impl Fn(&mut FieldError)) -> Self {
        match self {
            Self::Validation(mut errors) => {
                errors.iter_mut().for_each(f);
                Self::Validation(errors)
            }
            other => other,
        }
    }

    /// The same error with the core's field `field` named as a surface reads it: a surface
    /// whose request carries a value somewhere else (a header, a differently named field) says
    /// so in its own words, and the core keeps Roster's names.
    pub fn field_moved(self, field: &str, location: Location, wire_name: &str) -> Self {
        match self {
            Self::Validation(mut errors) => {
                for e in errors.iter_mut().filter(|e| e.field_name() == field) {
                    e.location = location;
                    e.path = wire_name.split('.').map(str::to_owned).collect();
                }
                Self::Validation(errors)
            }
            other => other,
        }
    }
}

/// Collects field errors so that one response reports every bad field at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// Runs a check and keeps its error, returning the value when it passed.
    pub fn check<T>(&mut self, r: std::result::Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}
