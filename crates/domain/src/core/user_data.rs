//! What Roster keeps about a user besides the account: the user model and memories.

use super::access::{names_of, Context};
use super::users::*;
use super::Core;
use crate::error::{Error, FieldError, Problems, Result};
use crate::model::*;
use crate::paging::*;
use crate::permissions::perm;
use crate::types::UserId;
use crate::types::*;

impl Core {
    pub async fn get_user_model(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
    ) -> Result<(Vec<UserModel>, Vec<String>)> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let user = self.target_user(&org.id, user_id).await?;
        let roles = self.roles(&org.id).await?;
        let names = names_of(&roles, &user.role_ids);
        let target = access.target(&user, &names);
        access.require_on(perm::USER_GET_MODEL, &target)?;
        if !target.is_self
            && !user.preferences.user_model_visible_to_admins
            && !access.is_platform()
        {
            return Err(Error::forbidden(
                "the user's user model is not visible to administrators",
            ));
        }
        let models = self.store.latest_user_models(&org.id, &user.id, 10).await?;
        Ok((models, user.additional_context))
    }

    /// Memories the caller may read: none without `Conversation:GetMessage` on the user, or when
    /// the user keeps conversations from administrators.
    pub async fn get_memories(
        &self,
        ctx: &Context,
        org_ref: &str,
        user_id: &UserId,
        input: MemoriesInput,
    ) -> Result<Page<Memory>> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let mut p = Problems::default();
        if input.limit > 50 {
            p.push(FieldError::query(
                "limit",
                "less_than_equal",
                "limit must be between 0 and 50",
            ));
        }
        for (name, ids) in [
            ("id", &input.ids),
            ("conversation_id", &input.conversation_ids),
        ] {
            if ids.len() > MAX_FILTER_VALUES {
                p.push(FieldError::query(
                    name,
                    "too_long",
                    format!("at most {MAX_FILTER_VALUES} {name} values"),
                ));
            }
            for bad in ids.iter().filter(|i| !is_object_id(i)) {
                p.push(FieldError::query(
                    name,
                    "string_pattern_mismatch",
                    format!("'{bad}' must match ^[a-f0-9]{{24}}$"),
                ));
            }
        }
        let sort = p.check(
            parse_sort(&input.sort_by, MEMORY_SORT_FIELDS)
                .map_err(|m| FieldError::query("sort_by", "value_error", m)),
        );
        p.finish()?;
        let sort = sort.unwrap_or_default();
        let user = self.target_user(&org.id, user_id).await?;
        let roles = self.roles(&org.id).await?;
        let names = names_of(&roles, &user.role_ids);
        let target = access.target(&user, &names);
        let visible = access.can(perm::CONVERSATION_GET_MESSAGE, &target)
            && (target.is_self
                || user.preferences.conversations_visible_to_admins
                || access.is_platform());
        if !visible {
            return Ok(Page {
                items: Vec::new(),
                has_more: false,
                continuation_token: None,
            });
        }
        let position = self
            .position(&org.id, input.continuation_token, &sort)
            .await?;
        let q = MemoryQuery {
            user_id: user.id.to_string(),
            ids: input.ids,
            conversation_ids: input.conversation_ids,
            page: PageRequest {
                sort,
                position,
                limit: input.limit,
            },
        };
        let rows = self.store.list_memories(&org.id, &q).await?;
        let sort = q.page.sort.clone();
        self.finish_page(&org, rows, &q.page, |m| {
            let values = sort
                .iter()
                .map(|k| match k.field.as_str() {
                    "conversation_id" => SortValue::Text(m.conversation_id.clone()),
                    _ => SortValue::Int(m.created_at),
                })
                .collect();
            (values, m.id.clone())
        })
        .await
    }
}
