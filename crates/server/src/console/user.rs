//! One user's page (profile, preferences, roles, eva environments and bots (`user_envs.rs`),
//! configuration variables, sessions, audit trail) and what an administrator does to them: invite, edit, change the role, deactivate,
//! activate,
//! delete (the soft-delete reasons shown), resend the invitation, send a password reset, end
//! their sessions. Each is the core operation an API calls, with the signed-in member's access.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use roster_domain::core::{
    AuditListInput, DeleteOutcome, DirectoryEmail, DirectoryMember, InviteInput, ListUsersInput,
    Settable, UserUpdate,
};
use roster_domain::model::{Connection, Role, User, UserStatus};
use roster_domain::permissions::DEFAULT_USER_ROLE;
use roster_domain::types::UserId;
use roster_domain::Error;

use super::i18n::when;
use super::layout;
use super::posted::Posted;
use super::session::field;
use super::signin::{enter, View};
use crate::extract::Req;
use crate::state::AppState;

fn hidden_csrf(v: &View) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.signed.csrf()); }
}

fn text_input(id: &str, label: &str, value: &str, kind: &str, required: bool) -> Markup {
    html! {
        p {
            label for=(id) { (label) }
            input id=(id) name=(id) type=(kind) value=(value) required[required];
        }
    }
}

fn role_select(v: &View, roles: &[Role], selected: &str) -> Markup {
    html! {
        p {
            label for="role" { (v.t("role")) }
            select #role name="role" {
                @for r in roles { option value=(r.name) selected[r.name == selected] { (r.name) } }
            }
        }
    }
}

pub async fn invite_page(State(s): State<AppState>, Path(org): Path<String>, req: Req) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("users");
    let roles = match s.core.list_roles(&v.signed.ctx, &v.org.id, &[], &[]).await {
        Ok(r) => r,
        Err(e) => return v.done(layout::refusal(&shell, e, &v.path("users"))),
    };
    let body = html! {
        form.stack method="post" action=(v.path("invite")) {
            (hidden_csrf(&v))
            (text_input("email", v.t("email"), "", "email", true))
            (text_input("first_name", v.t("first_name"), "", "text", true))
            (text_input("last_name", v.t("last_name"), "", "text", true))
            (role_select(&v, &roles, DEFAULT_USER_ROLE))
            p { button type="submit" { (v.t("invite")) } }
        }
    };
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, v.t("invite"), body),
    ))
}

pub async fn invite(State(s): State<AppState>, Posted { v, f }: Posted) -> Response {
    let input = InviteInput {
        first_name: field(&f, "first_name").trim().to_owned(),
        last_name: field(&f, "last_name").trim().to_owned(),
        email: field(&f, "email").trim().to_owned(),
        role_name: field(&f, "role").to_owned(),
        ..InviteInput::default()
    };
    match s.core.invite_user(&v.signed.ctx, &v.org.id, input).await {
        Ok((user, _)) => v.done(layout::redirect(
            &v.path(&format!("users/{}?done=invite", user.id)),
            vec![],
        )),
        Err(e) => v.done(layout::refusal(&v.shell("users"), e, &v.path("invite"))),
    }
}

async fn load(s: &AppState, v: &View, user_id: &str) -> Result<User, Error> {
    let input = ListUsersInput {
        ids: vec![UserId::from(user_id)],
        limit: 1,
        ..ListUsersInput::default()
    };
    s.core
        .list_users(&v.signed.ctx, &v.org.id, input)
        .await?
        .items
        .into_iter()
        .next()
        .ok_or(Error::NotFound("user"))
}

fn action_form(v: &View, user: &User, action: &str, label: &str, danger: bool) -> Markup {
    html! {
        form method="post" action=(v.path(&format!("users/{}/{action}", user.id))) {
            (hidden_csrf(v))
            button type="submit" class=[danger.then_some("danger")] { (label) }
        }
    }
}

