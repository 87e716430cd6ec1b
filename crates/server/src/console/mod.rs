//! The admin console (`/console`): server-rendered pages (maud) for an organization's
//! administrators, a fourth surface beside the three APIs. It signs in as a first-party
//! OpenID Connect client of Roster itself (`roster-console`: code flow with PKCE S256 against
//! the organization's hosted sign-in page), keeps a server-side session (`core/console.rs`),
//! and calls the same core operations, with the signed-in member's access, as the APIs do.
//! Every form carries the session's CSRF token; every page works without JavaScript, and a
//! vendored htmx (`crates/server/assets/`) only makes the search answer while one types.

mod assets;
mod bulk;
mod i18n;
mod jobs;
mod keys;
mod layout;
mod logs;
mod org_parts;
mod org_router;
mod org_tokens;
mod organization;
mod platform;
mod posted;
mod roles;
mod session;
mod signin;
mod signout;
mod timezone;
mod user;
mod user_envs;
mod user_keys;
mod users;

use axum::http::Method;
use axum::routing::{get, post};
use roster_domain::core::FirstPartyClient;
use utoipa::openapi::OpenApi;

use crate::surface::{Finished, Policy, Surface, SurfaceRouter};

/// The console's client id at every organization's provider.
pub const CLIENT_ID: &str = "roster-console";

/// The built-in client the core knows every organization to have.
pub fn first_party_client(public_url: &str) -> FirstPartyClient {
    FirstPartyClient {
        client_id: CLIENT_ID.into(),
        name: "Roster console".into(),
        redirect_uri: format!(
            "{}/console/{{org}}/callback",
            public_url.trim_end_matches('/')
        ),
    }
}

/// Its errors that no page renders (a panic, an unmatched path) are answered like the native
/// API's; its pages render their own.
pub const SURFACE: Surface = Surface {
    name: "console",
    ..crate::routes::native::SURFACE
};

const POLICIES: &[(&str, Policy)] = &[
    ("console-asset", Policy::Open),
    ("console-page", Policy::Client("console-page")),
    ("console-action", Policy::Client("console-action")),
    ("console-callback", Policy::Client("verify-token")),
];

/// The console's routes; its upload takes bodies up to the CSV limit.
pub fn router(max_csv: usize) -> Finished {
    const PAGE: &[(Method, &str)] = &[(Method::GET, "console-page")];
    const ACTION: &[(Method, &str)] = &[(Method::POST, "console-action")];
    const BOTH: &[(Method, &str)] = &[
        (Method::GET, "console-page"),
        (Method::POST, "console-action"),
    ];
    SurfaceRouter::new(SURFACE, OpenApi::default(), POLICIES)
        .page(
            "/console/assets/{file}",
            &[(Method::GET, "console-asset")],
            get(assets::asset),
        )
        .page("/console", PAGE, get(signin::choose))
        .page("/console/{org}", PAGE, get(signin::home))
        .page("/console/{org}/signin", PAGE, get(signin::start))
        .page(
            "/console/{org}/callback",
            &[(Method::GET, "console-callback")],
            get(signin::callback),
        )
        .page("/console/{org}/signout", ACTION, post(signout::sign_out))
        .page(
            "/console/{org}/signout-everywhere",
            ACTION,
            post(signout::sign_out_everywhere),
        )
        .page("/console/{org}/users", PAGE, get(users::list))
        .page("/console/{org}/users.csv", PAGE, get(users::export))
        .page(
            "/console/{org}/invite",
            BOTH,
            get(user::invite_page).post(user::invite),
        )
        .page("/console/{org}/users/{user}", PAGE, get(user::show))
        .page(
            "/console/{org}/users/{user}/environments",
            ACTION,
            post(user_envs::save),
        )
        .page(
            "/console/{org}/users/{user}/{action}",
            ACTION,
            post(user::act),
        )
        .page(
            "/console/{org}/roles",
            BOTH,
            get(roles::list).post(roles::create),
        )
        .page(
            "/console/{org}/roles/{role}",
            BOTH,
            get(roles::edit_page).post(roles::modify),
        )
        .page(
            "/console/{org}/keys",
            BOTH,
            get(keys::list).post(keys::create),
        )
        .page(
            "/console/{org}/keys/{key}/delete",
            ACTION,
            post(keys::delete),
        )
        .page(
            "/console/{org}/keys/{key}/rotate",
            ACTION,
            post(keys::rotate),
        )
        .page("/console/{org}/audit", PAGE, get(logs::audit))
        .page("/console/{org}/jobs/{job}", PAGE, get(jobs::page))
        .page(
            "/console/{org}/jobs/{job}/errors.csv",
            PAGE,
            get(jobs::errors_csv),
        )
        .page(
            "/console/{org}/jobs/{job}/cancel",
            ACTION,
            post(jobs::cancel),
        )
        .merge(upload(max_csv))
        .merge(org_router::router())
        .owns("/console/")
        .finish()
}

fn upload(max_csv: usize) -> Finished {
    const BOTH: &[(Method, &str)] = &[
        (Method::GET, "console-page"),
        (Method::POST, "console-action"),
    ];
    let mut r = SurfaceRouter::new(SURFACE, OpenApi::default(), POLICIES)
        .page(
            "/console/{org}/bulk",
            BOTH,
            get(bulk::page).post(bulk::upload),
        )
        .finish();
    r.router = r
        .router
        .layer(axum::extract::DefaultBodyLimit::max(max_csv));
    r
}
