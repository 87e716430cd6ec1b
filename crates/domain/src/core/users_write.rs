//! Changes to users of an organization: update, delete, variables.

use crate::types::UserId;
use serde_json::json;

use super::access::{Context, Rank};
use super::users::*;
use super::Core;
use crate::error::{Error, FieldError, Problems, Result};
use crate::permissions::perm;
use crate::store::Effects;
use crate::types::*;

impl Core {
    pub async fn update_user(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        u: UserUpdate,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        if let Some(f) = &u.first_name {
            nonempty(&mut p, "first_name", f);
        }
        if let Some(l) = &u.last_name {
            nonempty(&mut p, "last_name", l);
        }
        if let Settable::Set(lang) = &u.preferred_language {
            p.check(
                validate_iso639_3(lang)
                    .map_err(|m| FieldError::body("preferred_language", "enum", m)),
            );
        }
        if let Settable::Set(tz) = &u.timezone {
            p.check(validate_timezone(tz).map_err(|m| FieldError::body("timezone", "enum", m)));
        }
        if let Some(ctxs) = &u.additional_context {
            for (i, c) in ctxs.iter().enumerate() {
                nonempty(&mut p, &format!("additional_context.{i}"), c);
            }
        }
        if let Some(terms) = &u.audio_keyterms {
            if terms.len() > 20 {
                p.push(FieldError::body(
                    "audio_keyterms",
                    "too_long",
                    "audio_keyterms may hold at most 20 items",
                ));
            }
            for (i, t) in terms.iter().enumerate().filter(|(_, t)| !keyterm_ok(t)) {
                p.push(FieldError::body(
                    &format!("audio_keyterms.{i}"),
                    "string_pattern_mismatch",
                    format!("'{t}' must match ^[a-z-]+( [a-z-]+){{0,2}}$"),
                ));
            }
        }
        p.finish()?;
        let mut user = self.target_user(&org.id, user_id).await?;
        let roles = self.roles(&org.id).await?;
        self.require_write_on(&access, perm::USER_UPDATE, &user, &roles)?;
        // Whether administrators see the user's model and conversations is the person's own
        // choice: only they (or a platform administrator, audited as such) change it.
        let mut privacy = serde_json::Map::new();
        let current = &user.preferences;
        for (field, wanted, now) in [
            (
                "conversations_visible_to_admins",
                u.conversations_visible_to_admins,
                current.conversations_visible_to_admins,
            ),
            (
                "user_model_visible_to_admins",
                u.user_model_visible_to_admins,
                current.user_model_visible_to_admins,
            ),
        ] {
            if let Some(v) = wanted.filter(|v| *v != now) {
                privacy.insert(field.into(), json!(v));
            }
        }
        let is_self = access.user_id() == Some(user.id.as_str());
        if !privacy.is_empty() && !is_self && !access.is_platform() {
            return Err(Error::forbidden(
                "only the user chooses whether administrators see their user model and conversations",
            ));
        }
        // The person, not whoever holds a key that signs in as them.
        if !privacy.is_empty() && is_self {
            ctx.require_owner_session()?;
        }
        let was = user.status;
        let expected = user.updated_at;
        if let Some(f) = u.first_name {
            user.first_name = f.trim().to_owned();
        }
        if let Some(l) = u.last_name {
            user.last_name = l.trim().to_owned();
        }
        let prefs = &mut user.preferences;
        if let Some(v) = u.enable_response_recommendation {
            prefs.enable_response_recommendation = v;
        }
        match u.preferred_language {
            Settable::Keep => {}
            Settable::Clear => prefs.preferred_language = None,
            Settable::Set(v) => prefs.preferred_language = Some(v),
        }
        match u.timezone {
            Settable::Keep => {}
            Settable::Clear => prefs.timezone = None,
            Settable::Set(v) => prefs.timezone = Some(v),
        }
        if let Some(v) = u.conversations_visible_to_admins {
            prefs.conversations_visible_to_admins = v;
        }
        if let Some(v) = u.user_model_visible_to_admins {
            prefs.user_model_visible_to_admins = v;
        }
        if let Some(v) = u.audio_keyterms {
            prefs.audio_keyterms = v;
        }
        if let Some(v) = u.additional_context {
            user.additional_context = v.into_iter().map(|s| s.trim().to_owned()).collect();
        }
        user.updated_at = self.now().max(expected + 1);
        let mut fx =
            Effects::audit(self.audit(ctx, &org.id, "user.update", Some(&user.id), json!({})));
        if !privacy.is_empty() && !is_self {
            fx.audit.push(self.audit(
                ctx,
                &org.id,
                "user.privacy_override",
                Some(&user.id),
                serde_json::Value::Object(privacy),
            ));
        }
        let sessions_end = super::instructions::sessions_end(was, user.status);
        self.store
            .update_user(&user, expected, sessions_end, fx)
            .await?;
        Ok(())
    }

