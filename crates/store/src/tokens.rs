//! One-time tokens: finding and using them, and what using an emailed link does, applied as
//! the core decided ([`LinkUse`]) in the transaction that uses the token.

use async_trait::async_trait;
use roster_domain::model::{OneTimeToken, TokenPurpose};
use roster_domain::store::{
    DecideUse, Effects, LinkUse, NewPassword, Refusal, StoreError, TokenStore,
};
use roster_domain::types::OrgId;
use roster_domain::types::{user_keys, Micros};

use crate::effects::{write_effects, write_events};
use crate::rows::*;
use crate::sql::{bind_all, Arg, Sql};
use crate::stmt::{on, AsTx, Tx};
use crate::{err, json_err, run, tx, Db, SqlStore, R};

#[async_trait]
impl TokenStore for SqlStore {
    async fn consume_token(
        &self,
        org_id: &OrgId,
        token_hash: &str,
        purposes: &[TokenPurpose],
        now: Micros,
        fx: Effects,
    ) -> R<Option<OneTimeToken>> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        let used = consume_on(db, org_id, token_hash, purposes, now, None, &fx).await?;
        self.elsewhere(rest).await?;
        Ok(used)
    }

    async fn use_link(
        &self,
        org_id: &OrgId,
        token_hash: &str,
        purposes: &[TokenPurpose],
        now: Micros,
        decide: DecideUse<'_>,
        fx: Effects,
    ) -> R<Option<OneTimeToken>> {
        let (db, fx, rest) = self.route_write(org_id, fx).await?;
        let used = consume_on(db, org_id, token_hash, purposes, now, Some(decide), &fx).await?;
        self.elsewhere(rest).await?;
        Ok(used)
    }

    /// Asks the clusters in order, home first: a landing page names no organization.
    async fn find_token(&self, hash: &str, now: Micros) -> R<Option<OneTimeToken>> {
        for db in self.all() {
            if let Some(found) = find_on(db, hash, now).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn spent_token(&self, org_id: &OrgId, hash: &str) -> R<Option<OneTimeToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM one_time_tokens WHERE org_id = $1 AND token_hash = $2 AND used_at IS NOT NULL"
        );
        run!(self.route(org_id).await?, |p| {
            let row = sqlx::query(&sql)
                .bind(org_id.as_str())
                .bind(hash)
                .fetch_optional(p)
                .await
                .map_err(err)?;
            match row {
                Some(r) => Ok(Some(token_from!(&r))),
                None => Ok(None),
            }
        })
    }
    /// The token is on the cluster of the organization it was asked through.
    async fn apply_email_change(
        &self,
        token_hash: &str,
        now: Micros,
        fx: Effects,
    ) -> R<Option<(String, String)>> {
        let mut found = None;
        for (i, db) in self.all().enumerate() {
            if find_on(db, token_hash, now).await?.is_some() {
                found = Some(i);
                break;
            }
        }
        let Some(i) = found else { return Ok(None) };
        let (fx, rest) = self.local(i, fx).await?;
        let moved = email_change_on(self.member(i), token_hash, now, fx).await?;
        self.elsewhere(rest).await?;
        Ok(moved)
    }
}

async fn find_on(db: &Db, hash: &str, now: Micros) -> R<Option<OneTimeToken>> {
    run!(db, |p| {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM one_time_tokens \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        ))
        .bind(hash)
        .bind(now)
        .fetch_optional(p)
        .await
        .map_err(err)?;
        match row {
            Some(r) => Ok(Some(token_from!(&r))),
            None => Ok(None),
        }
    })
}

/// Uses the token and applies what `decide` says its use does, with `fx`, in one
/// transaction; `None` (nothing written) when there is no such token or its use is void.
async fn consume_on(
    db: &Db,
    org_id: &OrgId,
    hash: &str,
    purposes: &[TokenPurpose],
    now: Micros,
    decide: Option<DecideUse<'_>>,
    fx: &Effects,
) -> R<Option<OneTimeToken>> {
    let purposes: Vec<String> = purposes.iter().map(|p| p.as_str().to_owned()).collect();
    let mut sql = Sql::new("UPDATE one_time_tokens SET used_at = ");
    sql.bind(Arg::Int(now)).push(" WHERE token_hash = ");
    sql.text(hash).push(" AND org_id = ");
    sql.text(org_id)
        .push(" AND used_at IS NULL AND expires_at > ");
    sql.bind(Arg::Int(now))
        .push(" AND ")
        .in_list("purpose", &purposes);
    sql.push(&format!(" RETURNING {TOKEN_COLS}"));
    let token = tx!(db, |t| {
        let row = bind_all!(crate::sql::query(&sql), sql.args)
            .fetch_optional(&mut *t)
            .await
            .map_err(err)?;
        let Some(r) = row else { return Ok(None) };
        let token = token_from!(&r);
        let usage = decide.map(|d| d(&token)).unwrap_or_default();
        // Not applied: nothing is (the transaction rolls back, the token stays unused).
        if !apply_use(&mut t.tx(), &token, &usage, now).await? {
            return Ok(None);
        }
        write_effects(&mut t.tx(), fx).await?;
        write_events(&mut t.tx(), usage.events).await?;
        token
    });
    Ok(Some(token))
}

