//! Delivery of the outbox: workers lease due messages, render and send them, and record the
//! outcome, retrying transient failures with exponential backoff. A lease that runs out (its
//! worker died) makes the message due again, so nothing queued is lost across a restart.

use roster_domain::types::OrgId;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use rand::Rng;
use roster_domain::clock::Clock;
use roster_domain::model::OutboxMessage;
use roster_domain::store::{Delivery, Store, StoreError};
use roster_domain::types::new_uuid7;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::templates::render;
use super::transport::{SendError, Transport};
use crate::metrics::{MailOutcome, Metrics};

/// Composes messages and hands them to the transport.
pub struct Mailer {
    pub transport: Transport,
    from: Mailbox,
    /// The right-hand side of Message-IDs: the sender's domain.
    domain: String,
}

impl Mailer {
    pub fn new(transport: Transport, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("ROSTER_MAIL_FROM '{from}' is not an address: {e}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport,
            from,
            domain,
        })
    }

    /// The MIME message of an outbox entry. Its Message-ID is made from the outbox id, so a
    /// message delivered twice (a lease that ran out mid-send) is recognisably the same one.
    pub fn compose(&self, m: &OutboxMessage) -> Result<Message, SendError> {
        let permanent = |message: String| SendError {
            permanent: true,
            message,
        };
        let kind = m
            .mail_kind()
            .ok_or_else(|| permanent(format!("no template for the kind '{}'", m.kind)))?;
        let rendered =
            render(kind, &m.language, &m.payload).map_err(|e| permanent(e.to_string()))?;
        let to: Mailbox = m
            .recipient
            .parse()
            .map_err(|e| permanent(format!("recipient '{}': {e}", m.recipient)))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(format!("<{}@{}>", m.id, self.domain)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                rendered.language.to_owned(),
            ))
            .date_now()
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| permanent(e.to_string()))
    }

    pub async fn deliver(&self, m: &OutboxMessage) -> Result<(), SendError> {
        let message = self.compose(m)?;
        self.transport.send(&m.id, &message).await
    }
}

/// How failed deliveries are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles with each further one.
    pub base: Duration,
    pub max_wait: Duration,
    /// Attempts after which a message is given up.
    pub max_attempts: i64,
    /// How long a worker holds a message it is sending.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(30),
            max_wait: Duration::from_secs(6 * 3600),
            max_attempts: 10,
            // Longer than lettre's per-command timeout (60 s) several times over.
            lease: Duration::from_secs(10 * 60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, with up to 10% jitter so retries spread out.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exp = attempts.clamp(1, 30) as u32 - 1;
        let wait = self
            .base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.max_wait);
        let jitter = rand::thread_rng().gen_range(0.0..0.1);
        wait + wait.mul_f64(jitter)
    }
}

/// The outbox's delivery side: claims, sends, records.
#[derive(Clone)]
pub struct Outbox {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<Mailer>,
    pub policy: RetryPolicy,
    pub poll: Duration,
    /// Where deliveries and failures are counted.
    pub metrics: Arc<Metrics>,
    /// What "due" and "retry in 30 s" are measured by (the core's clock).
    pub clock: Clock,
}

impl Outbox {
    /// Starts `n` workers; each stops, after finishing the message in hand, once `stop` turns true.
    pub fn spawn(&self, n: usize, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        (0..n)
            .map(|_| {
                let this = self.clone();
                let stop = stop.clone();
                tokio::spawn(async move { this.run(format!("w-{}", new_uuid7()), stop).await })
            })
            .collect()
    }

    async fn run(self, worker: String, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.deliver_one(&worker).await {
                // Another may be due right away.
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "outbox: cannot claim messages"),
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Claims one due message and delivers it; false when none was due.
    pub async fn deliver_one(&self, worker: &str) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let lease_until = now + self.policy.lease.as_micros() as i64;
        let Some(m) = self
            .store
            .claim_outbox(worker, now, lease_until, 1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(false);
        };
        let outcome = match self.mailer.deliver(&m).await {
            Ok(()) => {
                tracing::info!(org = %m.org_id, id = %m.id, kind = %m.kind, "email sent");
                self.metrics.mail(MailOutcome::Sent);
                Delivery::Sent {
                    at: self.clock.now(),
                }
            }
            Err(e) if e.permanent || m.attempts >= self.policy.max_attempts => {
                tracing::error!(org = %m.org_id, id = %m.id, kind = %m.kind, attempts = m.attempts, error = %e.message, "email given up");
                self.metrics.mail(MailOutcome::GivenUp);
                Delivery::Failed { error: e.message }
            }
            Err(e) => {
                let wait = self.policy.backoff(m.attempts);
                tracing::warn!(org = %m.org_id, id = %m.id, kind = %m.kind, attempts = m.attempts, retry_in_secs = wait.as_secs(), error = %e.message, "email not sent; will retry");
                self.metrics.mail(MailOutcome::Retry);
                Delivery::Retry {
                    at: self.clock.now() + wait.as_micros() as i64,
                    error: e.message,
                }
            }
        };
        if !self
            .store
            .finish_outbox(&OrgId::from(&m.org_id), &m.id, worker, &outcome)
            .await?
        {
            tracing::warn!(org = %m.org_id, id = %m.id, "outbox: lease lost before the outcome was recorded");
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: &str, recipient: &str) -> OutboxMessage {
        OutboxMessage {
            org_id: "acme".into(),
            id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
            kind: kind.into(),
            recipient: recipient.into(),
            language: "xx".into(),
            payload: serde_json::json!({ "first_name": "Ana", "org_name": "Acme", "link": "https://r.example/l?token=t" }),
            status: "sending".into(),
            attempts: 1,
            created_at: 0,
        }
    }

    #[test]
    fn composing_names_the_message_and_refuses_what_can_never_be_sent() {
        let files = Transport::Files {
            dir: "unused".into(),
        };
        let mailer = Mailer::new(files, "Roster <no-reply@r.example>").expect("sender");
        let m = mailer
            .compose(&message("magic_link", "ana@example.com"))
            .expect("composes");
        let raw = String::from_utf8(m.formatted()).expect("utf-8");
        assert!(raw.contains("Message-ID: <0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@r.example>"));
        assert!(
            raw.contains("Content-Language: en"),
            "unknown languages fall back to English"
        );
        for bad in [
            message("nope", "ana@example.com"),
            message("magic_link", "not an address"),
        ] {
            assert!(mailer.compose(&bad).is_err_and(|e| e.permanent));
        }
        let files = Transport::Files {
            dir: "unused".into(),
        };
        assert!(Mailer::new(files, "nobody").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let first = p.backoff(1);
        assert!(first >= Duration::from_secs(30) && first <= Duration::from_secs(33));
        let third = p.backoff(3);
        assert!(third >= Duration::from_secs(120) && third <= Duration::from_secs(132));
        assert!(p.backoff(40) <= Duration::from_secs(6 * 3600 + 2160));
    }
}
