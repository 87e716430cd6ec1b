//! The API keys a user created, on their page (issue 17): each key's name and id, role,
//! creation and expiry, with a link to the API keys page, whose forms rotate and revoke it.
//! Read with the core's `list_api_keys`, which shows nothing without `Organization:GetAPIKey`; the
//! store keeps no last use of a key, so none is shown.

use maud::{html, Markup};

use super::keys::keys_table;
use super::signin::View;
use crate::state::AppState;

/// The section of the user's page.
pub async fn section(s: &AppState, v: &View, user_id: &str) -> Markup {
    let (core, ctx) = (&s.core, &v.signed.ctx);
    let keys = core.list_api_keys(ctx, &v.org.id).await.unwrap_or_default();
    let roles = core
        .list_roles(ctx, &v.org.id, &[], &[])
        .await
        .unwrap_or_default();
    let mine: Vec<_> = keys
        .iter()
        .filter(|k| k.creator_user_id == user_id && k.creator_org_id == v.org.id)
        .collect();
    html! {
        h2 #api-keys { (v.t("u_keys")) }
        (keys_table(v, &mine, &roles, false))
        @if !mine.is_empty() {
            p { a href=(v.path("keys")) { (v.t("u_keys_manage")) } }
        }
    }
}
