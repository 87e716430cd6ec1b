//! Statements shared by several changes, as plain functions over an open transaction: each
//! takes the transaction and the values it writes, and returns what it found. A leaf module:
//! it names no other store module but the SQL builder and the row decoders.

use roster_domain::model::{EnvAccess, Role, User};
use roster_domain::store::{NewIdentity, OnJoin, Refusal, StoreError};
use roster_domain::types::OrgId;
use roster_domain::types::{user_keys, Micros, UserId};
use sqlx::{PgConnection, SqliteConnection};

use crate::sql::{bind_all, Arg, Sql};
use crate::{err, json_err, R};

/// An open write transaction of either backend, as the statements of this module take it.
pub(crate) enum Tx<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// The [`Tx`] of a transaction `tx!` opened (each arm of its body has its own driver's type).
pub(crate) trait AsTx {
    fn tx(&mut self) -> Tx<'_>;
}

impl AsTx for sqlx::Transaction<'_, sqlx::Sqlite> {
    fn tx(&mut self) -> Tx<'_> {
        Tx::Sqlite(self)
    }
}

impl AsTx for sqlx::Transaction<'_, sqlx::Postgres> {
    fn tx(&mut self) -> Tx<'_> {
        Tx::Postgres(self)
    }
}

/// Runs `$body` with `$c` bound to the transaction's connection, once per driver.
macro_rules! on {
    ($t:expr, |$c:ident| $body:expr) => {
        match $t {
            $crate::stmt::Tx::Sqlite(conn) => {
                let $c: &mut sqlx::SqliteConnection = &mut **conn;
                $body
            }
            $crate::stmt::Tx::Postgres(conn) => {
                let $c: &mut sqlx::PgConnection = &mut **conn;
                $body
            }
        }
    };
}
pub(crate) use on;

/// Maps a uniqueness conflict of a user row to the field it is about.
fn email_conflict(e: sqlx::Error) -> StoreError {
    match err(e) {
        StoreError::Conflict { .. } => StoreError::Conflict { field: "email" },
        e => e,
    }
}

/// Takes the organization's row lock, so checks of "the last administrator" serialize.
pub(crate) async fn lock_org(t: &mut Tx<'_>, org_id: &OrgId) -> R<()> {
    on!(t, |c| sqlx::query(
        "UPDATE organizations SET updated_at = updated_at WHERE id = $1"
    )
    .bind(org_id.as_str())
    .execute(&mut *c)
    .await
    .map(|_| ())
    .map_err(err))?;
    Ok(())
}

/// Active administrators of an organization.
pub(crate) async fn count_admins(t: &mut Tx<'_>, org_id: &OrgId) -> R<i64> {
    on!(t, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE org_id = $1 AND is_admin AND status = 'active'",
    )
    .bind(org_id.as_str())
    .fetch_one(&mut *c)
    .await
    .map_err(err))
}

/// Refuses when the organization had an active administrator (`before`) and has none now.
pub(crate) async fn keep_an_admin(t: &mut Tx<'_>, org_id: &OrgId, before: i64) -> R<()> {
    if before > 0 && count_admins(t, org_id).await? == 0 {
        return Err(StoreError::Refused(Refusal::LastAdmin));
    }
    Ok(())
}

