//! The relying parties (OpenID Connect clients) of an organization: registration, changes and
//! how a client proves itself at the token endpoint. Managing them needs
//! `Organization:ModifyOrganization`, like the rest of the organization's configuration.

use serde_json::json;

use super::access::Context;
use super::Core;
use crate::error::{Error, FieldError, Location, Result};
use crate::model::{OidcClient, Organization};
use crate::permissions::perm;
use crate::secrets::{constant_time_eq, hash_secret, random_secret};
use crate::store::Effects;
use crate::types::new_uuid7;

/// Most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 20;
const MAX_URI_LEN: usize = 2000;
const MAX_NAME_LEN: usize = 100;

/// A new client, or the fields of a change (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct OidcClientInput {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    /// A public client (a browser or native app) has no secret and must use PKCE.
    pub public: bool,
}

/// A registered client and, for a confidential one, its secret (shown this once).
#[derive(Debug, Clone)]
pub struct CreatedOidcClient {
    pub client: OidcClient,
    pub secret: Option<String>,
}

fn body_error(field: &str, code: &'static str, msg: impl Into<String>) -> FieldError {
    FieldError::new(Location::Body, field, code, msg)
}

/// Why a redirect URI cannot be registered, if it cannot: an absolute `https` URI, or `http`
/// on a loopback host only (RFC 8252 native apps), with no fragment, no user information and
/// nothing a browser would read differently from the text (spaces, controls, backslashes).
pub fn redirect_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.is_empty() || uri.len() > MAX_URI_LEN {
        return Some("must be an absolute URI of at most 2000 characters");
    }
    if uri
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Some("must not contain spaces, control characters or backslashes");
    }
    if uri.contains('#') {
        return Some("must not contain a fragment");
    }
    let (https, rest) = if let Some(r) = uri.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = uri.strip_prefix("http://") {
        (false, r)
    } else {
        return Some("must start with https:// (or http:// on a loopback host)");
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Some("must name a host, without user information");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
        None => authority
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase(),
    };
    if !https && !matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1") {
        return Some("http:// is allowed on loopback hosts only; use https://");
    }
    None
}

fn check_name(name: &str, p: &mut Vec<FieldError>) {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME_LEN {
        p.push(body_error(
            "name",
            "value_error",
            "name must be 1 to 100 characters",
        ));
    }
}

fn check_uris(uris: &[String], p: &mut Vec<FieldError>) {
    if uris.is_empty() || uris.len() > MAX_REDIRECT_URIS {
        p.push(body_error(
            "redirect_uris",
            "value_error",
            format!("redirect_uris must hold 1 to {MAX_REDIRECT_URIS} URIs"),
        ));
    }
    for (i, u) in uris.iter().enumerate() {
        if let Some(why) = redirect_uri_problem(u) {
            p.push(body_error(
                &format!("redirect_uris.{i}"),
                "value_error",
                format!("redirect_uris[{i}] {why}"),
            ));
        }
    }
}

impl Core {
    async fn org_for_clients(&self, ctx: &Context, org_ref: &str) -> Result<Organization> {
        let org = self.find_org(org_ref).await?;
        ctx.access(&org)?.require_org(perm::ORG_MODIFY)?;
        Ok(org)
    }

    pub async fn list_oidc_clients(&self, ctx: &Context, org_ref: &str) -> Result<Vec<OidcClient>> {
        let org = self.org_for_clients(ctx, org_ref).await?;
        Ok(self.store.list_oidc_clients(&org.id).await?)
    }

    pub async fn get_oidc_client(
        &self,
        ctx: &Context,
        org_ref: &str,
        client_id: &str,
    ) -> Result<OidcClient> {
        let org = self.org_for_clients(ctx, org_ref).await?;
        self.store
            .get_oidc_client(&org.id, client_id)
            .await?
            .ok_or(Error::NotFound("client"))
    }