/// Applies a [`LinkUse`] to the token's membership; false when the link is void (its user is
/// no longer invited), `Refused(CredentialRefused)` when a password's conditions fail.
async fn apply_use(t: &mut Tx<'_>, token: &OneTimeToken, u: &LinkUse, now: Micros) -> R<bool> {
    if u.activate_invited {
        let done = on!(t, |c| {
            sqlx::query(
            "UPDATE users SET status = 'active', updated_at = updated_at + 1 WHERE org_id = $1 AND id = $2 AND status = 'invited'"
        )
        .bind(&token.org_id)
        .bind(&token.user_id)
        .execute(&mut *c)
        .await
        .map_err(err)?
        .rows_affected()
        });
        if done == 0 {
            return Ok(false);
        }
    }
    if u.verify_email {
        // The user's own identity is meant: an invitation made before the identity existed
        // names another id.
        on!(t, |c| {
            sqlx::query(
            "UPDATE identities SET email_verified = $1 WHERE id = (SELECT identity_id FROM users WHERE org_id = $2 AND id = $3)"
        )
        .bind(true)
        .bind(&token.org_id)
        .bind(&token.user_id)
        .execute(&mut *c)
        .await
        .map(|_| ())
        .map_err(err)
        })?;
    }
    if let Some(pw) = &u.password {
        set_link_password(t, token, pw, now).await?;
    }
    Ok(true)
}

/// The membership's identity, as stored, gets the password if the conditions the core chose
/// hold now, atomically with the token's use.
async fn set_link_password(
    t: &mut Tx<'_>,
    token: &OneTimeToken,
    pw: &NewPassword,
    now: Micros,
) -> R<()> {
    let done = on!(t, |c| sqlx::query(
        "UPDATE identities SET password_hash = $1, updated_at = $2, epoch = epoch + 1, \
         sessions_valid_after = CASE WHEN $3 THEN $4 ELSE sessions_valid_after END \
         WHERE id = (SELECT identity_id FROM users WHERE org_id = $5 AND id = $6) \
         AND ($7 = FALSE OR password_hash IS NULL) \
         AND ($8 = FALSE OR epoch = $9) \
         AND ($10 = FALSE OR (NOT email_verified AND NOT EXISTS (SELECT 1 FROM users o \
              WHERE o.identity_id = identities.id AND NOT (o.org_id = $5 AND o.id = $6))))",
    )
    .bind(&pw.hash)
    .bind(now)
    .bind(pw.revoke_sessions)
    // The cut-off is a session stamp, as tokens carry one.
    .bind(pw.at)
    .bind(&token.org_id)
    .bind(&token.user_id)
    .bind(pw.only_if_unset)
    .bind(pw.unchanged_since_issued)
    .bind(token.identity_epoch.unwrap_or(-1))
    .bind(pw.sole_membership)
    .execute(&mut *c)
    .await
    .map_err(err)?
    .rows_affected());
    if done == 0 {
        return Err(StoreError::Refused(Refusal::CredentialRefused));
    }
    Ok(())
}

/// Consumes an `email_change` token on `db` and moves its identity and every membership of
/// it to the new address.
async fn email_change_on(
    db: &Db,
    token_hash: &str,
    now: Micros,
    mut fx: Effects,
) -> R<Option<(String, String)>> {
    tx!(db, |t| {
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            // Only while the identity is as it was when the change was asked for (its epoch):
            // a request made before the account joined another organization, or before
            // another credential change, is void.
            "UPDATE one_time_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $4 \
             AND used_at IS NULL AND expires_at > $3 \
             AND identity_epoch = (SELECT i.epoch FROM identities i WHERE i.id = one_time_tokens.identity_id) \
             RETURNING identity_id, payload, org_id, user_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(now)
        .bind(TokenPurpose::EmailChange.as_str())
        .fetch_optional(&mut *t)
        .await
        .map_err(err)?;
        let Some((identity_id, payload, org_id, user_id)) = row else {
            return Ok(None);
        };
        let payload: serde_json::Value = serde_json::from_str(&payload).map_err(json_err)?;
        let email = payload["email"].as_str().unwrap_or_default().to_owned();
        let lower = email.to_lowercase();
        let conflict = |e| match err(e) {
            StoreError::Conflict { .. } => StoreError::Conflict { field: "email" },
            e => e,
        };
        sqlx::query("UPDATE identities SET email = $1, email_lower = $2, email_verified = $3, updated_at = $4, epoch = epoch + 1 WHERE id = $5")
            .bind(&email)
            .bind(&lower)
            .bind(true)
            .bind(now)
            .bind(&identity_id)
            .execute(&mut *t)
            .await
            .map_err(conflict)?;
        let members: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT org_id, id, first_name, last_name FROM users WHERE identity_id = $1",
        )
        .bind(&identity_id)
        .fetch_all(&mut *t)
        .await
        .map_err(err)?;
        for (m_org, m_id, first, last) in &members {
            let k = user_keys(&email, first, last);
            sqlx::query(
                "UPDATE users SET email = $1, email_lower = $2, search_text = $3, updated_at = updated_at + 1, \
                 user_name_key = CASE WHEN user_name IS NULL THEN $2 ELSE user_name_key END \
                 WHERE org_id = $4 AND id = $5",
            )
            .bind(&email)
            .bind(&k.email_lower)
            .bind(&k.search_text)
            .bind(m_org)
            .bind(m_id)
            .execute(&mut *t)
            .await
            .map_err(conflict)?;
        }
        for a in fx.audit.iter_mut() {
            a.org_id = org_id.clone();
            a.target_user_id = Some(user_id.clone());
        }
        // Every membership changed: each organization's audit log and feed hear of it.
        fx.audit.extend(crate::effects::for_each_membership(
            &fx.audit,
            &members,
            (&org_id, &user_id),
        ));
        write_effects(&mut t.tx(), &fx).await?;
        Ok(Some((identity_id, email)))
    })
}