pub(crate) async fn insert_role(t: &mut Tx<'_>, r: &Role) -> R<()> {
    let grants = serde_json::to_string(&r.grants).map_err(json_err)?;
    on!(t, |c| {
        sqlx::query(
        "INSERT INTO roles (org_id, id, name, description, frontend_view, grants, is_admin, builtin, created_at, updated_at, external_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&r.org_id)
    .bind(&r.id)
    .bind(&r.name)
    .bind(&r.description)
    .bind(&r.frontend_view)
    .bind(&grants)
    .bind(r.is_admin)
    .bind(r.builtin)
    .bind(r.created_at)
    .bind(r.updated_at)
    .bind(&r.external_id)
    .execute(&mut *c)
    .await
    .map(|_| ())
    .map_err(err)
    })?;
    Ok(())
}

pub(crate) async fn insert_api_key(t: &mut Tx<'_>, k: &roster_domain::model::ApiKey) -> R<()> {
    on!(t, |c| {
        sqlx::query(
        "INSERT INTO api_keys (org_id, key_id, doc_id, name, secret_hash, role_id, creator_user_id, creator_org_id, \
         expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&k.org_id)
    .bind(&k.key_id)
    .bind(&k.doc_id)
    .bind(&k.name)
    .bind(&k.secret_hash)
    .bind(&k.role_id)
    .bind(&k.creator_user_id)
    .bind(&k.creator_org_id)
    .bind(k.expires_at)
    .bind(k.created_at)
    .bind(k.updated_at)
    .execute(&mut *c)
    .await
    .map(|_| ())
    .map_err(err)
    })?;
    Ok(())
}

/// Finds or creates the identity of a new user's email and returns the user attached to it,
/// with the id of the identity it joined when that identity existed before.
pub(crate) async fn attach_identity(
    t: &mut Tx<'_>,
    i: &NewIdentity,
    user: &User,
) -> R<(User, Option<String>)> {
    let id: String = on!(t, |c| {
        sqlx::query(
            "INSERT INTO identities (id, email, email_lower, name, password_hash, connection, email_verified, \
             sessions_valid_after, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9) \
             ON CONFLICT (email_lower) DO NOTHING",
        )
        .bind(&i.id)
        .bind(&i.email)
        .bind(&i.email_lower)
        .bind(&i.name)
        .bind(&i.password_hash)
        .bind(i.connection.as_str())
        .bind(i.email_verified)
        .bind(user.created_at)
        .bind(user.created_at)
        .execute(&mut *c)
        .await
        .map_err(err)?;
        sqlx::query_scalar("SELECT id FROM identities WHERE email_lower = $1")
            .bind(&i.email_lower)
            .fetch_one(&mut *c)
            .await
            .map_err(err)?
    });
    let joined = (id != i.id).then(|| id.clone());
    let mut u = user.clone();
    u.identity_id = id;
    Ok((u, joined))
}

/// What joining existing identities does to them, as the core decided ([`OnJoin`]): their
/// epoch moves (links issued before the join set no credential any more), and with
/// `clear_unproven_password` the password of each whose address nobody has proven is cleared,
/// ending at that stamp the sessions it opened (they were never the person's).
pub(crate) async fn apply_join(t: &mut Tx<'_>, identity_ids: &[String], on: OnJoin) -> R<()> {
    if identity_ids.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("UPDATE identities SET epoch = epoch + 1");
    if let Some(stamp) = on.clear_unproven_password {
        sql.push(
            ", sessions_valid_after = CASE WHEN password_hash IS NOT NULL AND NOT email_verified \
             THEN ",
        );
        sql.bind(Arg::Int(stamp)).push(
            " ELSE sessions_valid_after END, password_hash = CASE WHEN email_verified \
             THEN password_hash ELSE NULL END",
        );
    }
    sql.push(" WHERE ").in_list("id", identity_ids);
    on!(t, |c| bind_all!(crate::sql::query(&sql), sql.args)
        .execute(&mut *c)
        .await
        .map(|_| ())
        .map_err(err))?;
    Ok(())
}

/// [`attach_identity`], then [`apply_join`] when the identity existed: the user as stored.
pub(crate) async fn join_identity(t: &mut Tx<'_>, i: &NewIdentity, user: &User) -> R<User> {
    let (user, joined) = attach_identity(t, i, user).await?;
    if let Some(id) = joined {
        apply_join(t, &[id], i.on_join).await?;
    }
    Ok(user)
}

/// Inserts one user row and its roles.
pub(crate) async fn insert_user(t: &mut Tx<'_>, u: &User) -> R<()> {
    let mut sql = Sql::new(USER_INSERT);
    sql.push(" VALUES ").values([user_values(u)?]);
    on!(t, |c| {
        bind_all!(crate::sql::query(&sql), sql.args)
            .execute(&mut *c)
            .await
            .map_err(email_conflict)?;
        for role_id in &u.role_ids {
            sqlx::query("INSERT INTO user_roles (org_id, user_id, role_id) VALUES ($1, $2, $3)")
                .bind(u.org_id.as_str())
                .bind(u.id.as_str())
                .bind(role_id)
                .execute(&mut *c)
                .await
                .map_err(err)?;
        }
    });
    Ok(())
}

/// The folded name a directory looks a member up by: its own name for the member, else the
/// login email (migration 0019).
pub(crate) fn user_name_key(u: &User, email_lower: &str) -> String {
    match &u.user_name {
        Some(n) => roster_domain::types::fold(n),
        None => email_lower.to_owned(),
    }
}

/// The head of an INSERT of user rows, whose values [`user_values`] gives.
pub(crate) const USER_INSERT: &str = "INSERT INTO users (org_id, id, identity_id, email, email_lower, first_name, last_name, first_key, last_key, \
     name_key, search_text, status, is_admin, preferences, additional_context, nonsensitive_variables, \
     sensitive_names, company, image, enable_actions_access, num_conversations, num_messages, last_message_at, \
     created_at, updated_at, company_key, connection, external_id, user_name, user_name_key)";

/// The values of a user row, in the columns of [`USER_INSERT`].
pub(crate) fn user_values(u: &User) -> R<Vec<Arg>> {
    let k = user_keys(&u.email, &u.first_name, &u.last_name);
    let name_key = user_name_key(u, &k.email_lower);
    Ok(vec![
        Arg::Text(u.org_id.to_string()),
        Arg::Text(u.id.to_string()),
        Arg::Text(u.identity_id.clone()),
        Arg::Text(u.email.clone()),
        Arg::Text(k.email_lower),
        Arg::Text(u.first_name.clone()),
        Arg::Text(u.last_name.clone()),
        Arg::Text(k.first_key),
        Arg::Text(k.last_key),
        Arg::Text(k.name_key),
        Arg::Text(k.search_text),
        Arg::Text(u.status.as_str().to_owned()),
        Arg::Bool(u.is_admin),
        Arg::Text(serde_json::to_string(&u.preferences).map_err(json_err)?),
        Arg::Text(serde_json::to_string(&u.additional_context).map_err(json_err)?),
        Arg::Text(serde_json::to_string(&u.nonsensitive_variables).map_err(json_err)?),
        Arg::Text(serde_json::to_string(&u.sensitive_names).map_err(json_err)?),
        Arg::OptText(u.company.clone()),
        Arg::OptText(u.image.clone()),
        Arg::Bool(u.enable_actions_access),
        Arg::Int(u.stats.num_conversations),
        Arg::Int(u.stats.num_messages),
        Arg::Int(u.stats.last_message_at.unwrap_or(0)),
        Arg::Int(u.created_at),
        Arg::Int(u.updated_at),
        Arg::Text(roster_domain::types::fold(
            u.company.as_deref().unwrap_or(""),
        )),
        Arg::Text(u.connection.as_str().to_owned()),
        Arg::OptText(u.external_id.clone()),
        Arg::OptText(u.user_name.clone()),
        Arg::Text(name_key),
    ])
}

/// The UPDATE of a user's profile row with its optimistic-concurrency check. With
/// `sessions_end`, the membership's sessions begun before that stamp end (the core asks for it
/// when it deactivates the user); `NotFound` or `Refused(Stale)` when nothing was updated.
pub(crate) async fn update_user_row(
    t: &mut Tx<'_>,
    u: &User,
    expected: Micros,
    sessions_end: Option<Micros>,
) -> R<()> {
    let k = user_keys(&u.email, &u.first_name, &u.last_name);
    let preferences = serde_json::to_string(&u.preferences).map_err(json_err)?;
    let context = serde_json::to_string(&u.additional_context).map_err(json_err)?;
    let company_key = roster_domain::types::fold(u.company.as_deref().unwrap_or(""));
    let name_key = user_name_key(u, &k.email_lower);
    let exists: Option<i64> = on!(t, |c| {
        let done = sqlx::query(
            "UPDATE users SET email = $1, email_lower = $2, first_name = $3, last_name = $4, first_key = $5, last_key = $6, \
             name_key = $7, search_text = $8, status = $9, preferences = $10, additional_context = $11, company = $12, \
             image = $13, updated_at = $14, company_key = $15, external_id = $16, \
             sessions_valid_after = CASE WHEN $17 THEN $18 ELSE sessions_valid_after END, \
             user_name = $22, user_name_key = $23 \
             WHERE org_id = $19 AND id = $20 AND updated_at = $21",
        )
        .bind(&u.email)
        .bind(&k.email_lower)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&k.first_key)
        .bind(&k.last_key)
        .bind(&k.name_key)
        .bind(&k.search_text)
        .bind(u.status.as_str())
        .bind(&preferences)
        .bind(&context)
        .bind(&u.company)
        .bind(&u.image)
        .bind(u.updated_at)
        .bind(&company_key)
        .bind(&u.external_id)
        .bind(sessions_end.is_some())
        .bind(sessions_end.unwrap_or(0))
        .bind(u.org_id.as_str())
        .bind(u.id.as_str())
        .bind(expected)
        .bind(&u.user_name)
        .bind(&name_key)
        .execute(&mut *c)
        .await
        .map_err(email_conflict)?;
        if done.rows_affected() == 0 {
            Some(
                sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = $1 AND id = $2")
                    .bind(u.org_id.as_str())
                    .bind(u.id.as_str())
                    .fetch_one(&mut *c)
                    .await
                    .map_err(err)?,
            )
        } else {
            None
        }
    });
    match exists {
        None => Ok(()),
        Some(0) => Err(StoreError::NotFound),
        Some(_) => Err(StoreError::Refused(Refusal::Stale)),
    }
}

/// Replaces a user's organization roles and admin flag; `NotFound` without such a user.
pub(crate) async fn replace_roles(
    t: &mut Tx<'_>,
    org_id: &OrgId,
    user_id: &UserId,
    role_ids: &[String],
) -> R<()> {
    let (org, user) = (org_id.as_str(), user_id.as_str());
    on!(t, |c| {
        // Bumping updated_at makes a concurrent optimistic update of this user stale.
        let done = sqlx::query(
            "UPDATE users SET updated_at = updated_at + 1 WHERE org_id = $1 AND id = $2",
        )
        .bind(org)
        .bind(user)
        .execute(&mut *c)
        .await
        .map_err(err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM user_roles WHERE org_id = $1 AND user_id = $2")
            .bind(org)
            .bind(user)
            .execute(&mut *c)
            .await
            .map_err(err)?;
        for r in role_ids {
            sqlx::query("INSERT INTO user_roles (org_id, user_id, role_id) VALUES ($1, $2, $3)")
                .bind(org)
                .bind(user)
                .bind(r)
                .execute(&mut *c)
                .await
                .map_err(err)?;
        }
        // The admin flag follows the roles as they are now, read inside this transaction.
        sqlx::query(
            "UPDATE users SET is_admin = EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.org_id = ur.org_id \
             AND r.id = ur.role_id WHERE ur.org_id = users.org_id AND ur.user_id = users.id AND r.is_admin) \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org)
        .bind(user)
        .execute(&mut *c)
        .await
        .map_err(err)?;
    });
    Ok(())
}

/// Replaces a user's environment access.
pub(crate) async fn write_env_access(
    t: &mut Tx<'_>,
    org_id: &OrgId,
    user_id: &UserId,
    envs: &[EnvAccess],
) -> R<()> {
    let (org, user) = (org_id.as_str(), user_id.as_str());
    on!(t, |c| {
        for table in ["user_environments", "user_environment_bots"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE org_id = $1 AND user_id = $2"
            ))
            .bind(org)
            .bind(user)
            .execute(&mut *c)
            .await
            .map_err(err)?;
        }
        for e in envs {
            sqlx::query("INSERT INTO user_environments (org_id, user_id, environment_uuid, role_name) VALUES ($1, $2, $3, $4)")
                .bind(org)
                .bind(user)
                .bind(&e.environment_uuid)
                .bind(e.role.as_str())
                .execute(&mut *c)
                .await
                .map_err(err)?;
            for b in &e.bots {
                sqlx::query(
                    "INSERT INTO user_environment_bots (org_id, user_id, environment_uuid, bot_uuid) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(org)
                .bind(user)
                .bind(&e.environment_uuid)
                .bind(b)
                .execute(&mut *c)
                .await
                .map_err(err)?;
            }
        }
    });
    Ok(())
}
