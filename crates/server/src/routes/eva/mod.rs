//! The eva-user API, mounted at `/eva-user/org/{orgUUID}/...` and `/org/{orgUUID}/...`: a thin
//! adapter over the core, with eva's `StandardError` / `ValidationError` bodies.

mod bulk;
mod dto;
mod error;
mod words;

use axum::extract::State;
use roster_domain::model::Configuration;
use roster_domain::types::UserId;
use roster_domain::Error;
use utoipa_axum::routes;

pub use error::render;

use crate::error::Result;
use crate::extract::{Body, Caller, Path, Req};
use crate::openapi::errors::Shape;
use crate::reply::{NoContent, Reply};
use crate::state::AppState;
use crate::surface::{Finished, Policy, Surface, SurfaceRouter};
use dto::*;

/// eva's errors are `StandardError`s naming the request's path.
pub const SURFACE: Surface = Surface {
    name: "eva",
    render: error::render,
    shape: Shape::Eva,
    closes_for_maintenance: true,
};

/// Each operation's rate limit, by operation id.
pub const POLICIES: &[(&str, Policy)] = &[
    ("listUsers", Policy::Caller("get-users")),
    ("quicksearch", Policy::Caller("search-users")),
    ("createUser", Policy::Caller("create-invited-user")),
    ("getUser", Policy::Caller("get-users")),
    ("updateUser", Policy::Caller("update-user-info")),
    ("activateUser", Policy::Caller("update-user-info")),
    ("deleteUser", Policy::Caller("delete-user")),
    ("identityProvider", Policy::Caller("get-users")),
    ("setConfiguration", Policy::Caller("set-configuration")),
    ("getConfigurations", Policy::Caller("get-configurations")),
    ("getBotConfigurations", Policy::Caller("get-configurations")),
    ("userHasConfiguration", Policy::Caller("get-configurations")),
    (
        "userHasBotConfiguration",
        Policy::Caller("get-configurations"),
    ),
    ("bulkCreateUsers", Policy::Caller("bulk-users")),
    ("bulkDeleteUsers", Policy::Caller("bulk-users")),
    ("bulkGrantPermissions", Policy::Caller("bulk-users")),
    ("bulkRevokePermissions", Policy::Caller("bulk-users")),
];

/// The surface at its base path `/`; `routes::build` also mounts it under `/eva-user`.
pub fn router(max_csv: usize) -> Finished {
    SurfaceRouter::new(SURFACE, crate::openapi::bearer_base(), POLICIES)
        .routes(routes!(list, create))
        .routes(routes!(quicksearch))
        .routes(routes!(identity_provider))
        .routes(routes!(activate))
        .routes(routes!(get_user, update, remove))
        .routes(routes!(set_config, configs))
        .routes(routes!(has_config))
        .routes(routes!(bot_configs))
        .routes(routes!(bot_has_config))
        .merge(bulk::router(max_csv))
        .owns("/org/")
        .finish()
}

/// The `language` query parameter (default `en`); the core checks it.
pub(super) fn language(req: &Req) -> String {
    req.query.one("language").unwrap_or("en").to_owned()
}

/// List users: a Spring page (`page` from 0, `linesPerPage`, `orderBy` name|email|company|createdAt,
/// `direction` ASC|DESC, `searchTerms` in name, email or company).
#[utoipa::path(
    get,
    path = "/org/{orgUUID}/users",
    operation_id = "listUsers",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("page" = Option<i64>, Query, description = "From 0."), ("linesPerPage" = Option<i64>, Query, description = "Default 5."), ("orderBy" = Option<String>, Query, description = "`name`, `email`, `company` or `createdAt` (default)."), ("direction" = Option<String>, Query, description = "`ASC` or `DESC` (default)."), ("searchTerms" = Option<String>, Query, description = "A part of the name, email or company.")),
    responses((status = 200, description = "A page of users", body = Page)),
    security(("bearerAuth" = []))
)]
async fn list(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req: Req,
) -> Result<Reply<200, Page>> {
    let l = words::list_query(&req.query)?;
    let org = s.core.find_org(&org_uuid).await?;
    caller.ctx.access(&org)?;
    let query = words::list_page(&req.query, &l)?;
    let result = s.core.eva_list(&caller.ctx, &org, &query).await?;
    let content = result.items.into_iter().map(UserOut::new).collect();
    Ok(Reply(page_body(content, l.page, l.lines, result.total)))
}

fn page_body(content: Vec<UserOut>, page: i64, lines: i64, total: i64) -> Page {
    dto::page(content, page, lines, total, true)
}

