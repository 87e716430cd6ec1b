//! SCIM at the bench's user count (docs/scim.md, "How listings stay indexed"): a provider's
//! lookup before a create, `eq` on `userName` and on `externalId` (one index probe each,
//! whatever the organization's size), and `startIndex` pages, the first and one near the end.

use serde_json::{json, Value};

use crate::load::send;
use crate::{data, Bench};

impl Bench {
    pub(crate) async fn scim(&mut self, token: &str) -> anyhow::Result<()> {
        let org = self.org.org_id.clone();
        let made = send(
            self.client
                .post(self.url(&format!("/admin/v1/orgs/{org}/scim-tokens")))
                .bearer_auth(token)
                .json(&json!({ "name": "bench" })),
        )
        .await
        .map_err(|e| anyhow::anyhow!("SCIM token: {e}"))?;
        let scim = made["token"].as_str().unwrap_or_default().to_owned();
        let base = format!("/scim/v2/{org}");
        // One member provisioned with an external id, among the loaded ones (which have none).
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("provisioned@{}", self.domain),
            "externalId": "00u-bench-external",
            "name": { "givenName": "Pro", "familyName": "Visioned" },
            "active": true,
        });
        send(
            self.client
                .post(self.url(&format!("{base}/Users")))
                .bearer_auth(&scim)
                .header("content-type", "application/scim+json")
                .body(body.to_string()),
        )
        .await
        .map_err(|e| anyhow::anyhow!("SCIM create: {e}"))?;
        let n = self.opts.users;
        let middle = data::person(&self.domain, n.saturating_sub(1) / 2)
            .email
            .replace('@', "%40");
        let one = |v: &Value| match v["totalResults"].as_i64() {
            Some(1) => Ok(()),
            other => Err(format!("totalResults {other:?}, not 1")),
        };
        self.latency(
            "scim.users eq userName",
            format!("{base}/Users?filter=userName%20eq%20%22{middle}%22&startIndex=1&count=2"),
            &scim,
            50.0,
            one,
        )
        .await;
        self.latency(
            "scim.users eq externalId",
            format!("{base}/Users?filter=externalId%20eq%20%2200u-bench-external%22&startIndex=1&count=2"),
            &scim,
            50.0,
            one,
        )
        .await;
        let page = |v: &Value| match v["Resources"].as_array().map(Vec::len) {
            Some(l) if l > 0 => Ok(()),
            _ => Err("an empty page".to_owned()),
        };
        self.latency(
            "scim.users startIndex=1 (count 100)",
            format!("{base}/Users?startIndex=1&count=100"),
            &scim,
            100.0,
            page,
        )
        .await;
        let near_end = n.saturating_sub(100).max(1);
        self.latency(
            "scim.users startIndex near the end (count 100)",
            format!("{base}/Users?startIndex={near_end}&count=100"),
            &scim,
            500.0,
            page,
        )
        .await;
        Ok(())
    }
}
