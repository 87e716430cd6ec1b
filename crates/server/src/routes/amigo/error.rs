//! Amigo's error bodies (shared by org-user-management and ingestion), FastAPI style: `{"detail": "..."}`, and for 422 a list of
//! `{"loc", "msg", "type"}` items. 5xx bodies are opaque; the cause goes to the log.

use axum::http::StatusCode;
use roster_domain::{Error, FieldError, Location};
use serde_json::{json, Value};

fn loc(e: &FieldError) -> Value {
    let head = match e.location {
        Location::Body => "body",
        Location::Query => "query",
        Location::Path => "path",
        Location::Header => "header",
    };
    let mut items = vec![Value::from(head)];
    items.extend(
        e.path
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| match p.parse::<u64>() {
                Ok(i) => Value::from(i),
                Err(_) => Value::from(p.as_str()),
            }),
    );
    Value::Array(items)
}

/// A core message as a sentence: capitalized, with a full stop.
fn sentence(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(f) => format!(
            "{}{}{}",
            f.to_uppercase(),
            c.as_str(),
            if m.ends_with('.') { "" } else { "." }
        ),
        None => String::new(),
    }
}

/// The status and body of a domain error on this surface.
pub fn render(e: &Error, _path: &str) -> (StatusCode, Value) {
    let detail = |s: &str| json!({ "detail": s });
    match e {
        Error::Validation(items) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "detail": items.iter().map(|i| json!({ "loc": loc(i), "msg": i.message, "type": i.code })).collect::<Vec<_>>() }),
        ),
        Error::BadRequest(m) => (StatusCode::BAD_REQUEST, detail(m)),
        // An unmatched path reads as FastAPI's own answer to one.
        Error::NotFound("route") => (StatusCode::NOT_FOUND, detail("Not Found")),
        Error::NotFound(what) => (StatusCode::NOT_FOUND, detail(&format!("The specified {what} does not exist."))),
        Error::Conflict(m) => (StatusCode::CONFLICT, detail(m)),
        Error::Unauthenticated => (StatusCode::UNAUTHORIZED, detail("Invalid authorization credentials.")),
        Error::Forbidden(m) => (StatusCode::FORBIDDEN, detail(&sentence(m))),
        Error::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, detail(m)),
        Error::RateLimited { limit_per_minute, .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            detail(&format!("The user has exceeded the rate limit of {limit_per_minute} requests per minute for this endpoint.")),
        ),
        Error::Unavailable { cause, .. } => (StatusCode::SERVICE_UNAVAILABLE, detail(cause.message())),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, detail("Internal server error.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_status_and_shape() {
        let cases = [
            (
                Error::field(Location::Body, "user_preferences.timezone", "enum", "bad"),
                422,
            ),
            (Error::BadRequest("x".into()), 400),
            (Error::NotFound("user"), 404),
            (Error::Conflict("x".into()), 409),
            (Error::Unauthenticated, 401),
            (Error::forbidden("x"), 403),
            (
                Error::RateLimited {
                    retry_after_secs: 3,
                    limit_per_minute: 5,
                },
                429,
            ),
            (
                Error::Unavailable {
                    retry_after_secs: 3,
                    cause: roster_domain::error::Unavailability::Database,
                },
                503,
            ),
            (Error::Internal(anyhow::anyhow!("secret cause")), 500),
        ];
        for (e, status) in cases {
            let (s, body) = render(&e, "/v1/acme/user/");
            assert_eq!(s.as_u16(), status);
            assert!(body.get("detail").is_some());
            assert!(
                !body.to_string().contains("secret cause"),
                "5xx bodies stay opaque"
            );
        }
        let (_, body) = render(
            &Error::field(Location::Body, "user_preferences.timezone", "enum", "bad"),
            "/v1/acme/user/",
        );
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "user_preferences", "timezone"])
        );
    }
}
