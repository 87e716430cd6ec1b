//! Identities: the person behind memberships, with their address and password. On several
//! clusters each keeps its own identities: a lookup asks them in order, home first, and a
//! change of an identity changes the first one holding it (see docs/operations.md).

use async_trait::async_trait;
use roster_domain::model::{Connection, Identity};
use roster_domain::store::{Effects, IdentityStore, StoreError};
use roster_domain::types::{user_keys, Micros, OrgId, UserId};

use crate::effects::write_effects;
use crate::rows::*;
use crate::stmt::AsTx;
use crate::{err, run, tx, Db, SqlStore, R};

impl SqlStore {
    /// The first cluster, home first, holding the identity (on one database, that one).
    async fn home_of(&self, identity_id: &str) -> R<Option<usize>> {
        if !self.clustered() {
            return Ok(Some(0));
        }
        for (i, db) in self.all().enumerate() {
            if get_on(db, identity_id).await?.is_some() {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn get_identity(&self, id: &str) -> R<Option<Identity>> {
        for db in self.all() {
            if let Some(found) = get_on(db, id).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn identity_by_email(&self, email_lower: &str) -> R<Option<Identity>> {
        for db in self.all() {
            if let Some(found) = by_email_on(db, email_lower).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn memberships(&self, identity_id: &str) -> R<Vec<(OrgId, UserId)>> {
        match self.home_of(identity_id).await? {
            Some(i) => memberships_on(self.member(i), identity_id).await,
            None => Ok(Vec::new()),
        }
    }

    async fn password_hash(&self, identity_id: &str) -> R<Option<String>> {
        match self.home_of(identity_id).await? {
            Some(i) => hash_on(self.member(i), identity_id).await,
            None => Ok(None),
        }
    }

    async fn set_password(
        &self,
        identity_id: &str,
        hash: &str,
        revoke_sessions: bool,
        at: Micros,
        fx: Effects,
    ) -> R<()> {
        let i = self
            .home_of(identity_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let (fx, rest) = self.local(i, fx).await?;
        tx!(self.member(i), |t| {
            let done = sqlx::query(
                "UPDATE identities SET password_hash = $1, updated_at = $2, epoch = epoch + 1, \
                 sessions_valid_after = CASE WHEN $3 THEN $4 ELSE sessions_valid_after END WHERE id = $5",
            )
            .bind(hash)
            .bind(at)
            .bind(revoke_sessions)
            // A session stamp: tokens issued before the reset are earlier, every token issued
            // after it later (tokens carry their own stamp, `iat_us`).
            .bind(at)
            .bind(identity_id)
            .execute(&mut *t)
            .await
            .map_err(err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }

    async fn rename_identity(
        &self,
        identity_id: &str,
        first: &str,
        last: &str,
        now: Micros,
        fx: Effects,
    ) -> R<()> {
        let name = roster_domain::types::full_name(first, last);
        let i = self
            .home_of(identity_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let db = self.member(i);
        let members = memberships_on(db, identity_id).await?;
        let (fx, rest) = self.local(i, fx).await?;
        tx!(db, |t| {
            sqlx::query("UPDATE identities SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(&name)
                .bind(now)
                .bind(identity_id)
                .execute(&mut *t)
                .await
                .map_err(err)?;
            for (org_id, user_id) in &members {
                let email: String =
                    sqlx::query_scalar("SELECT email FROM users WHERE org_id = $1 AND id = $2")
                        .bind(org_id.as_str())
                        .bind(user_id.as_str())
                        .fetch_one(&mut *t)
                        .await
                        .map_err(err)?;
                let k = user_keys(&email, first, last);
                sqlx::query(
                    "UPDATE users SET first_name = $1, last_name = $2, first_key = $3, last_key = $4, name_key = $5, \
                     search_text = $6, updated_at = updated_at + 1 WHERE org_id = $7 AND id = $8",
                )
                .bind(first)
                .bind(last)
                .bind(&k.first_key)
                .bind(&k.last_key)
                .bind(&k.name_key)
                .bind(&k.search_text)
                .bind(org_id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
            }
            write_effects(&mut t.tx(), &fx).await?;
        });
        self.elsewhere(rest).await
    }
}

async fn get_on(db: &Db, id: &str) -> R<Option<Identity>> {
    run!(db, |p| {
        let row = sqlx::query(
            "SELECT id, email, email_lower, name, connection, email_verified, sessions_valid_after, epoch, created_at FROM identities WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await
        .map_err(err)?;
        let Some(r) = row else { return Ok(None) };
        let connection: String = get!(&r, "connection");
        Ok(Some(Identity {
            id: get!(&r, "id"),
            email: get!(&r, "email"),
            email_lower: get!(&r, "email_lower"),
            name: get!(&r, "name"),
            connection: Connection::parse(&connection).unwrap_or(Connection::Password),
            email_verified: get!(&r, "email_verified"),
            sessions_valid_after: get!(&r, "sessions_valid_after"),
            epoch: get!(&r, "epoch"),
            created_at: get!(&r, "created_at"),
        }))
    })
}

async fn memberships_on(db: &Db, identity_id: &str) -> R<Vec<(OrgId, UserId)>> {
    let rows: Vec<(String, String)> = run!(db, |p| sqlx::query_as(
        "SELECT org_id, id FROM users WHERE identity_id = $1 ORDER BY org_id"
    )
    .bind(identity_id)
    .fetch_all(p)
    .await
    .map_err(err))?;
    Ok(rows
        .into_iter()
        .map(|(org_id, user_id)| (OrgId::from(org_id), UserId::from(user_id)))
        .collect())
}

async fn by_email_on(db: &Db, email_lower: &str) -> R<Option<Identity>> {
    let id: Option<String> = run!(db, |p| sqlx::query_scalar(
        "SELECT id FROM identities WHERE email_lower = $1"
    )
    .bind(email_lower)
    .fetch_optional(p)
    .await
    .map_err(err)?);
    match id {
        Some(id) => get_on(db, &id).await,
        None => Ok(None),
    }
}

async fn hash_on(db: &Db, identity_id: &str) -> R<Option<String>> {
    let h: Option<Option<String>> = run!(db, |p| sqlx::query_scalar(
        "SELECT password_hash FROM identities WHERE id = $1"
    )
    .bind(identity_id)
    .fetch_optional(p)
    .await
    .map_err(err)?);
    Ok(h.flatten())
}