pub async fn show(
    State(s): State<AppState>,
    Path((org, user_id)): Path<(String, String)>,
    req: Req,
) -> Response {
    let v = match enter(&s, &req, &org).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let shell = v.shell("users");
    let back = v.path("users");
    let user = match load(&s, &v, &user_id).await {
        Ok(u) => u,
        Err(e) => return v.done(layout::refusal(&shell, e, &back)),
    };
    let roles = match s.core.list_roles(&v.signed.ctx, &v.org.id, &[], &[]).await {
        Ok(r) => r,
        Err(e) => return v.done(layout::refusal(&shell, e, &back)),
    };
    // The trail is shown to those who may read the audit log.
    let trail = s
        .core
        .list_audit_events(
            &v.signed.ctx,
            &v.org.id,
            AuditListInput {
                target_user_id: Some(user.id.to_string()),
                limit: Some(20),
                ..AuditListInput::default()
            },
        )
        .await
        .ok();
    let environments = super::user_envs::section(&s, &v, &user.id).await;
    let keys = super::user_keys::section(&s, &v, &user.id).await;
    let current_role = roles
        .iter()
        .find(|r| user.role_ids.contains(&r.id))
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let tz = v.timezone();
    let prefs = &user.preferences;
    let notice = req.query.one("done").map(|d| match d {
        "invite" => v.t("invite_sent"),
        "environments" => v.t("u_envs_saved"),
        _ => v.t("done"),
    });
    let body = html! {
        @if let Some(n) = notice { p role="status" { (n) } }
        h2 { (v.t("profile")) }
        dl.props {
            dt { (v.t("email")) } dd { (user.email) }
            dt { (v.t("status")) } dd { (v.t(super::users::status_key(&user))) }
            dt { (v.t("roles")) } dd { (current_role) }
            dt { (v.t("created_at")) } dd { (when(user.created_at, tz)) }
            dt { "Id" } dd { code { (user.id) } }
        }
        form.stack method="post" action=(v.path(&format!("users/{}/edit", user.id))) {
            (hidden_csrf(&v))
            (text_input("first_name", v.t("first_name"), &user.first_name, "text", true))
            (text_input("last_name", v.t("last_name"), &user.last_name, "text", true))
            (text_input("timezone", v.t("timezone"), prefs.timezone.as_deref().unwrap_or_default(), "text", false))
            (text_input("preferred_language", v.t("language"), prefs.preferred_language.as_deref().unwrap_or_default(), "text", false))
            p { button type="submit" { (v.t("save")) } }
        }
        h2 { (v.t("roles")) }
        form.stack method="post" action=(v.path(&format!("users/{}/role", user.id))) {
            (hidden_csrf(&v))
            (role_select(&v, &roles, &current_role))
            p { button type="submit" { (v.t("change_role")) } }
        }
        p.muted { (v.t("rank_rule")) }
        (environments)
        (keys)
        h2 { (v.t("variables")) }
        @if user.nonsensitive_variables.is_empty() && user.sensitive_names.is_empty() {
            p.muted { "—" }
        } @else {
            dl.props {
                @for (k, val) in &user.nonsensitive_variables { dt { (k) } dd { (val) } }
                @for k in &user.sensitive_names { dt { (k) } dd { "••••" } }
            }
        }
        h2 { (v.t("sessions")) }
        p.muted { (v.t("sessions_help")) }
        div.actions {
            (action_form(&v, &user, "end-sessions", v.t("end_sessions"), false))
            @if user.status == UserStatus::Invited {
                (action_form(&v, &user, "resend", v.t("resend"), false))
            } @else if user.connection == Connection::Password {
                (action_form(&v, &user, "reset-password", v.t("reset_password"), false))
            }
            @if user.status != UserStatus::Inactive {
                (action_form(&v, &user, "deactivate", v.t("deactivate"), true))
            } @else {
                (action_form(&v, &user, "activate", v.t("activate"), false))
            }
            (action_form(&v, &user, "delete", v.t("delete"), true))
        }
        @if let Some(trail) = trail {
            h2 { (v.t("audit_trail")) }
            (super::logs::events_table(&v, &trail.events))
        }
    };
    let title = format!("{} {}", user.first_name, user.last_name);
    v.done(layout::send(
        StatusCode::OK,
        layout::page(&shell, &title, body),
    ))
}

