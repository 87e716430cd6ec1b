//! The org-user-management API (routes as proposed in its reference): the caller's own
//! organization and profile, members, roles, invitations and password resets. Its errors are
//! FastAPI-shaped like Amigo's, so it shares that renderer.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use roster_domain::core::Member;
use roster_domain::model::{Connection, TokenPurpose};
use roster_domain::types::UserId;
use roster_domain::types::{format_micros, full_name};
use roster_domain::{Error, FieldError, Location};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::pages::{link_invalid, page, paragraph, token_form};
use crate::error::Result;
use crate::extract::{form_field, Body, Caller, Path, Req, Submitted};
use crate::openapi::errors::Shape;
use crate::reply::{NoContent, Reply};
use crate::state::AppState;
use crate::surface::{Finished, Policy, Surface, SurfaceRouter};

/// org-user-management's errors are FastAPI-shaped like Amigo's.
pub const SURFACE: Surface = Surface {
    name: "oum",
    render: super::amigo::render,
    shape: Shape::FastApi,
    closes_for_maintenance: true,
};

/// Each operation's rate limit, by operation id; the buckets are those of the Amigo operations
/// doing the same, so one caller has one budget whichever API it speaks.
const POLICIES: &[(&str, Policy)] = &[
    ("get-organization", Policy::Caller("get-organization")),
    ("get-me", Policy::Caller("get-users")),
    ("update-me", Policy::Caller("update-user-info")),
    ("confirm-email-change", Policy::Client("verify-token")),
    ("email-change-page", Policy::Client("show-page")),
    ("list-users", Policy::Caller("get-users")),
    ("get-user", Policy::Caller("get-users")),
    ("remove-user", Policy::Caller("delete-user")),
    ("send-password-reset", Policy::Caller("update-user-info")),
    ("replace-roles", Policy::Caller("assign-role")),
    ("invite-user", Policy::Caller("create-invited-user")),
];

pub fn router() -> Finished {
    SurfaceRouter::new(SURFACE, crate::openapi::bearer_base(), POLICIES)
        .routes(routes!(organization))
        .routes(routes!(me, update_me))
        .routes(routes!(confirm_email_change))
        // The emailed link's landing page: HTML, not in the document.
        .page(
            "/users/email-change/confirm",
            &[(Method::GET, "email-change-page")],
            get(email_change_page),
        )
        .routes(routes!(list))
        .routes(routes!(invite))
        .routes(routes!(get_user, remove))
        .routes(routes!(password_reset))
        .routes(routes!(replace_roles))
        .owns("/organization/")
        .owns("/users/")
        .finish()
}

