//! An organization's own OpenID Connect connections (enterprise single sign-on): registration,
//! changes and removal. Managing them needs `Organization:ModifyOrganization`, like the rest of
//! the organization's configuration. Who comes in through one is `upstream.rs`.

use serde_json::json;

use super::access::Context;
use super::Core;
use crate::connections::UpstreamConnection;
use crate::error::{Error, FieldError, Location, Result};
use crate::model::{connection_name_ok, Organization};
use crate::permissions::perm;
use crate::store::Effects;
use crate::store::StoreError;
use crate::types::now_micros;

/// Most email domains one connection admits.
pub const MAX_DOMAINS: usize = 50;

/// A new connection, or the fields of a change (`None`: unchanged; the name never changes).
#[derive(Debug, Clone, Default)]
pub struct ConnectionInput {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub domains: Option<Vec<String>>,
    pub link_password_accounts: Option<bool>,
}

fn problem(field: &str, code: &'static str, msg: impl Into<String>) -> FieldError {
    FieldError::new(Location::Body, field, code, msg)
}

/// Why an issuer cannot be used, if it cannot: an absolute `https` URL (or `http` on a loopback
/// host), with no query, fragment or user information.
pub fn issuer_problem(issuer: &str) -> Option<&'static str> {
    if issuer.contains('?') {
        return Some("must not contain a query");
    }
    super::oidc::redirect_uri_problem(issuer)
}

/// Why the deployment would not call an issuer, if it would not: plain `http`, or a host that is
/// a non-public address literal or `localhost`; unless the operator allows private providers
/// (`CoreConfig::connection_allow_private`). Refused when the connection is made or changed, so
/// that an administrator learns it then, not at someone's first sign-in. (What a name resolves
/// to is checked again on every call, as the resolver may answer otherwise later.)
pub fn issuer_reach_problem(issuer: &str, allow_private: bool) -> Option<String> {
    if allow_private {
        return None;
    }
    let url = match url::Url::parse(issuer) {
        Ok(u) if u.scheme() == "https" => u,
        Ok(_) => {
            return Some(
                "must use https:// (plain http is allowed only with \
                 ROSTER_CONNECTION_ALLOW_PRIVATE)"
                    .into(),
            )
        }
        Err(_) => return Some("must be an absolute https:// URL".into()),
    };
    // The host as every HTTP client reads it: IPv4 in any spelling (`127.1`, `0x7f000001`,
    // `2130706433`) is an address here, not a name.
    let Some(host) = url.host() else {
        return Some("must name a host".into());
    };
    crate::net::private_host(&host).map(|why| {
        format!(
            "must be at a public address: its host {why} (allowed only with \
             ROSTER_CONNECTION_ALLOW_PRIVATE)"
        )
    })
}

