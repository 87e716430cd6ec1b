//! Webhook endpoints of an organization: create, read, change, delete, rotate the secret, read
//! the delivery log, replay. Writes need `Organization:ModifyOrganization`; reads need
//! `Audit:GetAuditEvents` (what a delivery carries is what the feed shows).

use crate::types::OrgId;
use serde_json::json;

use super::access::Context;
use super::Core;
use crate::error::{Error, FieldError, Problems, Result};
use crate::events::EVENT_TYPES;
use crate::model::Organization;
use crate::permissions::perm;
use crate::store::Effects;
use crate::types::{new_uuid7, Micros};
use crate::webhooks::{new_secret, WebhookAttempt, WebhookEndpoint};

/// Longest overlap of a rotated secret: a week.
pub const MAX_OVERLAP_SECS: i64 = 7 * 24 * 3600;
/// Endpoints one organization may have.
pub const MAX_WEBHOOKS_PER_ORG: usize = 20;

/// The fields of a create or a change; `None` leaves a field as it is (a create's defaults:
/// every type, enabled, no description).
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

fn check_url(url: &str, p: &mut Problems) -> String {
    let u = url.trim();
    let ok = u.len() <= 2048
        && (u.starts_with("https://") || u.starts_with("http://"))
        && u.split("://").nth(1).is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.contains('@') && !u.chars().any(char::is_whitespace)
        });
    if !ok {
        p.push(FieldError::body(
            "url",
            "value_error",
            "url must be an absolute http or https URL of at most 2048 characters, without credentials",
        ));
    }
    u.to_owned()
}

fn check_types(types: &[String], p: &mut Problems) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in types {
        let t = t.trim();
        if !EVENT_TYPES.contains(&t) {
            p.push(FieldError::body(
                "types",
                "value_error",
                format!(
                    "unknown event type '{}'",
                    t.chars().take(64).collect::<String>()
                ),
            ));
        } else if !out.iter().any(|x| x == t) {
            out.push(t.to_owned());
        }
    }
    out
}

fn check_description(d: &str, p: &mut Problems) -> String {
    if d.chars().count() > 500 {
        p.push(FieldError::body(
            "description",
            "string_too_long",
            "description must be at most 500 characters",
        ));
    }
    d.trim().to_owned()
}

