//! Several database clusters behind one [`Store`]: each organization lives on one cluster, named
//! in a directory of placements kept on the home cluster, and every call that names an
//! organization goes to that organization's cluster.
//!
//! - The home cluster also holds what belongs to no organization: settings (maintenance), the
//!   signing-key ring and the directory itself. An organization without a placement row lives on
//!   the home cluster (it was created before clusters were configured).
//! - Identities are kept per cluster: a person who belongs to organizations on two clusters has
//!   one identity on each. Calls that find an identity without naming an organization (by id,
//!   by email, by one-time token) ask the clusters in order, home first.
//! - A change is one transaction on its organization's cluster. Effects addressed to an
//!   organization on another cluster (the platform organization's audit event of a deletion,
//!   say) are written there afterwards, in their own transaction.

use roster_domain::webhooks::{WebhookAttempt, WebhookEndpoint, WebhookJob, WebhookOutcome};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use roster_domain::model::*;
use roster_domain::paging::{AuditQuery, GrantQuery, MemoryQuery, UserQuery};
use roster_domain::store::*;
use roster_domain::types::{now_micros, Micros};

use crate::{err, run, tx, Db};

/// The home cluster, the others, and the placements already looked up.
#[derive(Clone)]
pub struct Clusters {
    /// `members[0]` is the home cluster.
    members: Arc<Vec<(String, Db)>>,
    /// Organization id or uuid → index in `members`. Placements never move, so entries never
    /// go stale; a deleted organization's entry only sends lookups to a cluster that has nothing.
    placed: Arc<RwLock<HashMap<String, usize>>>,
}

impl Clusters {
    /// `home` holds the directory; names must be distinct.
    pub fn new(home: (String, Db), others: Vec<(String, Db)>) -> anyhow::Result<Self> {
        let mut members = vec![home];
        for (name, db) in others {
            if members.iter().any(|(n, _)| *n == name) {
                anyhow::bail!("the cluster name '{name}' is given twice");
            }
            members.push((name, db));
        }
        Ok(Self {
            members: Arc::new(members),
            placed: Arc::default(),
        })
    }

    pub fn home(&self) -> &Db {
        &self.members[0].1
    }

    /// Every cluster, home first.
    pub fn members(&self) -> &[(String, Db)] {
        &self.members
    }

    /// The name of the cluster an organization lives on (`None`: no such organization).
    pub async fn placement(&self, org_ref: &str) -> StoreResult<Option<String>> {
        let i = self.index_of(org_ref).await?;
        let db = &self.members[i].1;
        Ok(db
            .find_organization(org_ref)
            .await?
            .map(|_| self.members[i].0.clone()))
    }

