//! eva's bodies: the `User` shape, the `UserWrite` request, Spring's `Page`, configurations.

use roster_domain::core::{EnvInput, EvaUser, EvaUserInput};
use roster_domain::model::Configuration;
use roster_domain::types::{format_micros, full_name};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ref {
    pub uuid: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvIn {
    pub role: String,
    pub environment: Ref,
    #[serde(default)]
    pub bots: Vec<Ref>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserWrite {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub environments: Vec<EnvIn>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_confirmation: Option<String>,
}

impl From<UserWrite> for EvaUserInput {
    fn from(w: UserWrite) -> Self {
        Self {
            name: w.name,
            email: w.email,
            company: w.company,
            image: w.image,
            admin: w.admin,
            environments: w
                .environments
                .into_iter()
                .map(|e| EnvInput {
                    role: e.role,
                    environment_uuid: e.environment.uuid,
                    bots: e.bots.into_iter().map(|b| b.uuid).collect(),
                })
                .collect(),
            password: w.password,
            password_confirmation: w.password_confirmation,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOut {
    pub uuid: String,
    pub name: String,
    pub email: String,
    pub company: Option<String>,
    pub image: Option<String>,
    pub admin: bool,
    #[serde(rename = "orgUUID")]
    pub org_uuid: String,
    pub created_at: String,
    pub environments: Vec<Value>,
    pub rules: Value,
}

impl UserOut {
    pub fn new(u: EvaUser) -> Self {
        Self {
            name: full_name(&u.user.first_name, &u.user.last_name),
            uuid: u.user.id,
            email: u.user.email,
            company: u.user.company,
            image: u.user.image,
            admin: u.user.is_admin,
            org_uuid: u.org_uuid,
            created_at: format_micros(u.user.created_at),
            environments: u
                .environments
                .into_iter()
                .map(|e| {
                    json!({
                        "role": e.role,
                        "environment": { "uuid": e.environment.0, "name": e.environment.1 },
                        "bots": e.bots.into_iter().map(|(uuid, name)| json!({ "uuid": uuid, "name": name })).collect::<Vec<_>>(),
                    })
                })
                .collect(),
            rules: json!({ "deletable": u.deletable }),
        }
    }
}

/// Spring Data's `Page` around a list of users.
pub fn page(content: Vec<UserOut>, page: i64, size: i64, total: i64, sorted: bool) -> Value {
    let total_pages = if size > 0 {
        (total + size - 1) / size
    } else {
        0
    };
    let n = content.len();
    let sort = json!({ "sorted": sorted, "unsorted": !sorted, "empty": !sorted });
    json!({
        "content": content,
        "pageable": { "pageNumber": page, "pageSize": size, "offset": page.saturating_mul(size), "paged": true, "unpaged": false, "sort": sort },
        "totalElements": total,
        "totalPages": total_pages,
        "number": page,
        "size": size,
        "numberOfElements": n,
        "first": page == 0,
        "last": page.saturating_add(1) >= total_pages,
        "empty": n == 0,
        "sort": sort,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigIn {
    pub key: String,
    pub value: String,
    #[serde(default, rename = "botUUID")]
    pub bot_uuid: Option<String>,
}

pub fn config_out(c: &Configuration) -> Value {
    json!({ "key": c.key, "value": c.value, "botUUID": c.bot_uuid })
}