/// Your organization.
#[derive(Serialize, ToSchema)]
struct OrganizationOut {
    /// The organization's UUID.
    id: String,
    name: String,
    /// The organization's id in paths of the other APIs.
    short_name: String,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

/// A member after a profile change.
#[derive(Serialize, ToSchema)]
struct ProfileOut {
    id: String,
    email: String,
    name: String,
}

/// A page of members.
#[derive(Serialize, ToSchema)]
struct UsersPage {
    /// How many members match, on every page.
    count: i64,
    items: Vec<UserOut>,
}

/// A member of the organization.
#[derive(Serialize, ToSchema)]
struct UserOut {
    id: String,
    email: String,
    name: String,
    roles: Vec<String>,
}

impl From<Member> for UserOut {
    fn from(m: Member) -> Self {
        Self {
            name: full_name(&m.user.first_name, &m.user.last_name),
            id: m.user.id.into(),
            email: m.user.email,
            roles: m.roles,
        }
    }
}

/// Get information about your organization.
#[utoipa::path(
    get,
    path = "/organization",
    operation_id = "get-organization",
    tag = "org-user-management",
    responses((status = 200, description = "Your organization", body = OrganizationOut)),
    security(("bearerAuth" = []))
)]
async fn organization(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Reply<200, OrganizationOut>> {
    let org = s.core.own_org(&caller.ctx).await?;
    Ok(Reply(OrganizationOut {
        id: org.uuid,
        name: org.name,
        short_name: org.short_name,
        created_at: format_micros(org.created_at),
        updated_at: format_micros(org.updated_at),
    }))
}

/// Get your user data: id, email, name and roles in this organization.
#[utoipa::path(
    get,
    path = "/users/me",
    operation_id = "get-me",
    tag = "org-user-management",
    responses((status = 200, description = "You", body = UserOut)),
    security(("bearerAuth" = []))
)]
async fn me(State(s): State<AppState>, caller: Caller) -> Result<Reply<200, UserOut>> {
    Ok(Reply(UserOut::from(s.core.me(&caller.ctx).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateMe {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    /// Read-only fields of `GET /users/me`, accepted so that it can be sent back; ignored.
    #[serde(default, rename = "id")]
    #[schema(read_only, value_type = Option<String>)]
    _id: crate::routes::ReadOnly,
    #[serde(default, rename = "roles")]
    #[schema(read_only, value_type = Option<Vec<String>>)]
    _roles: crate::routes::ReadOnly,
}

/// Update your name (everywhere at once) or email (after confirming the link sent to it).
#[utoipa::path(
    patch,
    path = "/users/me",
    operation_id = "update-me",
    tag = "org-user-management",
    request_body = UpdateMe,
    responses((status = 200, description = "Updated (an email change waits for its confirmation)", body = ProfileOut)),
    security(("bearerAuth" = []))
)]
async fn update_me(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<UpdateMe>,
) -> Result<Reply<200, ProfileOut>> {
    if let Some(email) = &b.email {
        s.limits.check_address(caller_org(&caller), email).await?;
    }
    let m = s.core.update_me(&caller.ctx, b.name, b.email).await?;
    Ok(Reply(ProfileOut {
        name: full_name(&m.user.first_name, &m.user.last_name),
        id: m.user.id.into(),
        email: m.user.email,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Confirm {
    token: String,
}

/// The page of an emailed email-change link: it shows the new address and offers to confirm,
/// leaving the token unused until the form is posted.
async fn email_change_page(State(s): State<AppState>, req: Req) -> Result<Response> {
    let token = req
        .query
        .one("token")
        .map(str::to_owned)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Error::field(Location::Query, "token", "missing", "token is required"))?;
    let Some(view) = s
        .core
        .inspect_link(None, &token, &[TokenPurpose::EmailChange])
        .await?
    else {
        return Ok(link_invalid());
    };
    let address = view.new_email.unwrap_or_default();
    Ok(page(
        StatusCode::OK,
        "Confirm your new email address",
        &format!(
            "{}{}",
            paragraph(&format!(
                "Your account will sign in with {address} from now on, in every organization."
            )),
            token_form("/users/email-change/confirm", &token, false, "Confirm")
        ),
    ))
}

/// Confirm an email change with the token of the link sent to the new address.
#[utoipa::path(
    post,
    path = "/users/email-change/confirm",
    operation_id = "confirm-email-change",
    tag = "org-user-management",
    request_body(content = Confirm, description = "JSON; the landing page's HTML form posts `application/x-www-form-urlencoded` with the same field", content_type = "application/json"),
    responses((status = 204, description = "The email is changed (JSON); the form gets an HTML page")),
    security(())
)]
async fn confirm_email_change(
    State(s): State<AppState>,
    req: Req,
    body: Submitted<Confirm>,
) -> Result<Response> {
    match body {
        Submitted::Json(b) => {
            s.core
                .confirm_email_change(&req.request_id, &b.token)
                .await?;
            Ok(NoContent.into_response())
        }
        Submitted::Form(f) => {
            let token = form_field(&f, "token");
            match s.core.confirm_email_change(&req.request_id, &token).await {
                Ok(()) => Ok(page(
                    StatusCode::OK,
                    "Your email address was changed",
                    &paragraph("Sign in with your new address from now on."),
                )),
                Err(Error::Unauthenticated | Error::Validation(_)) => Ok(link_invalid()),
                Err(e @ Error::Conflict(_)) => Ok(page(
                    StatusCode::CONFLICT,
                    "The address is taken",
                    &paragraph(&e.to_string()),
                )),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// List users in your organization: `page_number` from 1, `page_size` 0-100 (more is read as
/// 100), `name_search` a case-insensitive part of the name.
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "list-users",
    tag = "org-user-management",
    params(("page_number" = Option<i64>, Query, description = "From 1."), ("page_size" = Option<i64>, Query, description = "0 to 100; more is read as 100."), ("name_search" = Option<String>, Query, description = "A case-insensitive part of the name.")),
    responses((status = 200, description = "A page of members", body = UsersPage)),
    security(("bearerAuth" = []))
)]
async fn list(
    State(s): State<AppState>,
    caller: Caller,
    req: Req,
) -> Result<Reply<200, UsersPage>> {
    let page = super::oum_words::member_page(&req.query)?;
    let (count, members) = s.core.list_members(&caller.ctx, &page).await?;
    let items: Vec<UserOut> = members.into_iter().map(Into::into).collect();
    Ok(Reply(UsersPage { count, items }))
}

/// Get a user of your organization by id.
#[utoipa::path(
    get,
    path = "/users/{id}",
    operation_id = "get-user",
    tag = "org-user-management",
    params(("id" = String, Path, description = "The user's id.")),
    responses((status = 200, description = "The member", body = UserOut)),
    security(("bearerAuth" = []))
)]
async fn get_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Reply<200, UserOut>> {
    Ok(Reply(UserOut::from(
        s.core.get_member(&caller.ctx, &UserId::from(&id)).await?,
    )))
}

/// Remove a user from your organization; their account and other memberships stay.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    operation_id = "remove-user",
    tag = "org-user-management",
    params(("id" = String, Path, description = "The user's id.")),
    responses((status = 204, description = "Removed")),
    security(("bearerAuth" = []))
)]
async fn remove(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<NoContent> {
    s.core
        .remove_member(&caller.ctx, &UserId::from(&id))
        .await?;
    Ok(NoContent)
}

/// Send a user a password-reset email (username-password accounts only).
#[utoipa::path(
    post,
    path = "/users/{id}/password-reset",
    operation_id = "send-password-reset",
    tag = "org-user-management",
    params(("id" = String, Path, description = "The user's id.")),
    responses((status = 204, description = "The email is queued")),
    security(("bearerAuth" = []))
)]
async fn password_reset(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<NoContent> {
    // Per caller and target: nobody can use up someone else's budget for a user.
    let caller_id = caller
        .ctx
        .principal()
        .map(|p| p.user_id.clone())
        .unwrap_or_default();
    s.limits
        .check("request-password-reset", &format!("{caller_id}>{}", id))
        .await?;
    s.core
        .request_password_reset(&caller.ctx, &UserId::from(&id))
        .await?;
    Ok(NoContent)
}

/// Replace a user's roles with the given list of `admin`, `developer`, `analyst`.
#[utoipa::path(
    put,
    path = "/users/{id}/roles",
    operation_id = "replace-roles",
    tag = "org-user-management",
    params(("id" = String, Path, description = "The user's id.")),
    request_body = Vec<String>,
    responses((status = 204, description = "Replaced")),
    security(("bearerAuth" = []))
)]
async fn replace_roles(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(roles): Body<Vec<String>>,
) -> Result<NoContent> {
    s.core
        .replace_roles(&caller.ctx, &UserId::from(&id), roles)
        .await?;
    Ok(NoContent)
}

