//! Organizations: lookup by id or uuid, creation with built-in roles, bootstrap, change, deletion.

use serde_json::{json, Value};

use super::access::{Actor, Context, Creator};
use super::keys::new_api_key;
use super::Core;
use crate::error::{Error, FieldError, Location, Result};
use crate::model::*;
use crate::permissions::{
    builtin_roles, is_admin_grants, perm, DEFAULT_ADMIN_ROLE, DEFAULT_SUPER_ADMIN_ROLE,
};
use crate::store::{Effects, NewIdentity, NewOrganization, StoreError};
use crate::types::*;

const RESERVED_ORG_IDS: &[&str] = &[
    "api", "www", "admin", "root", "system", "roster", "realms", "auth", "org", "users",
];

#[derive(Debug, Clone)]
pub struct NewOrgInput {
    pub id: String,
    pub name: String,
    pub default_preferences: Preferences,
    pub user_dimensions: Value,
    pub branding: Value,
    pub is_platform: bool,
    /// The database cluster named by the caller (a header of one surface, `--cluster` of the
    /// CLI); `None` places the organization on the home cluster.
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OrgPatch {
    /// A new display name (not empty).
    pub name: Option<String>,
    pub default_preferences: Option<Preferences>,
    pub user_dimensions: Option<Value>,
    /// Branding fields to replace (logo, square_logo, favicon).
    pub branding: serde_json::Map<String, Value>,
}

/// An organization and whether the caller may see its details.
#[derive(Debug, Clone)]
pub struct OrgView {
    pub org: Organization,
    pub details: bool,
}

#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub org: Organization,
    pub user: User,
    pub api_key: ApiKey,
    pub secret: String,
}

/// Checks a preferences value the way every surface accepts it.
pub(crate) fn validate_preferences(
    p: &Preferences,
    location: Location,
    prefix: &str,
    allow_two_letter: bool,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(lang) = &p.preferred_language {
        let two = allow_two_letter
            && lang.len() == 2
            && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !two {
            if let Err(m) = validate_iso639_3(lang) {
                errs.push(FieldError::new(
                    location,
                    &format!("{prefix}preferred_language"),
                    "enum",
                    m,
                ));
            }
        }
    }
    if let Some(tz) = &p.timezone {
        if let Err(m) = validate_timezone(tz) {
            errs.push(FieldError::new(
                location,
                &format!("{prefix}timezone"),
                "enum",
                m,
            ));
        }
    }
    errs
}

fn org_exists(id: &str) -> impl FnOnce(StoreError) -> Error + '_ {
    move |e| match e {
        StoreError::Conflict { .. } => {
            Error::Conflict(format!("organization '{id}' already exists"))
        }
        e => e.into(),
    }
}

impl Core {
    /// The organization named by its short id or its uuid.
    pub async fn find_org(&self, org_ref: &str) -> Result<Organization> {
        self.cache
            .organization(self.store.as_ref(), org_ref)
            .await?
            .ok_or(Error::NotFound("organization"))
    }

    /// Public details of an organization; preferences and tenant only for callers with the permission.
    pub async fn get_organization(&self, ctx: &Context, org_ref: &str) -> Result<OrgView> {
        let org = self.find_org(org_ref).await?;
        let details = match &ctx.actor {
            Actor::Anonymous => false,
            _ => ctx
                .access(&org)
                .map(|a| a.can_org(perm::ORG_GET_DETAILS))
                .unwrap_or(false),
        };
        Ok(OrgView { org, details })
    }

