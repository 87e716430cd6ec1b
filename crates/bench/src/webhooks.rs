//! Webhook throughput: the events a bulk import emits, how fast they reach a receiver on
//! loopback, and how much slower the import is when an endpoint subscribes to them.
//!
//! Each round imports the same number of rows into two fresh organizations of the same size,
//! one without a webhook endpoint and one with an endpoint on the bench's own receiver
//! (`receiver.rs`); the order alternates between rounds so that drift in the machine's load
//! falls on both sides. The import with an endpoint also queues one webhook message per row
//! in its transaction; its deliveries are awaited before anything else runs, so that they never
//! compete with an import being timed.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::load::{send, OpResult};
use crate::receiver::Receiver;
use crate::server::{Bootstrapped, Server};
use crate::{data, Bench};

/// What the webhook rounds measured (medians over the rounds).
#[derive(Debug, Clone, Serialize)]
pub struct WebhookFigures {
    pub rows: usize,
    pub rounds: usize,
    /// `user.created` events in the feed of the last organization with an endpoint.
    pub events_emitted: usize,
    /// Distinct `webhook-id`s the receiver got from that organization.
    pub events_delivered: usize,
    pub import_without_endpoint_secs: f64,
    pub import_with_endpoint_secs: f64,
    /// Import time with an endpoint over import time without (median of the rounds' ratios).
    pub import_slowdown: f64,
    /// From the import's answer to the last event's arrival at the receiver.
    pub delivery_secs: f64,
    pub delivered_per_sec: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

impl Bench {
    pub(crate) async fn webhooks(&mut self, server: &Server) -> anyhow::Result<()> {
        let rows = self.opts.webhook_rows;
        if rows == 0 || self.opts.webhook_rounds == 0 {
            return Ok(());
        }
        let rx = Receiver::start().await?;
        let (mut off, mut on, mut ratios, mut delivery) = (vec![], vec![], vec![], vec![]);
        let (mut emitted, mut delivered) = (0, 0);
        for round in 0..self.opts.webhook_rounds {
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            let mut secs = [0.0f64; 2];
            for with_endpoint in order {
                let name = format!("hooks{round}{}", if with_endpoint { "on" } else { "off" });
                let org = server.bootstrap(&name).await?;
                let token = self.sign_in(&org, &org.admin_id).await?;
                self.environment(&org, &token).await?;
                if with_endpoint {
                    self.endpoint(&org, &token, &rx.url).await?;
                }
                let before = rx.counts().0;
                let csv = data::bulk_csv(
                    &format!("{name}.bench.example"),
                    0,
                    rows,
                    (&self.env.0, &self.env.1),
                    None,
                );
                let t = Instant::now();
                let out = self.bulk_create(&org, &token, csv).await?;
                let answered = Instant::now();
                secs[with_endpoint as usize] = (answered - t).as_secs_f64();
                self.check_applied(&format!("webhooks: import into {name}"), rows, &out);
                if !with_endpoint {
                    continue;
                }
                // A bound for a broken build, not a measure: 60 s and 20 ms per event.
                let bound = Duration::from_secs(60) + Duration::from_millis(20 * rows as u64);
                let last = rx.wait_for(before + rows, bound).await;
                delivered = rx.counts().0 - before;
                if let Some(last) = last {
                    delivery.push(last.saturating_duration_since(answered).as_secs_f64());
                }
                emitted = self.count_events(&org, &token, "user.created").await?;
            }
            off.push(secs[0]);
            on.push(secs[1]);
            ratios.push(secs[1] / secs[0].max(1e-9));
        }
        let (_, _, unsigned) = rx.counts();
        self.check("webhooks: events emitted by the import", rows, emitted);
        self.check("webhooks: events delivered", rows, delivered);
        self.check("webhooks: deliveries without a signature", 0, unsigned);
        let figures = WebhookFigures {
            rows,
            rounds: self.opts.webhook_rounds,
            events_emitted: emitted,
            events_delivered: delivered,
            import_without_endpoint_secs: median(off),
            import_with_endpoint_secs: median(on),
            import_slowdown: median(ratios),
            delivery_secs: median(delivery),
            delivered_per_sec: 0.0,
        };
        let delivered_per_sec = rows as f64 / figures.delivery_secs.max(1e-9);
        for (name, secs, unit, count) in [
            (
                "webhooks: bulk_create, no endpoint",
                figures.import_without_endpoint_secs,
                "rows/s",
                rows,
            ),
            (
                "webhooks: bulk_create, an endpoint",
                figures.import_with_endpoint_secs,
                "rows/s",
                rows,
            ),
            (
                "webhooks: delivered (after import)",
                figures.delivery_secs,
                "evt/s",
                delivered,
            ),
        ] {
            self.push(OpResult {
                name: name.into(),
                concurrency: 1,
                requests: count,
                errors: 0,
                throughput: count as f64 / secs.max(1e-9),
                p50_ms: secs * 1000.0,
                p90_ms: secs * 1000.0,
                p99_ms: secs * 1000.0,
                unit,
                ..OpResult::default()
            });
        }
        self.report.webhooks = Some(WebhookFigures {
            delivered_per_sec,
            ..figures
        });
        Ok(())
    }

    /// An endpoint of `org` for every `user.created`, on the bench's receiver.
    async fn endpoint(&self, org: &Bootstrapped, token: &str, url: &str) -> anyhow::Result<()> {
        send(
            self.client
                .post(self.url(&format!("/admin/v1/orgs/{}/webhooks", org.org_id)))
                .bearer_auth(token)
                .json(&json!({ "url": url, "types": ["user.created"], "description": "bench" })),
        )
        .await
        .map_err(|e| anyhow::anyhow!("webhook endpoint: {e}"))?;
        Ok(())
    }

    /// The events of one type in `org`'s feed, read page by page.
    async fn count_events(
        &self,
        org: &Bootstrapped,
        token: &str,
        event_type: &str,
    ) -> anyhow::Result<usize> {
        let (mut after, mut n) = ("0".to_owned(), 0);
        loop {
            let page = send(
                self.client
                    .get(self.url(&format!(
                        "/admin/v1/orgs/{}/events?types={event_type}&limit=1000&after={after}",
                        org.org_id
                    )))
                    .bearer_auth(token),
            )
            .await
            .map_err(|e| anyhow::anyhow!("event feed: {e}"))?;
            let got = page["events"].as_array().map_or(0, Vec::len);
            if got == 0 {
                return Ok(n);
            }
            n += got;
            after = page["next"].as_str().unwrap_or_default().to_owned();
        }
    }
}
