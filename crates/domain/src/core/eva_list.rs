//! eva-user reads: the paged list, quicksearch, one user, the organization's environments
//! and bots, the caller's own user.

use crate::types::UserId;
use std::collections::BTreeSet;

use super::access::Context;
use super::eva::*;
use super::Core;
use crate::error::{Error, Location, Result};
use crate::model::*;
use crate::paging::{SortKey, UserQuery};
use crate::permissions::perm;
use crate::types::*;

impl Core {
    /// A page of the users of `org` (which the surface found and checked the caller's access
    /// to before it checked the query, see [`Core::find_org`]).
    pub async fn eva_list(
        &self,
        ctx: &Context,
        org: &Organization,
        q: &EvaListQuery,
    ) -> Result<EvaPage> {
        let access = ctx.access(org)?;
        let lines = i64::from(q.size.clamp(1, LIST_PAGE_MAX));
        let page = i64::try_from(q.page).unwrap_or(i64::MAX);
        let (order, descending, search) = (q.order, q.descending, q.search.as_deref());
        let roles = self.store.list_roles(&org.id).await?;
        let mut q = UserQuery::new(lines as u32);
        q.exclude_inactive = true;
        q.visibility = access.visibility(perm::USER_GET_INFO, &roles);
        if let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) {
            q.contains = Some(s.to_lowercase());
            q.contains_company = true;
        }
        q.page.sort = vec![SortKey {
            field: order.field().into(),
            descending,
        }];
        let total = self.count_users(&org.id, &q).await?;
        let offset = page.saturating_mul(lines);
        let users = self
            .users_at(&org.id, &q, offset as u64, total.max(0) as u64)
            .await?;
        Ok(EvaPage {
            total,
            items: self.eva_views(ctx, org, users).await?,
        })
    }

    /// Distinct names starting with `name` (case-insensitive), alphabetical, at most `limit`.
    pub async fn quicksearch(
        &self,
        ctx: &Context,
        org_ref: &str,
        name: &str,
        limit: i64,
    ) -> Result<Vec<String>> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?;
        let prefix = fold(name);
        if prefix.is_empty() {
            return Err(Error::field(
                Location::Query,
                "name",
                "missing",
                "name is required",
            ));
        }
        if !(1..=100).contains(&limit) {
            return Err(Error::field(
                Location::Query,
                "limit",
                "range",
                "limit must be between 1 and 100",
            ));
        }
        let mut q = UserQuery::new((limit * 4) as u32);
        q.exclude_inactive = true;
        q.name_prefix = Some(prefix);
        q.page.sort = vec![SortKey {
            field: "name".into(),
            descending: false,
        }];
        let mut out: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        // Many users may share a name: read on, by index, until `limit` distinct names are found.
        loop {
            let users = self.store.list_users(&org.id, &q).await?;
            let exhausted = users.len() <= q.page.limit as usize;
            for u in users.iter().take(q.page.limit as usize) {
                let n = full_name(&u.first_name, &u.last_name);
                if seen.insert(fold(&n)) {
                    out.push(n);
                }
                if out.len() as i64 == limit {
                    return Ok(out);
                }
            }
            let Some(last) = users
                .get((q.page.limit as usize).saturating_sub(1))
                .filter(|_| !exhausted)
            else {
                return Ok(out);
            };
            q.page.position = crate::paging::Position::After(crate::paging::Keyset {
                sort: q.page.sort.clone(),
                values: vec![crate::paging::SortValue::Text(fold(&full_name(
                    &last.first_name,
                    &last.last_name,
                )))],
                last_id: last.id.to_string(),
            });
        }
    }

    pub async fn eva_get(&self, ctx: &Context, org_ref: &str, user_id: &UserId) -> Result<EvaUser> {
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        let user = self.target_user(&org.id, user_id).await?;
        if user.status == UserStatus::Inactive {
            return Err(Error::NotFound("user"));
        }
        let roles = self.store.list_roles(&org.id).await?;
        let names = super::access::names_of(&roles, &user.role_ids);
        access.require_on(perm::USER_GET_INFO, &access.target(&user, &names))?;
        Ok(self.eva_views(ctx, &org, vec![user]).await?.remove(0))
    }

    /// The organization's environments and bots, active or not, which a user's access is
    /// chosen from (the console's form of a user's environments); for those who may read the
    /// organization's users.
    pub async fn eva_catalog(
        &self,
        ctx: &Context,
        org_ref: &str,
    ) -> Result<(Vec<Environment>, Vec<Bot>)> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::USER_GET_INFO)?;
        let envs = self.store.list_environments(&org.id).await?;
        let bots = self.store.list_bots(&org.id).await?;
        Ok((envs, bots))
    }

    /// The caller's own user, from the token.
    pub async fn identity_provider(&self, ctx: &Context, org_ref: &str) -> Result<EvaUser> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?;
        let p = ctx.principal().ok_or(Error::Unauthenticated)?;
        let user = self.target_user(&org.id, &UserId::from(&p.user_id)).await?;
        Ok(self.eva_views(ctx, &org, vec![user]).await?.remove(0))
    }
}