    async fn index_of(&self, org_ref: &str) -> StoreResult<usize> {
        if let Some(i) = self.cached(org_ref) {
            return Ok(i);
        }
        let row: Option<(String, String, String)> = run!(self.home(), |p| {
            sqlx::query_as(
            "SELECT org_id, org_uuid, cluster FROM org_placements WHERE org_id = $1 OR org_uuid = $2"
        )
        .bind(org_ref)
        .bind(org_ref)
        .fetch_optional(p)
        .await
        .map_err(err)?
        });
        let Some((id, uuid, cluster)) = row else {
            return Ok(0);
        };
        let i = self
            .members
            .iter()
            .position(|(n, _)| *n == cluster)
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "organization {id} is placed on cluster '{cluster}', which is not configured"
                ))
            })?;
        let mut placed = self.placed.write().unwrap_or_else(|p| p.into_inner());
        placed.insert(id, i);
        placed.insert(uuid, i);
        Ok(i)
    }

    fn cached(&self, org_ref: &str) -> Option<usize> {
        let placed = self.placed.read().unwrap_or_else(|p| p.into_inner());
        placed.get(org_ref).copied()
    }

    async fn db(&self, org_id: &str) -> StoreResult<&Db> {
        Ok(&self.members[self.index_of(org_id).await?].1)
    }

    /// Splits effects by the cluster of the organization each one is addressed to.
    async fn split(&self, fx: Effects) -> StoreResult<Vec<(usize, Effects)>> {
        let mut parts: Vec<(usize, Effects)> = Vec::new();
        macro_rules! place {
            ($items:expr, $field:ident, |$x:ident| $org:expr) => {
                for $x in $items {
                    let i = self.index_of($org).await?;
                    let k = match parts.iter().position(|(j, _)| *j == i) {
                        Some(k) => k,
                        None => {
                            parts.push((i, Effects::default()));
                            parts.len() - 1
                        }
                    };
                    parts[k].1.$field.push($x);
                }
            };
        }
        place!(fx.audit, audit, |e| &e.org_id);
        place!(fx.outbox, outbox, |m| &m.org_id);
        place!(fx.revoke, revoke, |r| &r.0);
        place!(fx.tokens, tokens, |t| &t.org_id);
        Ok(parts)
    }

    /// The part of `fx` for cluster `i`, and the writes of the other parts to run after it.
    async fn local(&self, i: usize, fx: Effects) -> StoreResult<(Effects, Vec<(usize, Effects)>)> {
        let mut mine = Effects::default();
        let mut rest = Vec::new();
        for (j, part) in self.split(fx).await? {
            if j == i {
                mine = part;
            } else {
                rest.push((j, part));
            }
        }
        Ok((mine, rest))
    }

    async fn write_rest(&self, rest: Vec<(usize, Effects)>) -> StoreResult<()> {
        for (j, part) in rest {
            self.members[j].1.write_effects(part).await?;
        }
        Ok(())
    }

    /// Runs one organization's change on its cluster with the effects that belong there, then
    /// writes the effects addressed to other clusters.
    async fn routed<'a, T, F, Fut>(&'a self, org_id: &str, fx: Effects, f: F) -> StoreResult<T>
    where
        F: FnOnce(&'a Db, Effects) -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        let i = self.index_of(org_id).await?;
        self.on(i, fx, f).await
    }

    /// A change of an identity, on the first cluster holding it (see [`Clusters::routed`]).
    async fn on_identity<'a, T, F, Fut>(
        &'a self,
        identity_id: &str,
        fx: Effects,
        f: F,
    ) -> StoreResult<T>
    where
        F: FnOnce(&'a Db, Effects) -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        let i = self
            .identity_home(identity_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.on(i, fx, f).await
    }

    /// Runs a change on cluster `i` with the effects that belong there, then writes the others.
    async fn on<'a, T, F, Fut>(&'a self, i: usize, fx: Effects, f: F) -> StoreResult<T>
    where
        F: FnOnce(&'a Db, Effects) -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        let (mine, rest) = self.local(i, fx).await?;
        let out = f(&self.members[i].1, mine).await?;
        self.write_rest(rest).await?;
        Ok(out)
    }

    /// The first cluster, home first, holding the identity.
    async fn identity_home(&self, identity_id: &str) -> StoreResult<Option<usize>> {
        for (i, (_, db)) in self.members.iter().enumerate() {
            if db.get_identity(identity_id).await?.is_some() {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// Writes a placement before the organization, so that no organization is ever reachable
    /// on a cluster the directory does not name.
    async fn place(&self, org: &Organization, cluster: &str) -> StoreResult<()> {
        tx!(self.home(), |t| {
            sqlx::query(
                "INSERT INTO org_placements (org_id, org_uuid, cluster, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&org.id)
            .bind(&org.uuid)
            .bind(cluster)
            .bind(now_micros())
            .execute(&mut *t)
            .await
            .map_err(err)?;
        });
        Ok(())
    }

    async fn unplace(&self, org_id: &str) -> StoreResult<()> {
        tx!(self.home(), |t| {
            sqlx::query("DELETE FROM org_placements WHERE org_id = $1")
                .bind(org_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
        });
        // Forget every placement looked up: the uuid key of this one is not at hand, and the
        // others are looked up again at the cost of one query each.
        self.placed
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }
}

#[async_trait]
impl Store for Clusters {
    fn backend(&self) -> &'static str {
        self.home().backend()
    }

    fn write_generation(&self) -> u64 {
        crate::write_generation()
    }

    fn clusters(&self) -> Vec<String> {
        self.members.iter().map(|(n, _)| n.clone()).collect()
    }

    async fn ping(&self) -> StoreResult<()> {
        for (_, db) in self.members.iter() {
            db.ping().await?;
        }
        Ok(())
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.home().get_setting(key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.home().put_setting(key, value).await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.home().signing_keys().await
    }

    async fn insert_signing_key(&self, key: &SigningKey, newer_than: Micros) -> StoreResult<bool> {
        self.home().insert_signing_key(key, newer_than).await
    }

    async fn any_organization(&self) -> StoreResult<bool> {
        for (_, db) in self.members.iter() {
            if db.any_organization().await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn find_organization(&self, id_or_uuid: &str) -> StoreResult<Option<Organization>> {
        self.db(id_or_uuid)
            .await?
            .find_organization(id_or_uuid)
            .await
    }

    async fn create_organization(&self, new: NewOrganization, fx: Effects) -> StoreResult<()> {
        let name = new
            .cluster
            .clone()
            .unwrap_or_else(|| self.members[0].0.clone());
        let i = self
            .members
            .iter()
            .position(|(n, _)| *n == name)
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unknown cluster '{name}'")))?;
        let org = new.org.clone();
        // An organization made before clusters were configured has no placement but exists.
        if self.home().find_organization(&org.id).await?.is_some()
            || self.home().find_organization(&org.uuid).await?.is_some()
        {
            return Err(StoreError::Conflict { field: "key" });
        }
        self.place(&org, &name).await?;
        let (mine, rest) = self.local(i, fx).await?;
        if let Err(e) = self.members[i].1.create_organization(new, mine).await {
            self.unplace(&org.id).await?;
            return Err(e);
        }
        self.write_rest(rest).await
    }

    async fn update_organization(&self, org: &Organization, fx: Effects) -> StoreResult<()> {
        self.routed(&org.id, fx, |db, fx| db.update_organization(org, fx))
            .await
    }

    async fn delete_organization(&self, org_id: &str, fx: Effects) -> StoreResult<()> {
        let i = self.index_of(org_id).await?;
        // The organization's own effects go with it; `fx` is addressed to others.
        let (mine, rest) = self.local(i, fx).await?;
        self.members[i].1.delete_organization(org_id, mine).await?;
        self.unplace(org_id).await?;
        self.write_rest(rest).await
    }

    async fn list_roles(&self, org_id: &str) -> StoreResult<Vec<Role>> {
        self.db(org_id).await?.list_roles(org_id).await
    }

    async fn insert_role(&self, role: &Role, fx: Effects) -> StoreResult<()> {
        self.routed(&role.org_id, fx, |db, fx| db.insert_role(role, fx))
            .await
    }

    async fn update_role(
        &self,
        role: &Role,
        expected_updated_at: Micros,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(&role.org_id, fx, |db, fx| {
            db.update_role(role, expected_updated_at, fx)
        })
        .await
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        for (_, db) in self.members.iter() {
            if let Some(found) = db.get_identity(id).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn insert_user(
        &self,
        identity: NewIdentity,
        user: User,
        secrets: &[(String, String)],
        fx: Effects,
    ) -> StoreResult<User> {
        let org = user.org_id.clone();
        self.routed(&org, fx, |db, fx| {
            db.insert_user(identity, user, secrets, fx)
        })
        .await
    }

    async fn insert_users(
        &self,
        rows: Vec<(NewIdentity, User, Vec<EnvAccess>)>,
        fx: Effects,
    ) -> StoreResult<Vec<bool>> {
        let Some(org) = rows.first().map(|r| r.1.org_id.clone()) else {
            self.write_effects(fx).await?;
            return Ok(Vec::new());
        };
        if rows.iter().any(|r| r.1.org_id != org) {
            return Err(StoreError::Other(anyhow::anyhow!(
                "a bulk insert spans organizations"
            )));
        }
        self.routed(&org, fx, |db, fx| db.insert_users(rows, fx))
            .await
    }

    async fn existing_emails(
        &self,
        org_id: &str,
        emails_lower: &[String],
    ) -> StoreResult<Vec<String>> {
        self.db(org_id)
            .await?
            .existing_emails(org_id, emails_lower)
            .await
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        for (_, db) in self.members.iter() {
            db.refresh_statistics().await?;
        }
        Ok(())
    }

    async fn count_active_admins(&self, org_id: &str) -> StoreResult<i64> {
        self.db(org_id).await?.count_active_admins(org_id).await
    }

    async fn update_user_access(
        &self,
        user: &User,
        expected_updated_at: Micros,
        role_ids: &[String],
        environments: &[EnvAccess],
        password: Option<&NewPassword>,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(&user.org_id, fx, |db, fx| {
            db.update_user_access(
                user,
                expected_updated_at,
                role_ids,
                environments,
                password,
                fx,
            )
        })
        .await
    }

    async fn set_user_access(
        &self,
        org_id: &str,
        user_id: &str,
        role_ids: &[String],
        environments: &[EnvAccess],
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(org_id, fx, |db, fx| {
            db.set_user_access(org_id, user_id, role_ids, environments, fx)
        })
        .await
    }

    async fn env_access(
        &self,
        org_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, EnvAccess)>> {
        self.db(org_id).await?.env_access(org_id, user_ids).await
    }

    async fn upsert_environment(&self, env: &Environment, fx: Effects) -> StoreResult<()> {
        self.routed(&env.org_id, fx, |db, fx| db.upsert_environment(env, fx))
            .await
    }

    async fn upsert_bot(&self, bot: &Bot, fx: Effects) -> StoreResult<()> {
        self.routed(&bot.org_id, fx, |db, fx| db.upsert_bot(bot, fx))
            .await
    }

    async fn list_environments(&self, org_id: &str) -> StoreResult<Vec<Environment>> {
        self.db(org_id).await?.list_environments(org_id).await
    }

    async fn list_bots(&self, org_id: &str) -> StoreResult<Vec<Bot>> {
        self.db(org_id).await?.list_bots(org_id).await
    }

    async fn set_configuration(
        &self,
        org_id: &str,
        user_id: &str,
        c: &Configuration,
    ) -> StoreResult<()> {
        self.db(org_id)
            .await?
            .set_configuration(org_id, user_id, c)
            .await
    }

    async fn configurations(
        &self,
        org_id: &str,
        user_id: &str,
        bot_uuid: Option<&str>,
    ) -> StoreResult<Vec<Configuration>> {
        self.db(org_id)
            .await?
            .configurations(org_id, user_id, bot_uuid)
            .await
    }

    async fn get_user(&self, org_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        self.db(org_id).await?.get_user(org_id, user_id).await
    }

    async fn list_users(&self, org_id: &str, q: &UserQuery) -> StoreResult<Vec<User>> {
        self.db(org_id).await?.list_users(org_id, q).await
    }

    async fn count_users(&self, org_id: &str, q: &UserQuery) -> StoreResult<i64> {
        self.db(org_id).await?.count_users(org_id, q).await
    }

    async fn memberships(&self, identity_id: &str) -> StoreResult<Vec<(String, String)>> {
        match self.identity_home(identity_id).await? {
            Some(i) => self.members[i].1.memberships(identity_id).await,
            None => Ok(Vec::new()),
        }
    }

    async fn identity_by_email(&self, email_lower: &str) -> StoreResult<Option<Identity>> {
        for (_, db) in self.members.iter() {
            if let Some(found) = db.identity_by_email(email_lower).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn password_hash(&self, identity_id: &str) -> StoreResult<Option<String>> {
        match self.identity_home(identity_id).await? {
            Some(i) => self.members[i].1.password_hash(identity_id).await,
            None => Ok(None),
        }
    }

    async fn set_password(
        &self,
        identity_id: &str,
        hash: &str,
        revoke_sessions: bool,
        fx: Effects,
    ) -> StoreResult<()> {
        self.on_identity(identity_id, fx, |db, fx| {
            db.set_password(identity_id, hash, revoke_sessions, fx)
        })
        .await
    }

    async fn end_member_sessions(
        &self,
        org_id: &str,
        user_id: &str,
        at: Micros,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(org_id, fx, |db, fx| {
            db.end_member_sessions(org_id, user_id, at, fx)
        })
        .await
    }

    async fn rename_identity(
        &self,
        identity_id: &str,
        first_name: &str,
        last_name: &str,
        fx: Effects,
    ) -> StoreResult<()> {
        self.on_identity(identity_id, fx, |db, fx| {
            db.rename_identity(identity_id, first_name, last_name, fx)
        })
        .await
    }

    async fn apply_email_change(
        &self,
        token_hash: &str,
        now: Micros,
        fx: Effects,
    ) -> StoreResult<Option<(String, String)>> {
        // The token is on the cluster of the organization it was asked through.
        for (i, (_, db)) in self.members.iter().enumerate() {
            if db.find_token(token_hash, now).await?.is_some() {
                return self
                    .on(i, fx, |db, fx| db.apply_email_change(token_hash, now, fx))
                    .await;
            }
        }
        Ok(None)
    }

    async fn update_user(
        &self,
        user: &User,
        expected_updated_at: Micros,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(&user.org_id, fx, |db, fx| {
            db.update_user(user, expected_updated_at, fx)
        })
        .await
    }

    async fn set_user_roles(
        &self,
        org_id: &str,
        user_id: &str,
        role_ids: &[String],
        env_roles_kept: &[String],
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(org_id, fx, |db, fx| {
            db.set_user_roles(org_id, user_id, role_ids, env_roles_kept, fx)
        })
        .await
    }

    async fn delete_user(
        &self,
        org_id: &str,
        user_id: &str,
        soft_reasons: Option<Vec<String>>,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(org_id, fx, |db, fx| {
            db.delete_user(org_id, user_id, soft_reasons, fx)
        })
        .await
    }

    async fn modify_variables(
        &self,
        org_id: &str,
        user_id: &str,
        upserts: &[(String, String, bool)],
        deletes: &[String],
        max_each: usize,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(org_id, fx, |db, fx| {
            db.modify_variables(org_id, user_id, upserts, deletes, max_each, fx)
        })
        .await
    }

    async fn set_user_stats(
        &self,
        org_id: &str,
        user_id: &str,
        stats: &UserStats,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(org_id, fx, |db, fx| {
            db.set_user_stats(org_id, user_id, stats, fx)
        })
        .await
    }

    async fn load_principal(
        &self,
        org_id: &str,
        user_id: &str,
        now: Micros,
    ) -> StoreResult<Option<PrincipalRecord>> {
        self.db(org_id)
            .await?
            .load_principal(org_id, user_id, now)
            .await
    }

    async fn get_api_key(&self, org_id: &str, key_id: &str) -> StoreResult<Option<ApiKey>> {
        self.db(org_id).await?.get_api_key(org_id, key_id).await
    }

    async fn list_api_keys(&self, org_id: &str) -> StoreResult<Vec<ApiKey>> {
        self.db(org_id).await?.list_api_keys(org_id).await
    }

    async fn insert_api_key(
        &self,
        key: &ApiKey,
        max_per_org: usize,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(&key.org_id, fx, |db, fx| {
            db.insert_api_key(key, max_per_org, fx)
        })
        .await
    }

    async fn delete_api_key(&self, org_id: &str, key_id: &str, fx: Effects) -> StoreResult<()> {
        self.routed(org_id, fx, |db, fx| db.delete_api_key(org_id, key_id, fx))
            .await
    }

    async fn write_effects(&self, fx: Effects) -> StoreResult<()> {
        self.write_rest(self.split(fx).await?).await
    }

    /// Throttle keys name an account (an email) or a client, not an organization: they are
    /// counted on the home cluster, for every cluster's sign-ins alike.
    async fn charge_sign_in_attempt(
        &self,
        key: &str,
        now: Micros,
        policy: &roster_domain::throttle::Throttle,
    ) -> StoreResult<bool> {
        self.home().charge_sign_in_attempt(key, now, policy).await
    }

    async fn forgive_sign_in_attempt(&self, key: &str, reset: bool) -> StoreResult<()> {
        self.home().forgive_sign_in_attempt(key, reset).await
    }

    async fn write_effects_batch(&self, batch: &[Effects]) -> StoreResult<()> {
        let mut per: Vec<Vec<Effects>> = vec![Vec::new(); self.members.len()];
        for fx in batch {
            for (i, part) in self.split(fx.clone()).await? {
                per[i].push(part);
            }
        }
        for (i, part) in per.into_iter().enumerate() {
            if !part.is_empty() {
                self.members[i].1.write_effects_batch(&part).await?;
            }
        }
        Ok(())
    }

    async fn consume_token(
        &self,
        org_id: &str,
        token_hash: &str,
        purposes: &[&str],
        now: Micros,
        fx: Effects,
    ) -> StoreResult<Option<OneTimeToken>> {
        self.routed(org_id, fx, |db, fx| {
            Store::consume_token(db, org_id, token_hash, purposes, now, fx)
        })
        .await
    }

    async fn insert_temporary_grant(&self, grant: &TemporaryGrant, fx: Effects) -> StoreResult<()> {
        self.routed(&grant.org_id, fx, |db, fx| {
            db.insert_temporary_grant(grant, fx)
        })
        .await
    }

    async fn list_temporary_grants(
        &self,
        org_id: &str,
        q: &GrantQuery,
    ) -> StoreResult<Vec<TemporaryGrant>> {
        self.db(org_id)
            .await?
            .list_temporary_grants(org_id, q)
            .await
    }

    async fn insert_user_model(&self, model: &UserModel, fx: Effects) -> StoreResult<()> {
        self.routed(&model.org_id, fx, |db, fx| db.insert_user_model(model, fx))
            .await
    }

    async fn latest_user_models(
        &self,
        org_id: &str,
        user_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<UserModel>> {
        self.db(org_id)
            .await?
            .latest_user_models(org_id, user_id, limit)
            .await
    }

    async fn insert_memories(&self, memories: &[Memory], fx: Effects) -> StoreResult<()> {
        let Some(org) = memories.first().map(|m| m.org_id.clone()) else {
            return self.write_effects(fx).await;
        };
        if memories.iter().any(|m| m.org_id != org) {
            return Err(StoreError::Other(anyhow::anyhow!(
                "memories of several organizations in one insert"
            )));
        }
        self.routed(&org, fx, |db, fx| db.insert_memories(memories, fx))
            .await
    }

    async fn list_memories(&self, org_id: &str, q: &MemoryQuery) -> StoreResult<Vec<Memory>> {
        self.db(org_id).await?.list_memories(org_id, q).await
    }

    async fn put_cursor(
        &self,
        org_id: &str,
        id: i64,
        position: &str,
        expires_at: Micros,
    ) -> StoreResult<()> {
        self.db(org_id)
            .await?
            .put_cursor(org_id, id, position, expires_at)
            .await
    }

    async fn get_cursor(&self, org_id: &str, id: i64, now: Micros) -> StoreResult<Option<String>> {
        self.db(org_id).await?.get_cursor(org_id, id, now).await
    }

    async fn find_token(&self, token_hash: &str, now: Micros) -> StoreResult<Option<OneTimeToken>> {
        for (_, db) in self.members.iter() {
            if let Some(found) = db.find_token(token_hash, now).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn consume_token_with_password(
        &self,
        org_id: &str,
        token_hash: &str,
        purposes: &[&str],
        now: Micros,
        password: &NewPassword,
        fx: Effects,
    ) -> StoreResult<Option<OneTimeToken>> {
        self.routed(org_id, fx, |db, fx| {
            db.consume_token_with_password(org_id, token_hash, purposes, now, password, fx)
        })
        .await
    }

    async fn claim_outbox(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let mut claimed = Vec::new();
        for (_, db) in self.members.iter() {
            let room = limit.saturating_sub(claimed.len() as u32);
            if room == 0 {
                break;
            }
            claimed.extend(db.claim_outbox(worker, now, lease_until, room).await?);
        }
        Ok(claimed)
    }

    async fn finish_outbox(
        &self,
        org_id: &str,
        id: &str,
        worker: &str,
        outcome: &Delivery,
    ) -> StoreResult<bool> {
        self.db(org_id)
            .await?
            .finish_outbox(org_id, id, worker, outcome)
            .await
    }

    async fn list_outbox(&self, org_id: &str) -> StoreResult<Vec<OutboxMessage>> {
        self.db(org_id).await?.list_outbox(org_id).await
    }

    async fn list_audit(&self, org_id: &str, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        self.db(org_id).await?.list_audit(org_id, limit).await
    }

    async fn query_audit(&self, org_id: &str, q: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        self.db(org_id).await?.query_audit(org_id, q).await
    }

    async fn purge_audit(&self, before: Micros, batch: u32) -> StoreResult<u64> {
        let mut gone = 0;
        for (_, db) in self.members.iter() {
            gone += db.purge_audit(before, batch).await?;
        }
        Ok(gone)
    }

    async fn list_oidc_clients(&self, org_id: &str) -> StoreResult<Vec<OidcClient>> {
        self.db(org_id).await?.list_oidc_clients(org_id).await
    }

    async fn get_oidc_client(
        &self,
        org_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<OidcClient>> {
        self.db(org_id)
            .await?
            .get_oidc_client(org_id, client_id)
            .await
    }

    async fn insert_oidc_client(&self, client: &OidcClient, fx: Effects) -> StoreResult<()> {
        self.routed(&client.org_id, fx, |db, fx| {
            db.insert_oidc_client(client, fx)
        })
        .await
    }

    async fn update_oidc_client(&self, client: &OidcClient, fx: Effects) -> StoreResult<()> {
        self.routed(&client.org_id, fx, |db, fx| {
            db.update_oidc_client(client, fx)
        })
        .await
    }

    async fn delete_oidc_client(
        &self,
        org_id: &str,
        client_id: &str,
        fx: Effects,
    ) -> StoreResult<()> {
        self.routed(org_id, fx, |db, fx| {
            db.delete_oidc_client(org_id, client_id, fx)
        })
        .await
    }

    async fn spent_token(
        &self,
        org_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<OneTimeToken>> {
        self.db(org_id).await?.spent_token(org_id, token_hash).await
    }

    async fn list_events(
        &self,
        org_id: &str,
        after: i64,
        types: &[String],
        limit: u32,
    ) -> StoreResult<Vec<roster_domain::events::Event>> {
        self.db(org_id)
            .await?
            .list_events(org_id, after, types, limit)
            .await
    }

    async fn purge_events(&self, before: Micros, batch: u32) -> StoreResult<u64> {
        let mut gone = 0;
        for (_, db) in self.members.iter() {
            gone += db.purge_events(before, batch).await?;
        }
        Ok(gone)
    }

    async fn insert_webhook(&self, w: &WebhookEndpoint, fx: Effects) -> StoreResult<()> {
        self.db(&w.org_id).await?.insert_webhook(w, fx).await
    }

    async fn list_webhooks(&self, org_id: &str) -> StoreResult<Vec<WebhookEndpoint>> {
        self.db(org_id).await?.list_webhooks(org_id).await
    }

    async fn get_webhook(&self, org_id: &str, id: &str) -> StoreResult<Option<WebhookEndpoint>> {
        self.db(org_id).await?.get_webhook(org_id, id).await
    }

    async fn update_webhook(&self, w: &WebhookEndpoint, fx: Effects) -> StoreResult<()> {
        self.db(&w.org_id).await?.update_webhook(w, fx).await
    }

    async fn delete_webhook(&self, org_id: &str, id: &str, fx: Effects) -> StoreResult<()> {
        self.db(org_id).await?.delete_webhook(org_id, id, fx).await
    }

    async fn finish_webhook(
        &self,
        job: &WebhookJob,
        worker: &str,
        attempt: &WebhookAttempt,
        outcome: &WebhookOutcome,
        disable_after: i64,
        fx: Effects,
    ) -> StoreResult<(bool, bool)> {
        self.db(&job.org_id)
            .await?
            .finish_webhook(job, worker, attempt, outcome, disable_after, fx)
            .await
    }

    async fn list_webhook_attempts(
        &self,
        org_id: &str,
        endpoint_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<WebhookAttempt>> {
        self.db(org_id)
            .await?
            .list_webhook_attempts(org_id, endpoint_id, limit)
            .await
    }

    async fn replay_webhook(
        &self,
        org_id: &str,
        endpoint_id: &str,
        event_id: Option<&str>,
        since: Option<Micros>,
        now: Micros,
    ) -> StoreResult<u64> {
        self.db(org_id)
            .await?
            .replay_webhook(org_id, endpoint_id, event_id, since, now)
            .await
    }

    async fn claim_webhooks(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> StoreResult<Vec<WebhookJob>> {
        let mut out = Vec::new();
        for (_, db) in self.members.iter() {
            out.extend(db.claim_webhooks(worker, now, lease_until, limit).await?);
        }
        Ok(out)
    }
}