/// Names that start with `name`, alphabetical, at most `limit` (default 6).
#[utoipa::path(
    get,
    path = "/org/{orgUUID}/users/quicksearch",
    operation_id = "quicksearch",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("name" = Option<String>, Query, description = "The start of the name."), ("limit" = Option<i64>, Query, description = "Default 6.")),
    responses((status = 200, description = "Names, alphabetical", body = Vec<String>)),
    security(("bearerAuth" = []))
)]
async fn quicksearch(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req: Req,
) -> Result<Reply<200, Vec<String>>> {
    let mut problems = Vec::new();
    let limit = req.query.int("limit", 6, &mut problems);
    if !problems.is_empty() {
        return Err(Error::Validation(problems).into());
    }
    let name = req.query.one("name").unwrap_or("").to_owned();
    Ok(Reply(
        s.core
            .quicksearch(&caller.ctx, &org_uuid, &name, limit)
            .await?,
    ))
}

/// Create a user with a password (and its confirmation); a welcome email goes out in `language`.
#[utoipa::path(
    post,
    path = "/org/{orgUUID}/users",
    operation_id = "createUser",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("language" = Option<String>, Query, description = "Language of the welcome email (default `en`).")),
    request_body = UserWrite,
    responses((status = 200, description = "The created user", body = UserOut)),
    security(("bearerAuth" = []))
)]
async fn create(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req: Req,
    Body(b): Body<UserWrite>,
) -> Result<Reply<200, UserOut>> {
    s.limits
        .check_address(&s.core.find_org(&org_uuid).await?.id, &b.email)
        .await?;
    let lang = language(&req);
    let user = s
        .core
        .eva_create(&caller.ctx, &org_uuid, b.into(), &lang)
        .await
        .map_err(words::eva_fields)?;
    Ok(Reply(UserOut::new(user)))
}

#[utoipa::path(
    get,
    path = "/org/{orgUUID}/users/{userId}",
    operation_id = "getUser",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("userId" = String, Path, description = "The user's id.")),
    responses((status = 200, description = "The user", body = UserOut)),
    security(("bearerAuth" = []))
)]
async fn get_user(
    State(s): State<AppState>,
    Path((org_uuid, user_id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Reply<200, UserOut>> {
    let user = s
        .core
        .eva_get(&caller.ctx, &org_uuid, &UserId::from(&user_id))
        .await?;
    Ok(Reply(UserOut::new(user)))
}

/// Replace a user's data; `password` only for one's own account, the email not at all.
#[utoipa::path(
    put,
    path = "/org/{orgUUID}/users/{userId}",
    operation_id = "updateUser",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("userId" = String, Path, description = "The user's id.")),
    request_body = UserWrite,
    responses((status = 200, description = "The updated user", body = UserOut)),
    security(("bearerAuth" = []))
)]
async fn update(
    State(s): State<AppState>,
    Path((org_uuid, user_id)): Path<(String, String)>,
    caller: Caller,
    Body(b): Body<UserWrite>,
) -> Result<Reply<200, UserOut>> {
    let user = s
        .core
        .eva_update(&caller.ctx, &org_uuid, &UserId::from(&user_id), b.into())
        .await
        .map_err(words::eva_fields)?;
    Ok(Reply(UserOut::new(user)))
}

/// Re-activate a deleted (deactivated) user found by email, with the given data.
#[utoipa::path(
    put,
    path = "/org/{orgUUID}/users/activate",
    operation_id = "activateUser",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("language" = Option<String>, Query, description = "Language of the welcome email (default `en`).")),
    request_body = UserWrite,
    responses((status = 200, description = "The re-activated user", body = UserOut)),
    security(("bearerAuth" = []))
)]
async fn activate(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req: Req,
    Body(b): Body<UserWrite>,
) -> Result<Reply<200, UserOut>> {
    s.limits
        .check_address(&s.core.find_org(&org_uuid).await?.id, &b.email)
        .await?;
    let lang = language(&req);
    let user = s
        .core
        .eva_activate(&caller.ctx, &org_uuid, b.into(), &lang)
        .await
        .map_err(words::eva_fields)?;
    Ok(Reply(UserOut::new(user)))
}

/// Delete (deactivate) a user; 204.
#[utoipa::path(
    delete,
    path = "/org/{orgUUID}/users/{userId}",
    operation_id = "deleteUser",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("userId" = String, Path, description = "The user's id.")),
    responses((status = 204, description = "Deleted")),
    security(("bearerAuth" = []))
)]
async fn remove(
    State(s): State<AppState>,
    Path((org_uuid, user_id)): Path<(String, String)>,
    caller: Caller,
) -> Result<NoContent> {
    s.core
        .eva_delete(&caller.ctx, &org_uuid, &UserId::from(&user_id))
        .await?;
    Ok(NoContent)
}

