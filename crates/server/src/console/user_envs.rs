//! A user's eva environments on their page: a table of each environment, the user's role
//! there and the bots they reach, and a form that changes them alone
//! (`Core::set_user_environments`: the catalogue checks, permission and rank rule and audit
//! action of eva's update, without its rewriting of the name, status and organization role).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use roster_domain::core::{EnvInput, EvaEnv};
use roster_domain::model::{Bot, EnvRole, Environment};
use roster_domain::types::UserId;
use roster_domain::Error;

use super::layout;
use super::posted::Posted;
use super::signin::View;
use crate::state::AppState;

const ROLE: &str = "env_role.";
const BOT: &str = "env_bot.";

fn role_field(env: &str) -> String {
    format!("{ROLE}{env}")
}

/// The section of the user's page; nothing when the user is no eva user to the viewer (a
/// deactivated user, whom eva does not show).
pub async fn section(s: &AppState, v: &View, user_id: &str) -> Markup {
    let (core, ctx) = (&s.core, &v.signed.ctx);
    let Ok(user) = core.eva_get(ctx, &v.org.id, &UserId::from(user_id)).await else {
        return html! {};
    };
    let catalog = core.eva_catalog(ctx, &v.org.id).await.ok();
    let held = |env: &str| user.environments.iter().find(|e| e.environment.0 == env);
    html! {
        h2 #environments { (v.t("u_envs")) }
        @if user.user.is_admin { p { (v.t("u_envs_admin")) } }
        @if user.environments.is_empty() {
            p.muted { (v.t("u_envs_none")) }
        } @else {
            table {
                thead { tr { th scope="col" { (v.t("u_env")) } th scope="col" { (v.t("role")) } th scope="col" { (v.t("u_bots")) } } }
                tbody {
                    @for e in &user.environments {
                        tr {
                            td { (named(&e.environment)) }
                            td { (e.role.as_str()) }
                            td { (bot_names(e)) }
                        }
                    }
                }
            }
        }
        @if let Some((envs, bots)) = catalog.filter(|(envs, _)| !envs.is_empty()) {
            form.stack method="post" action=(v.path(&format!("users/{user_id}/environments"))) {
                input type="hidden" name="csrf" value=(v.signed.csrf());
                p.muted { (v.t("u_envs_help")) }
                @for env in &envs {
                    (env_fields(v, env, &bots, held(&env.uuid)))
                }
                p { button type="submit" { (v.t("u_envs_save")) } }
            }
        }
    }
}

fn named((uuid, name): &(String, String)) -> String {
    if name.is_empty() {
        uuid.clone()
    } else {
        name.clone()
    }
}

fn bot_names(e: &EvaEnv) -> String {
    if e.role.needs_bots() {
        e.bots.iter().map(named).collect::<Vec<_>>().join(", ")
    } else {
        "—".to_owned()
    }
}

/// One environment of the catalogue: the role held there (or none) and its bots.
fn env_fields(v: &View, env: &Environment, bots: &[Bot], held: Option<&EvaEnv>) -> Markup {
    let id = format!("env-{}", env.uuid);
    let role = held.map(|h| h.role);
    let inactive = |active: bool| (!active).then(|| format!(" ({})", v.t("u_inactive")));
    html! {
        fieldset.grants {
            legend { (env.name) (inactive(env.active).unwrap_or_default()) }
            p {
                label for=(id) { (v.t("u_env_role")) }
                select id=(id) name=(role_field(&env.uuid)) {
                    option value="" selected[role.is_none()] { (v.t("u_env_no_access")) }
                    @for r in EnvRole::ALL {
                        option value=(r.as_str()) selected[role == Some(r)] { (r.as_str()) }
                    }
                }
            }
            @for b in bots.iter().filter(|b| b.environment_uuid == env.uuid) {
                @let bid = format!("bot-{}", b.uuid);
                @let on = held.is_some_and(|h| h.bots.iter().any(|(u, _)| *u == b.uuid));
                div {
                    input type="checkbox" id=(bid) name=(format!("{BOT}{}", env.uuid)) value=(b.uuid) checked[on];
                    label for=(bid) { (b.name) (inactive(b.active).unwrap_or_default()) }
                }
            }
        }
    }
}

/// The environments a posted form gives, in its order: each environment with a role, and the
/// bots ticked in it. A role that is no environment role is kept as `None`, which the core
/// reports naming its field.
fn posted(f: &[(String, String)]) -> Vec<EnvInput> {
    let mut bots: HashMap<&str, Vec<String>> = HashMap::new();
    for (k, b) in f {
        if let Some(env) = k.strip_prefix(BOT) {
            bots.entry(env).or_default().push(b.clone());
        }
    }
    f.iter()
        .filter_map(|(k, val)| Some((k.strip_prefix(ROLE)?, val)))
        .filter(|(_, val)| !val.is_empty())
        .map(|(env, val)| EnvInput {
            role: EnvRole::parse(val),
            environment_uuid: env.to_owned(),
            bots: bots.get(env).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The core names an environment of the request by its place in it; the page names it by the
/// environment's name (or uuid), as the form shows it.
fn named_fields(e: Error, envs: &[EnvInput], catalog: &[Environment]) -> Error {
    let Error::Validation(mut problems) = e else {
        return e;
    };
    for p in &mut problems {
        let at = p.path.get(1).and_then(|i| i.parse::<usize>().ok());
        if let (Some("environments"), Some(i)) = (p.path.first().map(String::as_str), at) {
            if let Some(env) = envs.get(i) {
                p.path[1] = catalog
                    .iter()
                    .find(|c| c.uuid == env.environment_uuid)
                    .map_or_else(|| env.environment_uuid.clone(), |c| c.name.clone());
            }
        }
    }
    Error::Validation(problems)
}

/// `POST users/{user}/environments`.
pub async fn save(
    State(s): State<AppState>,
    Path((_, user_id)): Path<(String, String)>,
    Posted { v, f }: Posted,
) -> Response {
    let page = v.path(&format!("users/{user_id}"));
    let envs = posted(&f);
    let catalog = match s.core.eva_catalog(&v.signed.ctx, &v.org.id).await {
        Ok((c, _)) => c,
        Err(e) => return v.done(layout::refusal(&v.shell("users"), e, &page)),
    };
    let saved = s
        .core
        .set_user_environments(
            &v.signed.ctx,
            &v.org.id,
            &UserId::from(&user_id),
            envs.clone(),
        )
        .await;
    match saved {
        Ok(_) => v.done(layout::redirect(
            &format!("{page}?done=environments#environments"),
            vec![],
        )),
        Err(e) => v.done(layout::refusal(
            &v.shell("users"),
            named_fields(e, &envs, &catalog),
            &page,
        )),
    }
}