    fn new_org_record(&self, input: &NewOrgInput) -> Result<(Organization, Vec<Role>)> {
        let mut errs = Vec::new();
        if let Err(m) = validate_org_id(&input.id) {
            errs.push(FieldError::new(
                Location::Path,
                "organization",
                "string_pattern_mismatch",
                m,
            ));
        }
        if input.name.trim().is_empty() {
            errs.push(FieldError::body(
                "org_name",
                "string_too_short",
                "org_name must not be empty",
            ));
        }
        errs.extend(validate_preferences(
            &input.default_preferences,
            Location::Body,
            "default_user_preferences.",
            false,
        ));
        if !errs.is_empty() {
            return Err(Error::Validation(errs));
        }
        let now = self.now();
        let org = Organization {
            id: OrgId::from(input.id.clone()),
            uuid: uuid::Uuid::new_v4().to_string(),
            name: input.name.trim().to_owned(),
            short_name: input.id.clone(),
            is_platform: input.is_platform,
            tenant_id: format!("{}-{}", input.id, &new_object_id()[16..]),
            default_preferences: input.default_preferences.clone(),
            user_dimensions: input.user_dimensions.clone(),
            branding: input.branding.clone(),
            created_at: now,
            updated_at: now,
        };
        let roles = builtin_roles(input.is_platform)
            .into_iter()
            .map(|b| Role {
                org_id: org.id.to_string(),
                id: new_object_id(),
                name: b.name.to_owned(),
                description: b.description.to_owned(),
                frontend_view: b.frontend_view.to_owned(),
                is_admin: is_admin_grants(&b.grants),
                grants: b.grants,
                builtin: true,
                external_id: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        Ok((org, roles))
    }

    /// Amigo's create-organization: platform administrators only; built-in roles, no users.
    pub async fn create_organization(
        &self,
        ctx: &Context,
        input: NewOrgInput,
    ) -> Result<Organization> {
        self.require_platform(ctx, perm::ORG_CREATE)?;
        if RESERVED_ORG_IDS.contains(&input.id.as_str()) {
            return Err(Error::BadRequest(format!(
                "the organization id '{}' is reserved",
                input.id
            )));
        }
        let (org, roles) = self.new_org_record(&input)?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "organization.create",
            None,
            json!({ "name": org.name }),
        ));
        let new = NewOrganization {
            org: org.clone(),
            roles,
            first_user: None,
            api_key: None,
            cluster: self.check_cluster(&input)?,
        };
        self.store
            .create_organization(new, self.now(), fx)
            .await
            .map_err(org_exists(&org.id))?;
        Ok(org)
    }

    /// The cluster an organization being created goes to. With one database any name is
    /// accepted and means that database (some clients always send one); with several, the
    /// name must be one of them. A wrong one is the field `cluster` (of the body).
    fn check_cluster(&self, input: &NewOrgInput) -> Result<Option<String>> {
        let known = self.store.clusters();
        let Some(name) = input.cluster.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if known.is_empty() {
            return Ok(None);
        }
        if known.iter().any(|k| k == name) {
            return Ok(Some(name.to_owned()));
        }
        Err(Error::field(
            Location::Body,
            "cluster",
            "value_error",
            format!("unknown cluster '{name}'; configured: {}", known.join(", ")),
        ))
    }

    /// The caller is the operator or a platform administrator holding `permission`.
    pub fn require_platform(&self, ctx: &Context, permission: &str) -> Result<()> {
        match &ctx.actor {
            Actor::System => Ok(()),
            Actor::User(p)
                if p.org_is_platform
                    && crate::permissions::allows(&p.grants, permission, &Default::default()) =>
            {
                Ok(())
            }
            Actor::User(_) => Err(Error::forbidden(format!(
                "missing required permission {permission}"
            ))),
            _ => Err(Error::Unauthenticated),
        }
    }