    /// Registers a client; a confidential one gets a secret, stored as a hash only.
    pub async fn create_oidc_client(
        &self,
        ctx: &Context,
        org_ref: &str,
        input: OidcClientInput,
    ) -> Result<CreatedOidcClient> {
        let org = self.org_for_clients(ctx, org_ref).await?;
        let mut p = Vec::new();
        match &input.name {
            Some(n) => check_name(n, &mut p),
            None => p.push(body_error("name", "missing", "name is required")),
        }
        match &input.redirect_uris {
            Some(u) => check_uris(u, &mut p),
            None => p.push(body_error(
                "redirect_uris",
                "missing",
                "redirect_uris is required",
            )),
        }
        if !p.is_empty() {
            return Err(Error::Validation(p));
        }
        let secret = (!input.public).then(random_secret);
        let now = self.now();
        let client = OidcClient {
            org_id: org.id.to_string(),
            client_id: new_uuid7(),
            name: input.name.unwrap_or_default().trim().to_owned(),
            secret_hash: secret.as_deref().map(hash_secret),
            redirect_uris: input.redirect_uris.unwrap_or_default(),
            created_at: now,
            updated_at: now,
        };
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "oidc_client.created",
            None,
            json!({ "client_id": client.client_id, "name": client.name, "public": client.is_public(),
                    "redirect_uris": client.redirect_uris }),
        ));
        self.store.insert_oidc_client(&client, fx).await?;
        Ok(CreatedOidcClient { client, secret })
    }

    /// Renames a client or replaces its redirect URIs (a client stays public or confidential).
    pub async fn update_oidc_client(
        &self,
        ctx: &Context,
        org_ref: &str,
        client_id: &str,
        input: OidcClientInput,
    ) -> Result<OidcClient> {
        let org = self.org_for_clients(ctx, org_ref).await?;
        let mut client = self
            .store
            .get_oidc_client(&org.id, client_id)
            .await?
            .ok_or(Error::NotFound("client"))?;
        let mut p = Vec::new();
        if let Some(n) = &input.name {
            check_name(n, &mut p);
        }
        if let Some(u) = &input.redirect_uris {
            check_uris(u, &mut p);
        }
        if !p.is_empty() {
            return Err(Error::Validation(p));
        }
        if let Some(n) = input.name {
            client.name = n.trim().to_owned();
        }
        if let Some(u) = input.redirect_uris {
            client.redirect_uris = u;
        }
        client.updated_at = self.now().max(client.updated_at + 1);
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "oidc_client.updated",
            None,
            json!({ "client_id": client.client_id, "name": client.name,
                    "redirect_uris": client.redirect_uris }),
        ));
        self.store.update_oidc_client(&client, fx).await?;
        Ok(client)
    }

    pub async fn delete_oidc_client(
        &self,
        ctx: &Context,
        org_ref: &str,
        client_id: &str,
    ) -> Result<()> {
        let org = self.org_for_clients(ctx, org_ref).await?;
        let fx = Effects::audit(self.audit(
            ctx,
            &org.id,
            "oidc_client.deleted",
            None,
            json!({ "client_id": client_id }),
        ));
        self.store
            .delete_oidc_client(&org.id, client_id, fx)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NotFound => Error::NotFound("client"),
                other => other.into(),
            })
    }

    /// The organization's client `client_id`, if there is one (for the provider's endpoints,
    /// where nobody is signed in yet).
    pub async fn find_oidc_client(
        &self,
        org: &Organization,
        client_id: &str,
    ) -> Result<Option<OidcClient>> {
        if let Some(c) = self
            .config
            .first_party_clients
            .iter()
            .find(|c| c.client_id == client_id)
        {
            return Ok(Some(c.client(org)));
        }
        Ok(self.store.get_oidc_client(&org.id, client_id).await?)
    }

    /// The client, if `secret` proves it: a confidential client must present its secret, a
    /// public one must present none. Every failure is `Unauthenticated`.
    pub async fn authenticate_client(
        &self,
        org: &Organization,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<OidcClient> {
        let client = self
            .find_oidc_client(org, client_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let ok = match (&client.secret_hash, secret) {
            (Some(stored), Some(given)) => constant_time_eq(stored, &hash_secret(given)),
            (None, None) => true,
            _ => false,
        };
        if ok {
            Ok(client)
        } else {
            Err(Error::Unauthenticated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redirect_uri_problem;

    #[test]
    fn only_absolute_https_or_loopback_http_uris_register() {
        for ok in [
            "https://app.example.test/cb",
            "https://app.example.test:8443/cb?tenant=1",
            "http://localhost:8000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:9000/",
        ] {
            assert_eq!(redirect_uri_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "app.example.test/cb",
            "/cb",
            "//evil.example.test/cb",
            "http://app.example.test/cb",
            "http://localhost.evil.example.test/cb",
            "https://app.example.test/cb#x",
            "https://user@app.example.test/cb",
            "https://app.example.test/c b",
            "https://app.example.test\\@evil.example.test/",
            "javascript:alert(1)",
            "https:///cb",
        ] {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }
}