/// The caller's own user, from the token.
#[utoipa::path(
    get,
    path = "/org/{orgUUID}/users/identity-provider",
    operation_id = "identityProvider",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID.")),
    responses((status = 200, description = "The caller", body = UserOut)),
    security(("bearerAuth" = []))
)]
async fn identity_provider(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
) -> Result<Reply<200, UserOut>> {
    let user = s.core.identity_provider(&caller.ctx, &org_uuid).await?;
    Ok(Reply(UserOut::new(user)))
}

/// Set one of the caller's configuration values (for one bot with `botUUID`).
#[utoipa::path(
    post,
    path = "/org/{orgUUID}/configurations",
    operation_id = "setConfiguration",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID.")),
    request_body = ConfigIn,
    responses((status = 200, description = "The value set", body = ConfigOut)),
    security(("bearerAuth" = []))
)]
async fn set_config(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    Body(b): Body<ConfigIn>,
) -> Result<Reply<200, ConfigOut>> {
    let c = Configuration {
        key: b.key,
        value: b.value,
        bot_uuid: b.bot_uuid.filter(|x| !x.is_empty()),
    };
    let c = s.core.set_configuration(&caller.ctx, &org_uuid, c).await?;
    Ok(Reply(config_out(&c)))
}

#[utoipa::path(
    get,
    path = "/org/{orgUUID}/configurations",
    operation_id = "getConfigurations",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID.")),
    responses((status = 200, description = "The caller's values", body = Vec<ConfigOut>)),
    security(("bearerAuth" = []))
)]
async fn configs(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
) -> Result<Reply<200, Vec<ConfigOut>>> {
    let list = s.core.configurations(&caller.ctx, &org_uuid, None).await?;
    Ok(Reply(list.iter().map(config_out).collect::<Vec<_>>()))
}

#[utoipa::path(
    get,
    path = "/org/{orgUUID}/configurations/{botUUID}",
    operation_id = "getBotConfigurations",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("botUUID" = String, Path, description = "The bot's UUID.")),
    responses((status = 200, description = "The caller's values for the bot", body = Vec<ConfigOut>)),
    security(("bearerAuth" = []))
)]
async fn bot_configs(
    State(s): State<AppState>,
    Path((org_uuid, bot_uuid)): Path<(String, String)>,
    caller: Caller,
) -> Result<Reply<200, Vec<ConfigOut>>> {
    let list = s
        .core
        .configurations(&caller.ctx, &org_uuid, Some(&bot_uuid))
        .await?;
    Ok(Reply(list.iter().map(config_out).collect::<Vec<_>>()))
}

fn key(req: &Req) -> String {
    req.query.one("key").unwrap_or("").to_owned()
}

#[utoipa::path(
    get,
    path = "/org/{orgUUID}/configurations/userHasConf",
    operation_id = "userHasConfiguration",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("key" = Option<String>, Query, description = "The configuration key.")),
    responses((status = 200, description = "Whether the caller has the key", body = bool, content_type = "application/json")),
    security(("bearerAuth" = []))
)]
async fn has_config(
    State(s): State<AppState>,
    Path(org_uuid): Path<String>,
    caller: Caller,
    req: Req,
) -> Result<Reply<200, bool>> {
    Ok(Reply(
        s.core
            .has_configuration(&caller.ctx, &org_uuid, None, &key(&req))
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/org/{orgUUID}/configurations/{botUUID}/userHasConf",
    operation_id = "userHasBotConfiguration",
    tag = "eva-user",
    params(("orgUUID" = String, Path, description = "The organization's UUID."), ("botUUID" = String, Path, description = "The bot's UUID."), ("key" = Option<String>, Query, description = "The configuration key.")),
    responses((status = 200, description = "Whether the caller has the key for the bot", body = bool, content_type = "application/json")),
    security(("bearerAuth" = []))
)]
async fn bot_has_config(
    State(s): State<AppState>,
    Path((org_uuid, bot_uuid)): Path<(String, String)>,
    caller: Caller,
    req: Req,
) -> Result<Reply<200, bool>> {
    Ok(Reply(
        s.core
            .has_configuration(&caller.ctx, &org_uuid, Some(&bot_uuid), &key(&req))
            .await?,
    ))
}
