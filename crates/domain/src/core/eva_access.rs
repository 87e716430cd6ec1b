//! A user's eva environments and bots changed alone, as the console's form does: checked as
//! eva's update checks them, without what that update also rewrites (the name, the status and
//! the organization role).

use serde_json::json;

use super::access::{Context, Rank};
use super::eva::*;
use super::Core;
use crate::error::{Error, Problems, Result};
use crate::permissions::perm;
use crate::store::Effects;
use crate::types::UserId;

impl Core {
    /// Replaces a user's environments and bots, leaving their status, organization role and
    /// names as they are. The catalogue, permission and rank rules are eva's update's; an
    /// inactive environment or bot the user already holds may be kept, not newly given.
    /// Written in one transaction with its `user.update` audit.
    pub async fn set_user_environments(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        environments: Vec<EnvInput>,
    ) -> Result<EvaUser> {
        let (org, mut user) = self.eva_target(ctx, org_ref, user_id).await?;
        let access = ctx.access(&org)?;
        let current = self.held_access(&org.id, &user.id).await?;
        let catalog = self.catalog(&org.id).await?;
        let mut p = Problems::default();
        let envs = catalog.check_into(user.is_admin, &environments, &current, &mut p);
        p.finish()?;
        let roles = self.store.list_roles(&org.id).await?;
        self.require_write_ranked(&access, perm::USER_UPDATE, &user, &roles, Rank::Appoint)?;
        // The rank asked is that of the role eva would give this access, as in eva's update.
        let role = org_role(&roles, user.is_admin, &envs).ok_or(Error::NotFound("role"))?;
        self.require_access_change(&access, role, true, &current, &envs)?;
        let held: Vec<&str> = envs.iter().map(|e| e.environment_uuid.as_str()).collect();
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.update",
            Some(&user.id),
            json!({ "environments": held }),
        ));
        // The row moves on with its access, so a write that read it before (eva's update, its
        // optimistic check) is refused as stale instead of undoing this one, and a user removed
        // meanwhile is not given access.
        let expected = user.updated_at;
        user.updated_at = self.now().max(expected + 1);
        self.store
            .set_env_access(&user, expected, &envs, fx)
            .await?;
        self.eva_get(ctx, &org.id, user_id).await
    }
}
