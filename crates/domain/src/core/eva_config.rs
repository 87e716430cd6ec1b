//! eva-user configurations: per-user (and per-bot) key-value settings of the caller.

use super::access::Context;
use super::Core;
use crate::error::{Error, Location, Result};
use crate::model::*;
use crate::types::OrgId;
use crate::types::UserId;

impl Core {
    fn config_target(&self, ctx: &Context, org: &Organization) -> Result<String> {
        let p = ctx.principal().ok_or(Error::Unauthenticated)?;
        if p.org_id != org.id {
            return Err(Error::forbidden(
                "the organization in the path is not the token's",
            ));
        }
        Ok(p.user_id.clone())
    }

    async fn check_bot(&self, org_id: &OrgId, bot: Option<&str>) -> Result<()> {
        if let Some(b) = bot {
            if !self
                .store
                .list_bots(org_id)
                .await?
                .iter()
                .any(|x| x.uuid == b)
            {
                return Err(Error::NotFound("bot"));
            }
        }
        Ok(())
    }

    /// Stores one of the caller's own configuration values (per bot when `bot_uuid` is given).
    pub async fn set_configuration(
        &self,
        ctx: &Context,
        org_ref: &str,
        c: Configuration,
    ) -> Result<Configuration> {
        let org = self.find_org(org_ref).await?;
        let user = self.config_target(ctx, &org)?;
        if c.key.trim().is_empty() {
            return Err(Error::field(
                Location::Body,
                "key",
                "missing",
                "key must not be blank",
            ));
        }
        for (field, len, max) in [
            ("key", c.key.len(), 512),
            ("value", c.value.len(), 64 * 1024),
        ] {
            if len > max {
                return Err(Error::field(
                    Location::Body,
                    field,
                    "too_long",
                    format!("{field} must be at most {max} bytes"),
                ));
            }
        }
        self.check_bot(&org.id, c.bot_uuid.as_deref()).await?;
        self.store
            .set_configuration(&org.id, &UserId::from(&user), &c, self.now())
            .await?;
        Ok(c)
    }

    pub async fn configurations(
        &self,
        ctx: &Context,
        org_ref: &str,
        bot: Option<&str>,
    ) -> Result<Vec<Configuration>> {
        let org = self.find_org(org_ref).await?;
        let user = self.config_target(ctx, &org)?;
        self.check_bot(&org.id, bot).await?;
        Ok(self
            .store
            .configurations(&org.id, &UserId::from(&user), bot)
            .await?)
    }

    pub async fn has_configuration(
        &self,
        ctx: &Context,
        org_ref: &str,
        bot: Option<&str>,
        key: &str,
    ) -> Result<bool> {
        if key.trim().is_empty() {
            return Err(Error::field(
                Location::Query,
                "key",
                "missing",
                "key is required",
            ));
        }
        Ok(self
            .configurations(ctx, org_ref, bot)
            .await?
            .iter()
            .any(|c| c.key == key))
    }
}
