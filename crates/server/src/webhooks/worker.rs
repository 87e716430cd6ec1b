//! Webhook workers: lease due messages (several nodes never hold the same one), deliver each
//! signed, record the attempt, and schedule the next one. A lease that runs out (a worker that
//! died mid-delivery) makes the message due again, so a restart loses nothing.

use roster_domain::types::OrgId;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use roster_domain::mail::{self, Mail};
use roster_domain::model::OutboxMessage;
use roster_domain::store::{Effects, Store, StoreError};
use roster_domain::types::{new_uuid7, now_micros, Micros};
use roster_domain::webhooks::{WebhookAttempt, WebhookJob, WebhookOutcome};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{sign, ssrf};

/// The delays before the second, third... attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule(pub Vec<Duration>);

impl Schedule {
    /// `5s,5m,30m,2h,5h,10h,10h` (units `ms`, `s`, `m`, `h`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (n, unit) = part.split_at(
                part.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(part.len()),
            );
            let n: u64 = n
                .parse()
                .map_err(|_| format!("'{part}' is not a delay like 5s or 30m"))?;
            out.push(match unit {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n * 60),
                "h" => Duration::from_secs(n * 3600),
                _ => return Err(format!("'{part}': the unit must be ms, s, m or h")),
            });
        }
        Ok(Self(out))
    }
}

/// How the workers deliver.
#[derive(Clone)]
pub struct WebhookWorkers {
    pub store: Arc<dyn Store>,
    pub schedule: Schedule,
    pub timeout: Duration,
    pub allow_private: bool,
    pub disable_after: i64,
    pub poll: Duration,
    /// Where a disabled endpoint's notice links (the public URL).
    pub public_url: String,
}

/// The largest response excerpt kept in the delivery log.
const EXCERPT: usize = 512;

impl WebhookWorkers {
    pub fn spawn(&self, n: usize, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        (0..n)
            .map(|_| {
                let this = self.clone();
                let stop = stop.clone();
                tokio::spawn(async move { this.run(format!("wh-{}", new_uuid7()), stop).await })
            })
            .collect()
    }

    async fn run(self, worker: String, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.deliver_due(&worker).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "webhooks: cannot claim messages"),
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Claims due messages and delivers them; false when none was due.
    pub async fn deliver_due(&self, worker: &str) -> Result<bool, StoreError> {
        let now = now_micros();
        // Long enough for the request (bounded by the timeout) and its bookkeeping; past it the
        // message is due again, which is how a node that died mid-delivery loses nothing.
        let lease = (self.timeout * 2 + Duration::from_secs(1)).as_micros() as i64;
        let jobs = self
            .store
            .claim_webhooks(worker, now, now + lease, 8)
            .await?;
        if jobs.is_empty() {
            return Ok(false);
        }
        let mut running = Vec::new();
        for job in jobs {
            let this = self.clone();
            let worker = worker.to_owned();
            running.push(tokio::spawn(
                async move { this.deliver(&worker, job).await },
            ));
        }
        for r in running {
            if let Ok(Err(e)) = r.await {
                tracing::warn!(error = %e, "webhooks: outcome not recorded");
            }
        }
        Ok(true)
    }

    async fn deliver(&self, worker: &str, job: WebhookJob) -> Result<(), StoreError> {
        let started = now_micros();
        let clock = Instant::now();
        let (Some(event), Some(endpoint)) = (&job.event, &job.endpoint) else {
            // Deleted, disabled, or past retention: nothing to send.
            let attempt = self.attempt(
                &job,
                started,
                None,
                Some("endpoint disabled or event gone".into()),
                0,
                String::new(),
            );
            self.store
                .finish_webhook(
                    &job,
                    worker,
                    &attempt,
                    &WebhookOutcome::Failed,
                    0,
                    Effects::default(),
                )
                .await?;
            return Ok(());
        };
        let id = format!("msg_{}", event.id);
        let body = serde_json::to_vec(&json!({
            "type": event.event_type,
            "timestamp": roster_domain::types::format_micros(event.occurred_at),
            "data": event.data,
        }))
        .map_err(|e| StoreError::Other(e.into()))?;
        let ts = started / 1_000_000;
        let signature = sign::header(&endpoint.signing_secrets(started), &id, ts, &body);
        let result = self.post(&endpoint.url, &id, ts, &signature, body).await;
        let latency = clock.elapsed().as_millis() as i64;
        let (outcome, status, error, excerpt) = match result {
            Ok((status, retry_after, excerpt)) => {
                let outcome = if (200..300).contains(&status) {
                    WebhookOutcome::Delivered
                } else if status == 410 {
                    WebhookOutcome::Gone
                } else {
                    let honoured = retry_after.filter(|_| status == 429 || status == 503);
                    self.next(job.attempt, honoured)
                };
                (outcome, Some(status as i64), None, excerpt)
            }
            Err(e) => (self.next(job.attempt, None), None, Some(e), String::new()),
        };
        let attempt = self.attempt(&job, started, status, error, latency, excerpt);
        let fx = self.disabled_notice(&job, &outcome).await;
        let (held, disabled) = self
            .store
            .finish_webhook(&job, worker, &attempt, &outcome, self.disable_after, fx)
            .await?;
        if !held {
            tracing::warn!(endpoint = %job.endpoint_id, seq = job.event_seq, "webhooks: lease lost before the outcome was recorded");
        }
        if disabled {
            tracing::warn!(org = %job.org_id, endpoint = %job.endpoint_id, "webhook endpoint disabled");
        }
        Ok(())
    }