    /// Creates an organization with its first administrator and an API key that can sign in as
    /// that administrator (the key carries the super-administrator role, which outranks it).
    pub async fn bootstrap(
        &self,
        input: NewOrgInput,
        admin_email: &str,
        admin_name: &str,
        key_name: &str,
        key_days: i64,
    ) -> Result<Bootstrapped> {
        let ctx = Context::system();
        let email = Email::parse(admin_email)
            .map_err(|m| Error::field(Location::Body, "admin_email", "value_error", m))?;
        let (org, roles) = self.new_org_record(&input)?;
        let role_id = |name: &str| {
            roles
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.id.clone())
                .unwrap_or_default()
        };
        let now = self.now();
        let (first, last) = split_name(if admin_name.trim().is_empty() {
            "Administrator"
        } else {
            admin_name
        });
        let user = User {
            status: UserStatus::Active,
            is_admin: true,
            preferences: org.default_preferences.clone(),
            role_ids: vec![role_id(DEFAULT_ADMIN_ROLE)],
            ..User::new(&org.id, &email.display, &first, &last, now)
        };
        let identity = NewIdentity::for_user(&user, true);
        let (api_key, secret) = new_api_key(
            &org.id,
            Some(key_name.to_owned()),
            &role_id(DEFAULT_SUPER_ADMIN_ROLE),
            key_days * 86_400,
            Creator::User {
                org_id: org.id.clone(),
                user_id: user.id.clone(),
            },
            now,
        )?;
        let mut fx = Effects::audit(self.audit(
            &ctx,
            &org.id,
            "organization.bootstrap",
            Some(&user.id),
            json!({ "name": org.name }),
        ));
        fx.audit.push(self.audit(
            &ctx,
            &org.id,
            "api_key.create",
            None,
            json!({ "key_id": api_key.key_id }),
        ));
        let new = NewOrganization {
            org: org.clone(),
            roles,
            first_user: Some((identity, user.clone())),
            api_key: Some(api_key.clone()),
            cluster: self.check_cluster(&input)?,
        };
        self.store
            .create_organization(new, self.now(), fx)
            .await
            .map_err(org_exists(&org.id))?;
        let user = self
            .store
            .get_user(&org.id, &user.id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        Ok(Bootstrapped {
            org,
            user,
            api_key,
            secret,
        })
    }

    pub async fn modify_organization(
        &self,
        ctx: &Context,
        org_ref: &str,
        patch: OrgPatch,
    ) -> Result<()> {
        let mut org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::ORG_MODIFY)?;
        if let Some(p) = &patch.default_preferences {
            let errs = validate_preferences(p, Location::Body, "default_user_preferences.", false);
            if !errs.is_empty() {
                return Err(Error::Validation(errs));
            }
            org.default_preferences = p.clone();
        }
        if let Some(name) = &patch.name {
            if name.trim().is_empty() || name.chars().count() > 200 {
                return Err(Error::field(
                    Location::Body,
                    "name",
                    "value_error",
                    "name must be 1 to 200 characters",
                ));
            }
            org.name = name.trim().to_owned();
        }
        if let Some(d) = patch.user_dimensions {
            org.user_dimensions = d;
        }
        if let Value::Object(b) = &mut org.branding {
            b.extend(patch.branding);
        }
        org.updated_at = self.now().max(org.updated_at + 1);
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "organization.modify",
            None,
            serde_json::json!({}),
        ));
        self.store.update_organization(&org, fx).await?;
        Ok(())
    }

    /// The database clusters an organization may be placed on (empty with one database).
    pub fn clusters(&self) -> Vec<String> {
        self.store.clusters()
    }

    /// Platform administrators: a keyset page of every organization by id, after `after`
    /// (`""` for the first), each with its cluster; `limit` is 1 to 200.
    pub async fn list_organizations(
        &self,
        ctx: &Context,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(Organization, Option<String>)>> {
        self.require_platform(ctx, perm::ORG_GET_DETAILS)?;
        Ok(self
            .store
            .list_organizations(after, limit.clamp(1, 200))
            .await?)
    }

    pub async fn delete_organization(&self, ctx: &Context, org_ref: &str) -> Result<()> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::ORG_DELETE)?;
        if org.is_platform {
            return Err(Error::BadRequest(
                "the platform organization cannot be deleted".into(),
            ));
        }
        // The record of the deletion outlives the organization: it goes to the caller's organization.
        let mut fx = Effects::default();
        if let Some(p) = ctx.principal().filter(|p| p.org_id != org.id) {
            fx.audit.push(self.audit(
                ctx,
                &OrgId::from(&p.org_id),
                "organization.delete",
                None,
                json!({ "org_id": org.id }),
            ));
        }
        self.store.delete_organization(&org.id, fx).await?;
        Ok(())
    }
}
