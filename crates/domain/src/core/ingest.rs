//! Ingestion: what the conversation platform writes about users (statistics, user models,
//! memories) and its environments and bots. Service-to-service callers only.

use crate::types::UserId;
use serde_json::json;

use super::access::Context;
use super::Core;
use crate::error::{Error, FieldError, Location, Problems, Result};
use crate::model::*;
use crate::store::Effects;
use crate::types::*;

impl Core {
    /// Ingestion: the conversation platform's figures for a user.
    pub async fn ingest_stats(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        stats: UserStats,
    ) -> Result<()> {
        let org = self.ingest_org(ctx, org_ref).await?;
        for (field, n) in [
            ("num_conversations", stats.num_conversations),
            ("num_messages", stats.num_messages),
        ] {
            if n < 0 {
                return Err(Error::field(
                    Location::Body,
                    field,
                    "greater_than_equal",
                    format!("{field} must not be negative"),
                ));
            }
        }
        let user = self.target_user(&org.id, user_id).await?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "ingest.user_stats",
            Some(&user.id),
            json!({}),
        ));
        self.store
            .set_user_stats(&org.id, &user.id, &stats, fx)
            .await?;
        Ok(())
    }

    pub async fn ingest_user_model(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        content: String,
        insight_ids: Vec<String>,
        dimensions: Vec<Dimension>,
    ) -> Result<UserModel> {
        let org = self.ingest_org(ctx, org_ref).await?;
        if content.trim().is_empty() {
            return Err(Error::field(
                Location::Body,
                "content",
                "string_too_short",
                "content must not be empty",
            ));
        }
        let user = self.target_user(&org.id, user_id).await?;
        let model = UserModel {
            org_id: org.id.to_string(),
            user_id: user.id.to_string(),
            id: new_object_id(),
            content,
            insight_ids,
            dimensions,
            created_at: self.now(),
        };
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "ingest.user_model",
            Some(&user.id),
            json!({ "id": model.id }),
        ));
        self.store.insert_user_model(&model, fx).await?;
        Ok(model)
    }

    /// Memories given as `(conversation_id, references, content, context)`.
    pub async fn ingest_memories(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        items: Vec<(String, Vec<String>, String, String)>,
    ) -> Result<Vec<Memory>> {
        let org = self.ingest_org(ctx, org_ref).await?;
        let mut p = Problems::default();
        if items.is_empty() || items.len() > 500 {
            p.push(FieldError::body(
                "memories",
                "too_long",
                "give 1 to 500 memories",
            ));
        }
        for (i, (conv, _, content, _)) in items.iter().enumerate() {
            if !is_object_id(conv) {
                p.push(FieldError::body(
                    &format!("memories.{i}.conversation_id"),
                    "string_pattern_mismatch",
                    "conversation_id must match ^[a-f0-9]{24}$",
                ));
            }
            if content.trim().is_empty() {
                p.push(FieldError::body(
                    &format!("memories.{i}.content"),
                    "string_too_short",
                    "content must not be empty",
                ));
            }
        }
        p.finish()?;
        let user = self.target_user(&org.id, user_id).await?;
        let now = self.now();
        let memories: Vec<Memory> = items
            .into_iter()
            .enumerate()
            .map(
                |(i, (conversation_id, references, content, context))| Memory {
                    org_id: org.id.to_string(),
                    user_id: user.id.to_string(),
                    id: new_object_id(),
                    conversation_id,
                    references,
                    content,
                    context,
                    created_at: now + i as i64,
                },
            )
            .collect();
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "ingest.memories",
            Some(&user.id),
            json!({ "count": memories.len() }),
        ));
        self.store.insert_memories(&memories, fx).await?;
        Ok(memories)
    }

    pub(crate) async fn ingest_org(&self, ctx: &Context, org_ref: &str) -> Result<Organization> {
        if !matches!(ctx.actor, super::Actor::Service | super::Actor::System) {
            return Err(Error::Unauthenticated);
        }
        self.find_org(org_ref).await
    }

    /// Ingestion: an environment of the conversation platform.
    pub async fn ingest_environment(
        &self,
        ctx: &Context,
        org_ref: &str,
        uuid: &str,
        name: &str,
        active: bool,
    ) -> Result<()> {
        let org = self.ingest_org(ctx, org_ref).await?;
        if uuid.trim().is_empty() || name.trim().is_empty() {
            return Err(Error::field(
                Location::Body,
                "name",
                "missing",
                "uuid and name are required",
            ));
        }
        let env = Environment {
            org_id: org.id.to_string(),
            uuid: uuid.into(),
            name: name.trim().into(),
            active,
        };
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "ingest.environment",
            None,
            json!({ "uuid": uuid }),
        ));
        Ok(self.store.upsert_environment(&env, self.now(), fx).await?)
    }

    pub async fn ingest_bot(
        &self,
        ctx: &Context,
        org_ref: &str,
        uuid: &str,
        environment_uuid: &str,
        name: &str,
        active: bool,
    ) -> Result<()> {
        let org = self.ingest_org(ctx, org_ref).await?;
        if name.trim().is_empty() {
            return Err(Error::field(
                Location::Body,
                "name",
                "missing",
                "name is required",
            ));
        }
        if !self
            .store
            .list_environments(&org.id)
            .await?
            .iter()
            .any(|e| e.uuid == environment_uuid)
        {
            return Err(Error::NotFound("environment"));
        }
        let bot = Bot {
            org_id: org.id.to_string(),
            uuid: uuid.into(),
            environment_uuid: environment_uuid.into(),
            name: name.trim().into(),
            active,
        };
        let fx =
            Effects::audit(self.audit(ctx, &org.id, "ingest.bot", None, json!({ "uuid": uuid })));
        Ok(self.store.upsert_bot(&bot, self.now(), fx).await?)
    }
}
