//! The routes of the organization's pages (`organization.rs`, `org_parts.rs`,
//! `org_tokens.rs`), the platform page and the viewer's time zone.

use axum::http::Method;
use axum::routing::{get, post};
use utoipa::openapi::OpenApi;

use super::{org_parts, org_tokens, organization, platform, timezone, POLICIES, SURFACE};
use crate::surface::{Finished, SurfaceRouter};

/// The routes of these pages.
pub fn router() -> Finished {
    const ACTION: &[(Method, &str)] = &[(Method::POST, "console-action")];
    const BOTH: &[(Method, &str)] = &[
        (Method::GET, "console-page"),
        (Method::POST, "console-action"),
    ];
    let base = "/console/{org}/organization";
    SurfaceRouter::new(SURFACE, OpenApi::default(), POLICIES)
        .page(base, BOTH, get(organization::show).post(organization::save))
        .page(
            &format!("{base}/branding"),
            ACTION,
            post(organization::save_branding),
        )
        .page(
            &format!("{base}/connections"),
            BOTH,
            get(org_parts::connections).post(org_parts::add_connection),
        )
        .page(
            &format!("{base}/connections/{{name}}/delete"),
            ACTION,
            post(org_parts::delete_connection),
        )
        .page(
            &format!("{base}/clients"),
            BOTH,
            get(org_parts::clients).post(org_parts::add_client),
        )
        .page(
            &format!("{base}/clients/{{client}}/delete"),
            ACTION,
            post(org_parts::delete_client),
        )
        .page(
            &format!("{base}/scim-tokens"),
            BOTH,
            get(org_tokens::scim_tokens).post(org_tokens::add_scim_token),
        )
        .page(
            &format!("{base}/scim-tokens/{{token}}/revoke"),
            ACTION,
            post(org_tokens::revoke_scim_token),
        )
        .page(
            &format!("{base}/webhooks"),
            BOTH,
            get(org_tokens::webhooks).post(org_tokens::add_webhook),
        )
        .page(
            &format!("{base}/webhooks/{{webhook}}/delete"),
            ACTION,
            post(org_tokens::delete_webhook),
        )
        .page(
            "/console/{org}/platform",
            BOTH,
            get(platform::show).post(platform::create),
        )
        .page(
            "/console/{org}/timezone",
            BOTH,
            get(timezone::show).post(timezone::choose),
        )
        .finish()
}