    pub async fn delete_user(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
    ) -> Result<DeleteOutcome> {
        self.delete_user_ranked(ctx, org_ref, user_id, Rank::Outrank)
            .await
    }

    /// [`Core::delete_user`] under the given rank rule.
    pub(crate) async fn delete_user_ranked(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        rank: Rank,
    ) -> Result<DeleteOutcome> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let user = self.target_user(&org.id, user_id).await?;
        let roles = self.roles(&org.id).await?;
        self.require_write_ranked(&access, perm::USER_DELETE, &user, &roles, rank)?;
        let soft = (user.stats.num_conversations > 0)
            .then(|| vec!["the user has conversation history, which is retained".to_owned()]);
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.delete",
            Some(&user.id),
            json!({ "soft": soft.is_some() }),
        ));
        self.store
            .delete_user(&org.id, &user.id, soft.clone(), self.now(), fx)
            .await?;
        Ok(soft.map_or(DeleteOutcome::Hard, DeleteOutcome::Soft))
    }

    pub async fn modify_variables(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        ch: VariableChanges,
    ) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        for (i, (name, value, _)) in ch.upserts.iter().enumerate() {
            if !variable_name_ok(name) {
                p.push(FieldError::body(
                    &format!("upserts.{i}.name"),
                    "string_pattern_mismatch",
                    "variable names must match ^[a-z_][a-z0-9_]+$",
                ));
            }
            if value.is_empty() || value.chars().count() > 255 {
                p.push(FieldError::body(
                    &format!("upserts.{i}.value"),
                    "string_too_long",
                    "value must be 1 to 255 characters",
                ));
            }
            if ch.deletes.contains(name) {
                p.push(FieldError::body(
                    &format!("upserts.{i}.name"),
                    "value_error",
                    format!("variable '{name}' is both upserted and deleted"),
                ));
            }
        }
        for (i, name) in ch
            .deletes
            .iter()
            .enumerate()
            .filter(|(_, n)| !variable_name_ok(n))
        {
            p.push(FieldError::body(
                &format!("deletes.{i}.name"),
                "string_pattern_mismatch",
                format!("'{name}' must match ^[a-z_][a-z0-9_]+$"),
            ));
        }
        p.finish()?;
        let user = self.target_user(&org.id, user_id).await?;
        let roles = self.roles(&org.id).await?;
        self.require_write_on(&access, perm::USER_UPDATE, &user, &roles)?;
        let names: Vec<&String> = ch.upserts.iter().map(|u| &u.0).collect();
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "user.variables",
            Some(&user.id),
            json!({ "upserted": names, "deleted": ch.deletes }),
        ));
        self.store
            .modify_variables(
                &org.id,
                &user.id,
                &ch.upserts,
                &ch.deletes,
                MAX_VARIABLES,
                fx,
            )
            .await?;
        Ok(())
    }
}