impl Core {
    async fn webhook_org(&self, ctx: &Context, org_ref: &str, write: bool) -> Result<Organization> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        access.require_org(if write {
            perm::ORG_MODIFY
        } else {
            perm::AUDIT_GET
        })?;
        Ok(org)
    }

    /// A new endpoint; its secret is returned here only.
    pub async fn create_webhook(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: WebhookInput,
    ) -> Result<WebhookEndpoint> {
        let org = self.webhook_org(ctx, org_ref, true).await?;
        let mut p = Problems::default();
        let url = match &input.url {
            Some(u) => check_url(u, &mut p),
            None => {
                p.push(FieldError::body("url", "missing", "Field required"));
                String::new()
            }
        };
        let types = check_types(input.types.as_deref().unwrap_or(&[]), &mut p);
        let description = check_description(input.description.as_deref().unwrap_or(""), &mut p);
        p.finish()?;
        if self.store.list_webhooks(&org.id).await?.len() >= MAX_WEBHOOKS_PER_ORG {
            return Err(Error::BadRequest(format!(
                "an organization has at most {MAX_WEBHOOKS_PER_ORG} webhook endpoints"
            )));
        }
        let now = self.now();
        let endpoint = WebhookEndpoint {
            org_id: org.id.to_string(),
            id: new_uuid7(),
            url,
            description,
            types,
            enabled: input.enabled.unwrap_or(true),
            disabled_reason: None,
            secret: new_secret(),
            previous_secret: None,
            previous_secret_until: None,
            failure_run: 0,
            created_at: now,
            updated_at: now,
        };
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "webhook.create",
            None,
            json!({ "webhook_id": endpoint.id, "url": endpoint.url }),
        ));
        self.store.insert_webhook(&endpoint, fx).await?;
        Ok(endpoint)
    }

    pub async fn list_webhooks(
        &self,
        ctx: &Context,
        org_ref: &str,
    ) -> Result<Vec<WebhookEndpoint>> {
        let org = self.webhook_org(ctx, org_ref, false).await?;
        Ok(self.store.list_webhooks(&org.id).await?)
    }

    pub async fn get_webhook(
        &self,
        ctx: &Context,
        org_ref: &str,
        id: &str,
    ) -> Result<WebhookEndpoint> {
        let org = self.webhook_org(ctx, org_ref, false).await?;
        self.store
            .get_webhook(&org.id, id)
            .await?
            .ok_or(Error::NotFound("webhook"))
    }

    /// Changes the fields given. Enabling an endpoint clears its failure run.
    pub async fn update_webhook(
        &self,
        ctx: &Context,
        org_ref: &str,
        id: &str,
        input: WebhookInput,
    ) -> Result<WebhookEndpoint> {
        let org = self.webhook_org(ctx, org_ref, true).await?;
        let mut w = self
            .store
            .get_webhook(&org.id, id)
            .await?
            .ok_or(Error::NotFound("webhook"))?;
        let mut p = Problems::default();
        if let Some(u) = &input.url {
            w.url = check_url(u, &mut p);
        }
        if let Some(t) = &input.types {
            w.types = check_types(t, &mut p);
        }
        if let Some(d) = &input.description {
            w.description = check_description(d, &mut p);
        }
        p.finish()?;
        if let Some(e) = input.enabled {
            if e && !w.enabled {
                w.failure_run = 0;
            }
            w.enabled = e;
            w.disabled_reason = None;
        }
        w.updated_at = self.now();
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "webhook.update",
            None,
            json!({ "webhook_id": w.id }),
        ));
        self.store.update_webhook(&w, fx).await?;
        Ok(w)
    }

    pub async fn delete_webhook(&self, ctx: &Context, org_ref: &str, id: &str) -> Result<()> {
        let org = self.webhook_org(ctx, org_ref, true).await?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "webhook.delete",
            None,
            json!({ "webhook_id": id }),
        ));
        self.store.delete_webhook(&org.id, id, fx).await?;
        Ok(())
    }

    /// A new secret; the old one keeps signing (both signatures are sent) for `overlap_secs`.
    pub async fn rotate_webhook_secret(
        &self,
        ctx: &Context,
        org_ref: &str,
        id: &str,
        overlap_secs: Option<i64>,
    ) -> Result<WebhookEndpoint> {
        let org = self.webhook_org(ctx, org_ref, true).await?;
        let overlap = overlap_secs.unwrap_or(24 * 3600);
        if !(0..=MAX_OVERLAP_SECS).contains(&overlap) {
            return Err(Error::Validation(vec![FieldError::body(
                "overlap_secs",
                "value_error",
                format!("overlap_secs must be between 0 and {MAX_OVERLAP_SECS}"),
            )]));
        }
        let mut w = self
            .store
            .get_webhook(&org.id, id)
            .await?
            .ok_or(Error::NotFound("webhook"))?;
        let now = self.now();
        w.previous_secret = Some(std::mem::replace(&mut w.secret, new_secret()));
        w.previous_secret_until = Some(now + overlap * 1_000_000);
        w.updated_at = now;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "webhook.rotate_secret",
            None,
            json!({ "webhook_id": w.id }),
        ));
        self.store.update_webhook(&w, fx).await?;
        Ok(w)
    }

    /// The endpoint's most recent delivery attempts, newest first.
    pub async fn webhook_attempts(
        &self,
        ctx: &Context,
        org_ref: &str,
        id: &str,
        limit: u32,
    ) -> Result<Vec<WebhookAttempt>> {
        let w = self.get_webhook(ctx, org_ref, id).await?;
        Ok(self
            .store
            .list_webhook_attempts(&OrgId::from(&w.org_id), &w.id, limit)
            .await?)
    }

    /// Queues again, for this endpoint, one event (by id) or every event since a time; returns
    /// how many messages were queued. Each keeps its `webhook-id`.
    pub async fn replay_webhook(
        &self,
        ctx: &Context,
        org_ref: &str,
        id: &str,
        event_id: Option<String>,
        since: Option<String>,
    ) -> Result<u64> {
        let org = self.webhook_org(ctx, org_ref, true).await?;
        let w = self
            .store
            .get_webhook(&org.id, id)
            .await?
            .ok_or(Error::NotFound("webhook"))?;
        let since: Option<Micros> = match since.as_deref() {
            None => None,
            Some(s) => Some(
                chrono::DateTime::parse_from_rfc3339(s.trim())
                    .map(|t| t.timestamp_micros())
                    .map_err(|_| {
                        Error::Validation(vec![FieldError::body(
                            "since",
                            "datetime_parsing",
                            "since must be an RFC 3339 date and time",
                        )])
                    })?,
            ),
        };
        if since.is_some() == event_id.is_some() {
            return Err(Error::Validation(vec![FieldError::body(
                "event_id",
                "missing",
                "give exactly one of event_id and since",
            )]));
        }
        Ok(self
            .store
            .replay_webhook(&org.id, &w.id, event_id.as_deref(), since, self.now())
            .await?)
    }
}