    fn attempt(
        &self,
        job: &WebhookJob,
        started: Micros,
        status: Option<i64>,
        error: Option<String>,
        latency_ms: i64,
        response_excerpt: String,
    ) -> WebhookAttempt {
        WebhookAttempt {
            org_id: job.org_id.clone(),
            endpoint_id: job.endpoint_id.clone(),
            event_seq: job.event_seq,
            attempt: job.attempt,
            started_at: started,
            status_code: status,
            error,
            latency_ms,
            response_excerpt,
            event_id: None,
        }
    }

    /// After failed attempt number `attempt`: the next one on the schedule, with up to 10%
    /// jitter either way (or after the receiver's `Retry-After`), or none when it ran out.
    fn next(&self, attempt: i64, retry_after: Option<Duration>) -> WebhookOutcome {
        let Some(delay) = self.schedule.0.get(attempt.max(1) as usize - 1) else {
            return WebhookOutcome::Failed;
        };
        let delay = match retry_after {
            Some(r) => r.min(Duration::from_secs(24 * 3600)),
            None => {
                let jitter = delay.as_micros() as f64 * rand::thread_rng().gen_range(-0.1..=0.1);
                Duration::from_micros((delay.as_micros() as f64 + jitter).max(0.0) as u64)
            }
        };
        WebhookOutcome::Retry(now_micros() + delay.as_micros() as i64)
    }

    /// One request: the URL's host checked after resolution and pinned to the checked address,
    /// no redirects followed, bounded by the timeout. `(status, Retry-After, excerpt)`.
    async fn post(
        &self,
        url: &str,
        id: &str,
        ts: i64,
        signature: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Option<Duration>, String), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad url: {e}"))?;
        let host = parsed.host_str().ok_or("url has no host")?.to_owned();
        let port = parsed.port_or_known_default().ok_or("url has no port")?;
        let addr = ssrf::resolve(&host, port, self.allow_private).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .resolve(&host, addr)
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let resp = client
            .post(parsed)
            .header("content-type", "application/json")
            .header("user-agent", "Roster-Webhooks/1")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    format!("request failed: {e}")
                }
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut excerpt = Vec::new();
        let mut resp = resp;
        while excerpt.len() < EXCERPT {
            match tokio::time::timeout(self.timeout, resp.chunk()).await {
                Ok(Ok(Some(c))) => excerpt.extend_from_slice(&c),
                _ => break,
            }
        }
        excerpt.truncate(EXCERPT);
        Ok((
            status,
            retry_after,
            String::from_utf8_lossy(&excerpt).into_owned(),
        ))
    }

    /// The emails to the organization's administrators, queued if this attempt disables the
    /// endpoint (the store writes them only then).
    async fn disabled_notice(&self, job: &WebhookJob, outcome: &WebhookOutcome) -> Effects {
        let reason = match outcome {
            WebhookOutcome::Gone => "the receiver answered 410 Gone".to_owned(),
            _ => format!("{} failed attempts in a row", self.disable_after),
        };
        let Some(endpoint) = job
            .endpoint
            .as_ref()
            .filter(|_| *outcome != WebhookOutcome::Delivered)
        else {
            return Effects::default();
        };
        let admins = match self.administrators(&job.org_id).await {
            Ok(users) => users,
            Err(e) => {
                tracing::warn!(error = %e, org = %job.org_id, "webhooks: cannot list the administrators to tell");
                return Effects::default();
            }
        };
        let mut fx = Effects::default();
        for u in admins
            .iter()
            .filter(|u| u.is_admin && u.status == roster_domain::model::UserStatus::Active)
        {
            let told = Mail::WebhookDisabled(mail::WebhookDisabled {
                url: endpoint.url.clone(),
                endpoint_id: endpoint.id.clone(),
                org: job.org_id.clone(),
                org_name: job.org_id.clone(),
                first_name: u.first_name.clone(),
                reason: reason.clone(),
                link: format!("{}/docs", self.public_url),
            });
            let language = u.preferences.preferred_language.as_deref().unwrap_or("eng");
            fx.outbox.push(OutboxMessage::queued(
                &job.org_id,
                told,
                &u.email,
                language,
                now_micros(),
            ));
        }
        fx
    }
}

impl WebhookWorkers {
    /// The organization's active administrators: the users holding a role that makes them
    /// one (what `is_admin` records), however many other users the organization has.
    async fn administrators(
        &self,
        org_id: &str,
    ) -> Result<Vec<roster_domain::model::User>, StoreError> {
        let role_ids: Vec<String> = self
            .store
            .list_roles(&OrgId::from(org_id))
            .await?
            .into_iter()
            .filter(|r| r.is_admin)
            .map(|r| r.id)
            .collect();
        let mut q = roster_domain::paging::UserQuery::new(1000);
        q.exclude_inactive = true;
        q.visibility = roster_domain::paging::Visibility::Only {
            user_ids: Vec::new(),
            role_ids,
        };
        self.store.list_users(&OrgId::from(org_id), &q).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse() {
        assert_eq!(
            Schedule::parse("5s, 5m,2h,100ms").expect("parses").0,
            [
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(7200),
                Duration::from_millis(100)
            ]
        );
        assert!(Schedule::parse("5x").is_err());
        assert!(Schedule::parse("s").is_err());
    }
}
