//! Webhook endpoints: what an organization subscribes, and the records of their delivery.

use crate::types::Micros;

/// One organization's webhook endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub org_id: String,
    pub id: String,
    pub url: String,
    pub description: String,
    /// Event types delivered; empty: every type.
    pub types: Vec<String>,
    pub enabled: bool,
    /// Why Roster disabled it (410, a run of failures); `None` when enabled or disabled by hand.
    pub disabled_reason: Option<String>,
    /// `whsec_<base64>`; signs every delivery.
    pub secret: String,
    /// The secret before the last rotation, which also signs until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<Micros>,
    /// Failed attempts since the last success.
    pub failure_run: i64,
    pub created_at: Micros,
    pub updated_at: Micros,
}

impl WebhookEndpoint {
    /// The secrets that sign a delivery at `now`: the current one, and the previous one while
    /// its overlap lasts.
    pub fn signing_secrets(&self, now: Micros) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(p), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if now < until {
                out.push(p);
            }
        }
        out
    }

    /// The type filter as stored: `,a,b,` (`''` for every type).
    pub fn types_column(&self) -> String {
        if self.types.is_empty() {
            String::new()
        } else {
            format!(",{},", self.types.join(","))
        }
    }
}

/// A message leased for delivery: one event for one endpoint.
#[derive(Debug, Clone)]
pub struct WebhookJob {
    pub org_id: String,
    pub endpoint_id: String,
    pub event_seq: i64,
    /// Attempts so far, this one included.
    pub attempt: i64,
    /// The event; `None` when retention removed it.
    pub event: Option<crate::events::Event>,
    /// The endpoint; `None` when deleted or disabled since the message was queued.
    pub endpoint: Option<WebhookEndpoint>,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookOutcome {
    Delivered,
    /// Due again at this time.
    Retry(Micros),
    /// Given up: the schedule ran out, or nothing can be delivered.
    Failed,
    /// The receiver answered 410: the message is given up and the endpoint disabled.
    Gone,
}

/// One line of an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAttempt {
    pub org_id: String,
    pub endpoint_id: String,
    pub event_seq: i64,
    pub attempt: i64,
    pub started_at: Micros,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    /// The response body's first bytes.
    pub response_excerpt: String,
    /// The event's id (`webhook-id` without `msg_`), filled when read back.
    pub event_id: Option<String>,
}

/// A fresh signing secret: `whsec_` and 24 random bytes in base64, as Standard Webhooks writes them.
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}