/// A key that must be present, and may be null.
fn present<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Invite {
    /// `google-oauth2` (also when absent), the name of one of the organization's own OpenID
    /// Connect connections, or null for a username-and-password account.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    connection: Option<Option<String>>,
    email: String,
    name: String,
    roles: Vec<String>,
}

/// Invite someone; the membership and its roles take effect when they accept. `connection`:
/// `google-oauth2` (also when absent), or `null` for a username-and-password account.
#[utoipa::path(
    post,
    path = "/users/invite",
    operation_id = "invite-user",
    tag = "org-user-management",
    request_body = Invite,
    responses((status = 204, description = "Invited")),
    security(("bearerAuth" = []))
)]
async fn invite(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<Invite>,
) -> Result<NoContent> {
    s.limits
        .check_address(caller_org(&caller), &b.email)
        .await?;
    let connection = match b.connection {
        None => Some(Connection::GoogleOauth2),
        Some(None) => None,
        Some(Some(c)) => match Connection::parse(&c) {
            Some(Connection::Password) | None => {
                return Err(Error::Validation(vec![FieldError::new(
                    Location::Body,
                    "connection",
                    "enum",
                    "connection must be 'google-oauth2', the name of one of the organization's connections, or null",
                )])
                .into())
            }
            Some(c) => Some(c),
        },
    };
    s.core
        .invite_member(&caller.ctx, &b.email, &b.name, b.roles, connection)
        .await?;
    Ok(NoContent)
}

/// The organization of the caller's token (the one org-user-management acts in).
fn caller_org(caller: &Caller) -> &str {
    caller.ctx.principal().map_or("", |p| p.org_id.as_str())
}
