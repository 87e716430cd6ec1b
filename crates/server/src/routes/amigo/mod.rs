//! The Amigo classic User API, mounted at `/v1/{organization}/...`: a thin adapter that parses
//! the vendor's shapes, calls the core, and renders the vendor's shapes and errors.

mod dto;
mod error;
mod links;
mod orgs;
mod roles;
mod users;

use axum::http::Method;
use axum::routing::get;
use utoipa_axum::routes;

pub use error::render;

use crate::openapi::errors::Shape;
use crate::surface::{Finished, Policy, Surface, SurfaceRouter};

/// Amigo's errors are FastAPI's; its paths are under `/v1/`.
pub const SURFACE: Surface = Surface {
    name: "amigo",
    render: error::render,
    shape: Shape::FastApi,
    closes_for_maintenance: true,
};

/// Each operation's rate limit, by operation id (pages by the name given where they are routed).
const POLICIES: &[(&str, Policy)] = &[
    ("get-organization", Policy::Caller("get-organization")),
    ("create-organization", Policy::Caller("create-organization")),
    ("modify-organization", Policy::Caller("modify-organization")),
    ("delete-organization", Policy::Caller("delete-organization")),
    ("create-api-key", Policy::Caller("create-api-key")),
    ("get-api-keys", Policy::Caller("get-api-keys")),
    ("delete-api-key", Policy::Caller("delete-api-key")),
    ("create-invited-user", Policy::Caller("create-invited-user")),
    (
        "create-invited-user-at-invite",
        Policy::Caller("create-invited-user"),
    ),
    ("get-users", Policy::Caller("get-users")),
    // Failures count per client and successes per key, which only the handler can tell apart.
    (
        "sign-in-with-api-key",
        Policy::Handler(&["sign-in-with-api-key"]),
    ),
    ("sign-in-with-email", Policy::Client("sign-in-with-email")),
    ("verify-link", Policy::Client("verify-token")),
    ("verify-page", Policy::Client("show-page")),
    ("complete-password-reset", Policy::Client("verify-token")),
    ("password-reset-page", Policy::Client("show-page")),
    (
        "request-password-reset",
        Policy::Client("request-password-reset-email"),
    ),
    ("search-users", Policy::Caller("search-users")),
    ("update-user-info", Policy::Caller("update-user-info")),
    (
        "update-user-info-at-user",
        Policy::Caller("update-user-info"),
    ),
    ("delete-user", Policy::Caller("delete-user")),
    ("get-user-model", Policy::Caller("get-user-model")),
    ("get-memories", Policy::Caller("get-memories")),
    (
        "modify-user-variables",
        Policy::Caller("modify-user-variables"),
    ),
    (
        "create-temporary-permission-grant",
        Policy::Caller("create-temporary-permission-grant"),
    ),
    (
        "get-temporary-permission-grants",
        Policy::Caller("get-temporary-permission-grants"),
    ),
    ("create-role", Policy::Caller("create-role")),
    (
        "get_roles_v1__organization__role__get",
        Policy::Caller("get-roles"),
    ),
    ("modify-role", Policy::Caller("modify-role")),
    ("assign-role", Policy::Caller("assign-role")),
];

/// The Amigo surface with its document.
pub fn router() -> Finished {
    SurfaceRouter::new(SURFACE, crate::openapi::amigo_base(), POLICIES)
        .routes_and_twins(routes!(
            orgs::get_organization,
            orgs::create_organization,
            orgs::modify_organization,
            orgs::delete_organization
        ))
        .routes_and_twins(routes!(orgs::create_api_key, orgs::get_api_keys))
        .routes_and_twins(routes!(orgs::delete_api_key))
        .routes_and_twins(routes!(users::invite, users::list))
        .routes_and_twins(routes!(users::invite_at_invite))
        .routes_and_twins(routes!(users::sign_in_with_api_key))
        .routes_and_twins(routes!(users::sign_in_with_email))
        .routes_and_twins(routes!(links::verify))
        // HTML landing pages that emailed links open: served, not in the API document.
        .page_and_twin(
            "/v1/{organization}/user/verify",
            &[(Method::GET, "verify-page")],
            get(links::verify_page),
        )
        .routes_and_twins(routes!(links::complete_password_reset))
        .page_and_twin(
            "/v1/{organization}/user/password-reset",
            &[(Method::GET, "password-reset-page")],
            get(links::password_reset_page),
        )
        .routes_and_twins(routes!(links::request_password_reset))
        .routes_and_twins(routes!(users::search))
        .routes_and_twins(routes!(users::update, users::delete))
        .routes_and_twins(routes!(users::update_at_user))
        .routes_and_twins(routes!(users::user_model))
        .routes_and_twins(routes!(users::memories))
        .routes_and_twins(routes!(users::variables))
        .routes_and_twins(routes!(roles::create_grant))
        .routes_and_twins(routes!(roles::list_grants))
        .routes_and_twins(routes!(roles::create, roles::list))
        .routes_and_twins(routes!(roles::modify))
        .routes_and_twins(routes!(roles::assign))
        .owns("/v1/")
        .finish()
}