/// Activates a deactivated user with the operation the directory (SCIM) API's `active: true`
/// calls: everything else of the user stays as it is, and the change is refused if the user
/// changed meanwhile.
async fn activate(s: &AppState, v: &View, user_id: &str) -> Result<(), Error> {
    let user = load(s, v, user_id).await?;
    if user.status != UserStatus::Inactive {
        return Err(Error::Conflict("the user is already active".into()));
    }
    let member = DirectoryMember {
        user_name: user.user_name.clone().unwrap_or_else(|| user.email.clone()),
        emails: vec![DirectoryEmail {
            address: user.email.clone(),
            work: false,
            primary: true,
        }],
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        external_id: user.external_id.clone(),
        company: user.company.clone(),
        active: true,
    };
    s.core
        .directory_replace(
            &v.signed.ctx,
            &v.org.id,
            &UserId::from(user_id),
            member,
            Some(user.updated_at),
        )
        .await
        .map(|_| ())
}

fn settable(value: &str) -> Settable<String> {
    match value.trim() {
        "" => Settable::Clear,
        v => Settable::Set(v.to_owned()),
    }
}

/// A posted action on one user.
pub async fn act(
    State(s): State<AppState>,
    Path((_, user_id, action)): Path<(String, String, String)>,
    Posted { v, f }: Posted,
) -> Response {
    let shell = v.shell("users");
    let page = v.path(&format!("users/{user_id}"));
    let (core, ctx, org_id) = (&s.core, &v.signed.ctx, v.org.id.as_str());
    let done: Result<Option<DeleteOutcome>, Error> = match action.as_str() {
        "edit" => {
            let u = UserUpdate {
                first_name: Some(field(&f, "first_name").trim().to_owned()),
                last_name: Some(field(&f, "last_name").trim().to_owned()),
                timezone: settable(field(&f, "timezone")),
                preferred_language: settable(field(&f, "preferred_language")),
                ..UserUpdate::default()
            };
            core.update_user(ctx, org_id, &UserId::from(&user_id), u)
                .await
                .map(|_| None)
        }
        "role" => core
            .assign_role(ctx, org_id, field(&f, "role"), &UserId::from(&user_id))
            .await
            .map(|_| None),
        "deactivate" => core
            .eva_delete(ctx, org_id, &UserId::from(&user_id))
            .await
            .map(|_| None),
        "activate" => activate(&s, &v, &user_id).await.map(|_| None),
        "delete" => core
            .delete_user(ctx, org_id, &UserId::from(&user_id))
            .await
            .map(Some),
        "end-sessions" => core
            .end_user_sessions(ctx, org_id, &UserId::from(&user_id))
            .await
            .map(|_| None),
        "reset-password" => core
            .request_password_reset_in(ctx, org_id, &UserId::from(&user_id))
            .await
            .map(|_| None),
        "resend" => core
            .resend_invitation(ctx, org_id, &UserId::from(&user_id))
            .await
            .map(|_| None),
        _ => Err(Error::NotFound("action")),
    };
    match done {
        Ok(Some(outcome)) => {
            let body = html! {
                @match &outcome {
                    DeleteOutcome::Hard => p role="status" { (v.t("deleted")) },
                    DeleteOutcome::Soft(reasons) => {
                        p role="status" { (v.t("deleted_soft")) }
                        ul { @for r in reasons { li { (r) } } }
                    }
                }
                p { a href=(v.path("users")) { (v.t("users")) } }
            };
            v.done(layout::send(
                StatusCode::OK,
                layout::page(&shell, v.t("delete"), body),
            ))
        }
        Ok(None) => v.done(layout::redirect(&format!("{page}?done={action}"), vec![])),
        Err(e) => v.done(layout::refusal(&shell, e, &page)),
    }
}