fn domain_ok(d: &str) -> bool {
    (3..=253).contains(&d.len())
        && d.contains('.')
        && !d.starts_with(['.', '-'])
        && !d.ends_with(['.', '-'])
        && !d.contains("..")
        && d.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

fn check(
    input: &mut ConnectionInput,
    creating: bool,
    allow_private: bool,
    p: &mut Vec<FieldError>,
) {
    let required = |v: bool, field: &str, p: &mut Vec<FieldError>| {
        if creating && !v {
            p.push(problem(field, "missing", format!("{field} is required")));
        }
    };
    required(input.name.is_some(), "name", p);
    if let Some(n) = &input.name {
        if !connection_name_ok(n) {
            p.push(problem(
                "name",
                "value_error",
                "name must be 1 to 40 lower-case letters, digits or dashes, start with a letter, \
                 and not be 'password' or 'google-oauth2'",
            ));
        }
    }
    required(input.issuer.is_some(), "issuer", p);
    if let Some(i) = &input.issuer {
        if let Some(why) = issuer_problem(i) {
            p.push(problem("issuer", "value_error", format!("issuer {why}")));
        } else if let Some(why) = issuer_reach_problem(i, allow_private) {
            p.push(problem("issuer", "value_error", format!("issuer {why}")));
        }
    }
    for (field, v, max) in [
        ("client_id", &input.client_id, 255),
        ("client_secret", &input.client_secret, 1000),
    ] {
        required(v.is_some(), field, p);
        if let Some(v) = v {
            if v.is_empty() || v.len() > max || v.chars().any(char::is_control) {
                p.push(problem(
                    field,
                    "value_error",
                    format!("{field} must be 1 to {max} characters, without control characters"),
                ));
            }
        }
    }
    required(input.domains.is_some(), "domains", p);
    if let Some(ds) = &mut input.domains {
        if ds.is_empty() || ds.len() > MAX_DOMAINS {
            p.push(problem(
                "domains",
                "value_error",
                format!("domains must hold 1 to {MAX_DOMAINS} email domains"),
            ));
        }
        for (i, d) in ds.iter_mut().enumerate() {
            *d = d.trim().to_ascii_lowercase();
            if !domain_ok(d) {
                p.push(problem(
                    &format!("domains.{i}"),
                    "value_error",
                    format!("domains[{i}] must be a domain name such as example.com"),
                ));
            }
        }
        ds.sort();
        ds.dedup();
    }
}

impl Core {
    async fn org_for_connections(&self, ctx: &Context, org_ref: &str) -> Result<Organization> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::ORG_MODIFY)?;
        Ok(org)
    }

    pub async fn list_connections(
        &self,
        ctx: &Context,
        org_ref: &str,
    ) -> Result<Vec<UpstreamConnection>> {
        let org = self.org_for_connections(ctx, org_ref).await?;
        Ok(self.store.list_connections(&org.id).await?)
    }

    /// The organization's connection `name`, for the sign-in pages (nobody signed in yet).
    pub async fn find_connection(
        &self,
        org: &Organization,
        name: &str,
    ) -> Result<Option<UpstreamConnection>> {
        if !connection_name_ok(name) {
            return Ok(None);
        }
        Ok(self.store.get_connection(&org.id, name).await?)
    }

    /// The organization's connections, for the sign-in page's buttons.
    pub async fn connections_of(&self, org: &Organization) -> Result<Vec<UpstreamConnection>> {
        Ok(self.store.list_connections(&org.id).await?)
    }

    pub async fn create_connection(
        &self,
        ctx: &Context,
        org_ref: &str,
        mut input: ConnectionInput,
    ) -> Result<UpstreamConnection> {
        let org = self.org_for_connections(ctx, org_ref).await?;
        let mut p = Vec::new();
        check(
            &mut input,
            true,
            self.config.connection_allow_private,
            &mut p,
        );
        if !p.is_empty() {
            return Err(Error::Validation(p));
        }
        let now = now_micros();
        let c = UpstreamConnection {
            org_id: org.id.to_string(),
            name: input.name.unwrap_or_default(),
            issuer: input.issuer.unwrap_or_default(),
            client_id: input.client_id.unwrap_or_default(),
            client_secret: input.client_secret.unwrap_or_default(),
            domains: input.domains.unwrap_or_default(),
            link_password_accounts: input.link_password_accounts.unwrap_or(false),
            created_at: now,
            updated_at: now,
        };
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "connection.created",
            None,
            json!({ "name": c.name, "issuer": c.issuer, "client_id": c.client_id,
                    "domains": c.domains, "link_password_accounts": c.link_password_accounts }),
        ));
        self.store
            .insert_connection(&c, fx)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => Error::Validation(vec![problem(
                    "name",
                    "value_error",
                    "the organization already has a connection of this name",
                )]),
                other => other.into(),
            })?;
        Ok(c)
    }

    pub async fn update_connection(
        &self,
        ctx: &Context,
        org_ref: &str,
        name: &str,
        mut input: ConnectionInput,
    ) -> Result<UpstreamConnection> {
        let org = self.org_for_connections(ctx, org_ref).await?;
        let mut c = self
            .find_connection(&org, name)
            .await?
            .ok_or(Error::NotFound("connection"))?;
        let mut p = Vec::new();
        input.name = None;
        check(
            &mut input,
            false,
            self.config.connection_allow_private,
            &mut p,
        );
        if !p.is_empty() {
            return Err(Error::Validation(p));
        }
        let before = c.clone();
        if let Some(v) = input.issuer {
            c.issuer = v;
        }
        if let Some(v) = input.client_id {
            c.client_id = v;
        }
        if let Some(v) = input.client_secret {
            c.client_secret = v;
        }
        if let Some(v) = input.domains {
            c.domains = v;
        }
        if let Some(v) = input.link_password_accounts {
            c.link_password_accounts = v;
        }
        c.updated_at = now_micros().max(c.updated_at + 1);
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "connection.updated",
            None,
            json!({ "name": c.name, "issuer": c.issuer, "client_id": c.client_id,
                    "domains": c.domains, "link_password_accounts": c.link_password_accounts,
                    "client_secret_changed": c.client_secret != before.client_secret,
                    "changes": changes(&before, &c) }),
        ));
        self.store
            .update_connection(&c, fx)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFound("connection"),
                other => other.into(),
            })?;
        Ok(c)
    }

    pub async fn delete_connection(&self, ctx: &Context, org_ref: &str, name: &str) -> Result<()> {
        let org = self.org_for_connections(ctx, org_ref).await?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "connection.deleted",
            None,
            json!({ "name": name }),
        ));
        self.store
            .delete_connection(&org.id, name, fx)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFound("connection"),
                other => other.into(),
            })
    }
}

/// What an update changed, `{field: {from, to}}`, for the audit log: the issuer (where people
/// are sent to sign in, and whose word counts), the client id, the domains and the
/// password-account policy. The secret is never in it (`client_secret_changed` says whether).
fn changes(before: &UpstreamConnection, after: &UpstreamConnection) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let mut diff = |field: &str, from: serde_json::Value, to: serde_json::Value| {
        if from != to {
            out.insert(field.into(), json!({ "from": from, "to": to }));
        }
    };
    diff("issuer", json!(before.issuer), json!(after.issuer));
    diff("client_id", json!(before.client_id), json!(after.client_id));
    diff("domains", json!(before.domains), json!(after.domains));
    diff(
        "link_password_accounts",
        json!(before.link_password_accounts),
        json!(after.link_password_accounts),
    );
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_connection_needs_every_field_and_names_the_bad_ones() {
        let mut p = Vec::new();
        check(&mut ConnectionInput::default(), true, false, &mut p);
        let fields: Vec<String> = p.iter().map(|e| e.field_name()).collect();
        assert_eq!(
            fields,
            ["name", "issuer", "client_id", "client_secret", "domains"]
        );
        let mut input = ConnectionInput {
            name: Some("Acme SSO".into()),
            issuer: Some("http://idp.example.com".into()),
            client_id: Some("x".into()),
            client_secret: Some("y".into()),
            domains: Some(vec!["Acme.EXAMPLE".into(), "nodot".into()]),
            link_password_accounts: None,
        };
        let mut p = Vec::new();
        check(&mut input, true, false, &mut p);
        let fields: Vec<String> = p.iter().map(|e| e.field_name()).collect();
        assert_eq!(fields, ["name", "issuer", "domains.1"]);
        assert_eq!(input.domains.expect("domains")[0], "acme.example");
    }
}
