//! eva's bodies: the `User` shape, the `UserWrite` request, Spring's `Page`, configurations.

use roster_domain::core::{EnvInput, EvaUser, EvaUserInput};
use roster_domain::model::Configuration;
use roster_domain::types::{format_micros, full_name};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::ReadOnly;

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ResourceRef)]
#[serde(deny_unknown_fields)]
pub struct Ref {
    pub uuid: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = EnvironmentWrite)]
#[serde(deny_unknown_fields)]
pub struct EnvIn {
    pub role: String,
    pub environment: Ref,
    #[serde(default)]
    pub bots: Vec<Ref>,
}

/// The body of create, update and activate.
#[derive(Debug, Deserialize, ToSchema)]
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
    /// Read-only fields of `User`, accepted so that a read user can be sent back; ignored.
    #[serde(default, rename = "uuid")]
    #[schema(read_only, value_type = Option<String>)]
    pub _uuid: ReadOnly,
    #[serde(default, rename = "orgUUID")]
    #[schema(read_only, value_type = Option<String>)]
    pub _org_uuid: ReadOnly,
    #[serde(default, rename = "createdAt")]
    #[schema(read_only, value_type = Option<String>)]
    pub _created_at: ReadOnly,
    #[serde(default, rename = "rules")]
    #[schema(read_only, value_type = Option<Rules>)]
    pub _rules: ReadOnly,
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
                    role: super::words::env_role(&e.role),
                    environment_uuid: e.environment.uuid,
                    bots: e.bots.into_iter().map(|b| b.uuid).collect(),
                })
                .collect(),
            password: w.password,
            password_confirmation: w.password_confirmation,
        }
    }
}

/// A named reference (environment or bot).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NamedRef)]
pub struct RefOut {
    pub uuid: String,
    pub name: String,
}

/// A user's role in an environment, and the bots they may use there.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserEnvironment)]
pub struct EnvOut {
    pub role: String,
    pub environment: RefOut,
    pub bots: Vec<RefOut>,
}

/// What the caller may do with the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rules {
    pub deletable: bool,
}

/// A user's data.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
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
    /// RFC 3339.
    pub created_at: String,
    pub environments: Vec<EnvOut>,
    pub rules: Rules,
}

impl UserOut {
    pub fn new(u: EvaUser) -> Self {
        Self {
            name: full_name(&u.user.first_name, &u.user.last_name),
            uuid: u.user.id.into(),
            email: u.user.email,
            company: u.user.company,
            image: u.user.image,
            admin: u.user.is_admin,
            org_uuid: u.org_uuid,
            created_at: format_micros(u.user.created_at),
            environments: u
                .environments
                .into_iter()
                .map(|e| EnvOut {
                    role: super::words::env_role_word(e.role).to_owned(),
                    environment: RefOut {
                        uuid: e.environment.0,
                        name: e.environment.1,
                    },
                    bots: e
                        .bots
                        .into_iter()
                        .map(|(uuid, name)| RefOut { uuid, name })
                        .collect(),
                })
                .collect(),
            rules: Rules {
                deletable: u.deletable,
            },
        }
    }
}

/// Spring Data's sort description.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sort {
    pub sorted: bool,
    pub unsorted: bool,
    pub empty: bool,
}

/// Spring Data's `Pageable`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pageable {
    pub page_number: i64,
    pub page_size: i64,
    pub offset: i64,
    pub paged: bool,
    pub unpaged: bool,
    pub sort: Sort,
}

/// Spring Data's `Page` around a list of users.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PageUser)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub content: Vec<UserOut>,
    pub pageable: Pageable,
    pub total_elements: i64,
    pub total_pages: i64,
    pub number: i64,
    pub size: i64,
    pub number_of_elements: i64,
    pub first: bool,
    pub last: bool,
    pub empty: bool,
    pub sort: Sort,
}

fn sort(sorted: bool) -> Sort {
    Sort {
        sorted,
        unsorted: !sorted,
        empty: !sorted,
    }
}

pub fn page(content: Vec<UserOut>, page: i64, size: i64, total: i64, sorted: bool) -> Page {
    let total_pages = if size > 0 {
        (total + size - 1) / size
    } else {
        0
    };
    let n = content.len() as i64;
    Page {
        content,
        pageable: Pageable {
            page_number: page,
            page_size: size,
            offset: page.saturating_mul(size),
            paged: true,
            unpaged: false,
            sort: sort(sorted),
        },
        total_elements: total,
        total_pages,
        number: page,
        size,
        number_of_elements: n,
        first: page == 0,
        last: page.saturating_add(1) >= total_pages,
        empty: n == 0,
        sort: sort(sorted),
    }
}

/// One configuration value to set.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = UserConfigurationWrite)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigIn {
    pub key: String,
    pub value: String,
    #[serde(default, rename = "botUUID")]
    pub bot_uuid: Option<String>,
}

/// One of the user's configuration values.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserConfiguration)]
pub struct ConfigOut {
    pub key: String,
    pub value: String,
    /// The bot it is for; null when it is for every bot.
    #[serde(rename = "botUUID")]
    pub bot_uuid: Option<String>,
}

pub fn config_out(c: &Configuration) -> ConfigOut {
    ConfigOut {
        key: c.key.clone(),
        value: c.value.clone(),
        bot_uuid: c.bot_uuid.clone(),
    }
}

/// The rows a bulk operation could not apply (the others were applied).
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// One `{"<row or email>": "<reason>"}` object per rejected row.
    pub errors: Vec<std::collections::BTreeMap<String, String>>,
}
