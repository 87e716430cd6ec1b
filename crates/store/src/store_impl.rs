//! `Store` for [`Db`]: each method forwards to the inherent method of the same name.

use async_trait::async_trait;
use roster_domain::model::*;
use roster_domain::paging::{AuditQuery, GrantQuery, MemoryQuery, UserQuery};
use roster_domain::store::*;
use roster_domain::types::Micros;
use roster_domain::webhooks::{WebhookAttempt, WebhookEndpoint, WebhookJob, WebhookOutcome};

use crate::Db;

#[async_trait]
impl Store for Db {
    fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    fn write_generation(&self) -> u64 {
        crate::write_generation()
    }

    async fn ping(&self) -> StoreResult<()> {
        crate::run!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ())
            .map_err(crate::err))
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        Db::get_setting(self, key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        Db::put_setting(self, key, value).await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        Db::signing_keys(self).await
    }

    async fn insert_signing_key(&self, key: &SigningKey, newer_than: Micros) -> StoreResult<bool> {
        Db::insert_signing_key(self, key, newer_than).await
    }

    async fn any_organization(&self) -> StoreResult<bool> {
        Db::any_organization(self).await
    }

    async fn find_organization(&self, id_or_uuid: &str) -> StoreResult<Option<Organization>> {
        Db::find_organization(self, id_or_uuid).await
    }

    async fn create_organization(&self, new: NewOrganization, fx: Effects) -> StoreResult<()> {
        Db::create_organization(self, new, fx).await
    }

    async fn update_organization(&self, org: &Organization, fx: Effects) -> StoreResult<()> {
        Db::update_organization(self, org, fx).await
    }

    async fn delete_organization(&self, org_id: &str, fx: Effects) -> StoreResult<()> {
        Db::delete_organization(self, org_id, fx).await
    }

    async fn list_roles(&self, org_id: &str) -> StoreResult<Vec<Role>> {
        Db::list_roles(self, org_id).await
    }

    async fn insert_role(&self, role: &Role, fx: Effects) -> StoreResult<()> {
        Db::insert_role(self, role, fx).await
    }

    async fn update_role(
        &self,
        role: &Role,
        expected_updated_at: Micros,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::update_role(self, role, expected_updated_at, fx).await
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        Db::get_identity(self, id).await
    }

    async fn insert_user(
        &self,
        identity: NewIdentity,
        user: User,
        secrets: &[(String, String)],
        fx: Effects,
    ) -> StoreResult<User> {
        Db::insert_user(self, identity, user, secrets, fx).await
    }

    async fn insert_users(
        &self,
        rows: Vec<(NewIdentity, User, Vec<EnvAccess>)>,
        fx: Effects,
    ) -> StoreResult<Vec<bool>> {
        Db::insert_users(self, rows, fx).await
    }

    async fn existing_emails(
        &self,
        org_id: &str,
        emails_lower: &[String],
    ) -> StoreResult<Vec<String>> {
        Db::existing_emails(self, org_id, emails_lower).await
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        Db::refresh_statistics(self).await
    }

    async fn count_active_admins(&self, org_id: &str) -> StoreResult<i64> {
        Db::count_active_admins(self, org_id).await
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
        Db::update_user_access(
            self,
            user,
            expected_updated_at,
            role_ids,
            environments,
            password,
            fx,
        )
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
        Db::set_user_access(self, org_id, user_id, role_ids, environments, fx).await
    }

    async fn env_access(
        &self,
        org_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, EnvAccess)>> {
        Db::env_access(self, org_id, user_ids).await
    }

    async fn upsert_environment(&self, env: &Environment, fx: Effects) -> StoreResult<()> {
        Db::upsert_environment(self, env, fx).await
    }

    async fn upsert_bot(&self, bot: &Bot, fx: Effects) -> StoreResult<()> {
        Db::upsert_bot(self, bot, fx).await
    }

    async fn list_environments(&self, org_id: &str) -> StoreResult<Vec<Environment>> {
        Db::list_environments(self, org_id).await
    }

    async fn list_bots(&self, org_id: &str) -> StoreResult<Vec<Bot>> {
        Db::list_bots(self, org_id).await
    }

    async fn set_configuration(
        &self,
        org_id: &str,
        user_id: &str,
        c: &Configuration,
    ) -> StoreResult<()> {
        Db::set_configuration(self, org_id, user_id, c).await
    }

    async fn configurations(
        &self,
        org_id: &str,
        user_id: &str,
        bot_uuid: Option<&str>,
    ) -> StoreResult<Vec<Configuration>> {
        Db::configurations(self, org_id, user_id, bot_uuid).await
    }

    async fn get_user(&self, org_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        Db::get_user(self, org_id, user_id).await
    }

    async fn list_users(&self, org_id: &str, q: &UserQuery) -> StoreResult<Vec<User>> {
        Db::list_users(self, org_id, q).await
    }

    async fn count_users(&self, org_id: &str, q: &UserQuery) -> StoreResult<i64> {
        Db::count_users(self, org_id, q).await
    }

    async fn memberships(&self, identity_id: &str) -> StoreResult<Vec<(String, String)>> {
        Db::memberships(self, identity_id).await
    }

    async fn identity_by_email(&self, email_lower: &str) -> StoreResult<Option<Identity>> {
        Db::identity_by_email(self, email_lower).await
    }

    async fn password_hash(&self, identity_id: &str) -> StoreResult<Option<String>> {
        Db::password_hash(self, identity_id).await
    }

    async fn set_password(
        &self,
        identity_id: &str,
        hash: &str,
        revoke_sessions: bool,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::set_password(self, identity_id, hash, revoke_sessions, fx).await
    }

    async fn end_member_sessions(
        &self,
        org_id: &str,
        user_id: &str,
        at: Micros,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::end_member_sessions(self, org_id, user_id, at, fx).await
    }

    async fn rename_identity(
        &self,
        identity_id: &str,
        first_name: &str,
        last_name: &str,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::rename_identity(self, identity_id, first_name, last_name, fx).await
    }

    async fn apply_email_change(
        &self,
        token_hash: &str,
        now: Micros,
        fx: Effects,
    ) -> StoreResult<Option<(String, String)>> {
        Db::apply_email_change(self, token_hash, now, fx).await
    }

    async fn update_user(
        &self,
        user: &User,
        expected_updated_at: Micros,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::update_user(self, user, expected_updated_at, fx).await
    }

    async fn set_user_roles(
        &self,
        org_id: &str,
        user_id: &str,
        role_ids: &[String],
        env_roles_kept: &[String],
        fx: Effects,
    ) -> StoreResult<()> {
        Db::set_user_roles(self, org_id, user_id, role_ids, env_roles_kept, fx).await
    }

    async fn delete_user(
        &self,
        org_id: &str,
        user_id: &str,
        soft_reasons: Option<Vec<String>>,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::delete_user(self, org_id, user_id, soft_reasons, fx).await
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
        Db::modify_variables(self, org_id, user_id, upserts, deletes, max_each, fx).await
    }

    async fn set_user_stats(
        &self,
        org_id: &str,
        user_id: &str,
        stats: &UserStats,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::set_user_stats(self, org_id, user_id, stats, fx).await
    }

    async fn load_principal(
        &self,
        org_id: &str,
        user_id: &str,
        now: Micros,
    ) -> StoreResult<Option<PrincipalRecord>> {
        Db::load_principal(self, org_id, user_id, now).await
    }

    async fn get_api_key(&self, org_id: &str, key_id: &str) -> StoreResult<Option<ApiKey>> {
        Db::get_api_key(self, org_id, key_id).await
    }

    async fn list_api_keys(&self, org_id: &str) -> StoreResult<Vec<ApiKey>> {
        Db::list_api_keys(self, org_id).await
    }

    async fn insert_api_key(
        &self,
        key: &ApiKey,
        max_per_org: usize,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::insert_api_key(self, key, max_per_org, fx).await
    }

    async fn delete_api_key(&self, org_id: &str, key_id: &str, fx: Effects) -> StoreResult<()> {
        Db::delete_api_key(self, org_id, key_id, fx).await
    }

    async fn write_effects(&self, fx: Effects) -> StoreResult<()> {
        Db::write_effects(self, fx).await
    }

    async fn charge_sign_in_attempt(
        &self,
        key: &str,
        now: Micros,
        policy: &roster_domain::throttle::Throttle,
    ) -> StoreResult<bool> {
        Db::charge_sign_in_attempt(self, key, now, policy).await
    }

    async fn forgive_sign_in_attempt(&self, key: &str, reset: bool) -> StoreResult<()> {
        Db::forgive_sign_in_attempt(self, key, reset).await
    }

    async fn write_effects_batch(&self, batch: &[Effects]) -> StoreResult<()> {
        Db::write_effects_batch(self, batch).await
    }

    async fn consume_token(
        &self,
        org_id: &str,
        token_hash: &str,
        purposes: &[&str],
        now: Micros,
        fx: Effects,
    ) -> StoreResult<Option<OneTimeToken>> {
        Db::consume_token(self, org_id, token_hash, purposes, now, None, fx).await
    }

    async fn insert_temporary_grant(&self, grant: &TemporaryGrant, fx: Effects) -> StoreResult<()> {
        Db::insert_temporary_grant(self, grant, fx).await
    }

    async fn list_temporary_grants(
        &self,
        org_id: &str,
        q: &GrantQuery,
    ) -> StoreResult<Vec<TemporaryGrant>> {
        Db::list_temporary_grants(self, org_id, q).await
    }

    async fn insert_user_model(&self, model: &UserModel, fx: Effects) -> StoreResult<()> {
        Db::insert_user_model(self, model, fx).await
    }

    async fn latest_user_models(
        &self,
        org_id: &str,
        user_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<UserModel>> {
        Db::latest_user_models(self, org_id, user_id, limit).await
    }

    async fn insert_memories(&self, memories: &[Memory], fx: Effects) -> StoreResult<()> {
        Db::insert_memories(self, memories, fx).await
    }

    async fn list_memories(&self, org_id: &str, q: &MemoryQuery) -> StoreResult<Vec<Memory>> {
        Db::list_memories(self, org_id, q).await
    }

    async fn put_cursor(
        &self,
        org_id: &str,
        id: i64,
        position: &str,
        expires_at: Micros,
    ) -> StoreResult<()> {
        Db::put_cursor(self, org_id, id, position, expires_at).await
    }

    async fn get_cursor(&self, org_id: &str, id: i64, now: Micros) -> StoreResult<Option<String>> {
        Db::get_cursor(self, org_id, id, now).await
    }

    async fn find_token(&self, token_hash: &str, now: Micros) -> StoreResult<Option<OneTimeToken>> {
        Db::find_token(self, token_hash, now).await
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
        Db::consume_token(self, org_id, token_hash, purposes, now, Some(password), fx).await
    }

    async fn claim_outbox(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        Db::claim_outbox(self, worker, now, lease_until, limit).await
    }

    async fn finish_outbox(
        &self,
        org_id: &str,
        id: &str,
        worker: &str,
        outcome: &Delivery,
    ) -> StoreResult<bool> {
        Db::finish_outbox(self, org_id, id, worker, outcome).await
    }

    async fn list_outbox(&self, org_id: &str) -> StoreResult<Vec<OutboxMessage>> {
        Db::list_outbox(self, org_id).await
    }

    async fn list_audit(&self, org_id: &str, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        Db::list_audit(self, org_id, limit).await
    }

    async fn query_audit(&self, org_id: &str, q: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        Db::query_audit(self, org_id, q).await
    }

    async fn purge_audit(&self, before: Micros, batch: u32) -> StoreResult<u64> {
        Db::purge_audit(self, before, batch).await
    }

    async fn list_oidc_clients(&self, org_id: &str) -> StoreResult<Vec<OidcClient>> {
        Db::list_oidc_clients(self, org_id).await
    }

    async fn get_oidc_client(
        &self,
        org_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<OidcClient>> {
        Db::get_oidc_client(self, org_id, client_id).await
    }

    async fn insert_oidc_client(&self, client: &OidcClient, fx: Effects) -> StoreResult<()> {
        Db::insert_oidc_client(self, client, fx).await
    }

    async fn update_oidc_client(&self, client: &OidcClient, fx: Effects) -> StoreResult<()> {
        Db::update_oidc_client(self, client, fx).await
    }

    async fn delete_oidc_client(
        &self,
        org_id: &str,
        client_id: &str,
        fx: Effects,
    ) -> StoreResult<()> {
        Db::delete_oidc_client(self, org_id, client_id, fx).await
    }

    async fn spent_token(
        &self,
        org_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<OneTimeToken>> {
        Db::spent_token(self, org_id, token_hash).await
    }

    async fn list_events(
        &self,
        org_id: &str,
        after: i64,
        types: &[String],
        limit: u32,
    ) -> StoreResult<Vec<roster_domain::events::Event>> {
        Db::list_events(self, org_id, after, types, limit).await
    }

    async fn purge_events(&self, before: Micros, batch: u32) -> StoreResult<u64> {
        Db::purge_events(self, before, batch).await
    }

    async fn insert_webhook(&self, w: &WebhookEndpoint, fx: Effects) -> StoreResult<()> {
        Db::insert_webhook(self, w, fx).await
    }

    async fn list_webhooks(&self, org_id: &str) -> StoreResult<Vec<WebhookEndpoint>> {
        Db::list_webhooks(self, org_id).await
    }

    async fn get_webhook(&self, org_id: &str, id: &str) -> StoreResult<Option<WebhookEndpoint>> {
        Db::get_webhook(self, org_id, id).await
    }

    async fn update_webhook(&self, w: &WebhookEndpoint, fx: Effects) -> StoreResult<()> {
        Db::update_webhook(self, w, fx).await
    }

    async fn delete_webhook(&self, org_id: &str, id: &str, fx: Effects) -> StoreResult<()> {
        Db::delete_webhook(self, org_id, id, fx).await
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
        Db::finish_webhook(self, job, worker, attempt, outcome, disable_after, fx).await
    }

    async fn list_webhook_attempts(
        &self,
        org_id: &str,
        endpoint_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<WebhookAttempt>> {
        Db::list_webhook_attempts(self, org_id, endpoint_id, limit).await
    }

    async fn replay_webhook(
        &self,
        org_id: &str,
        endpoint_id: &str,
        event_id: Option<&str>,
        since: Option<Micros>,
        now: Micros,
    ) -> StoreResult<u64> {
        Db::replay_webhook(self, org_id, endpoint_id, event_id, since, now).await
    }

    async fn claim_webhooks(
        &self,
        worker: &str,
        now: Micros,
        lease_until: Micros,
        limit: u32,
    ) -> StoreResult<Vec<WebhookJob>> {
        Db::claim_webhooks(self, worker, now, lease_until, limit).await
    }
}
