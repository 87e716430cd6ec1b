//! The sign-in page's links to the upstream providers: "Continue with Google" when the
//! deployment has a Google client, and one per connection of the organization. Each starts the
//! sign-in there (`upstream.rs`) carrying the authorization request.

use roster_domain::model::Organization;

use super::page::{self, Lang};
use crate::state::AppState;

/// The name of the deployment's Google connection, in paths and invitations.
pub(super) const GOOGLE: &str = "google-oauth2";

/// (label, href) of each link; `query` is the authorization request, form-encoded.
pub(super) async fn buttons(
    s: &AppState,
    org: &Organization,
    lang: Lang,
    query: &str,
) -> Vec<(String, String)> {
    let href = |name: &str| {
        format!(
            "/realms/{}/protocol/openid-connect/auth/connections/{name}?{query}",
            org.id
        )
    };
    let mut out = Vec::new();
    if s.config.google_client_id.is_some() {
        out.push((page::continue_with(lang, "Google"), href(GOOGLE)));
    }
    match s.core.connections_of(org).await {
        Ok(list) => out.extend(
            list.iter()
                .map(|c| (page::continue_with(lang, &c.name), href(&c.name))),
        ),
        Err(e) => tracing::warn!(error = ?e, "the organization's connections could not be read"),
    }
    out
}
