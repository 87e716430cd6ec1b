//! eva's error bodies: `StandardError` (timestamp, errorCode, errorType, message, path) and, for
//! field errors, `ValidationError` with `details` of `{fieldName, message, errorCode}`.

use axum::http::StatusCode;
use roster_domain::{Error, Location};
use serde_json::{json, Value};

/// The status and body of a domain error on the eva surface.
pub fn render(e: &Error, path: &str) -> (StatusCode, Value) {
    let (status, message) = match e {
        // A bad query, path or header parameter is a malformed request; a bad body is 422.
        Error::Validation(items) if items.iter().all(|i| i.location != Location::Body) => (
            StatusCode::BAD_REQUEST,
            "Request has invalid parameters".to_owned(),
        ),
        Error::Validation(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Request has invalid fields".to_owned(),
        ),
        Error::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
        Error::NotFound(what) => (StatusCode::NOT_FOUND, format!("The {what} was not found")),
        Error::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
        Error::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "Full authentication is required to access this resource".to_owned(),
        ),
        Error::Forbidden(m) => (StatusCode::FORBIDDEN, format!("Access denied: {m}")),
        Error::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
        Error::RateLimited {
            limit_per_minute, ..
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Rate limit of {limit_per_minute} requests per minute exceeded"),
        ),
        Error::Unavailable { cause, .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            cause.message().trim_end_matches('.').to_owned(),
        ),
        Error::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unexpected error".to_owned(),
        ),
    };
    let error_type = if status.is_server_error() {
        "API_ERROR"
    } else {
        "USER_ERROR"
    };
    let mut body = json!({
        "timestamp": chrono::Utc::now().timestamp_millis(),
        "errorCode": format!("USER-{}", status.as_u16()),
        "errorType": error_type,
        "message": message,
        "path": path,
    });
    if let Error::Validation(items) = e {
        body["details"] = Value::Array(
            items
                .iter()
                .map(|i| json!({ "fieldName": i.field_name(), "message": i.message, "errorCode": i.code.to_uppercase() }))
                .collect(),
        );
    }
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_validation_errors() {
        let (s, b) = render(&Error::NotFound("user"), "/org/x/users/y");
        assert_eq!(s, StatusCode::NOT_FOUND);
        for f in ["timestamp", "errorCode", "errorType", "message", "path"] {
            assert!(b.get(f).is_some(), "{f}");
        }
        assert_eq!(b["path"], "/org/x/users/y");
        let (s, b) = render(
            &Error::field(Location::Body, "passwordConfirmation", "mismatch", "no"),
            "/p",
        );
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(b["details"][0]["fieldName"], "passwordConfirmation");
        let (s, _) = render(
            &Error::field(Location::Query, "page", "int_parsing", "no"),
            "/p",
        );
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, b) = render(&Error::Internal(anyhow::anyhow!("secret")), "/p");
        assert_eq!(
            (s.as_u16(), b["errorType"].as_str()),
            (500, Some("API_ERROR"))
        );
        assert!(!b.to_string().contains("secret"));
    }
}
