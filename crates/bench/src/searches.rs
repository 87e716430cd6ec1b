//! The timed substring searches of the three surfaces, and eva's quicksearch.

use serde_json::Value;

use crate::load::send;
use crate::{data, Bench, PAGE};

impl Bench {
    pub(crate) async fn searches(&mut self, token: &str) -> anyhow::Result<()> {
        let org = self.org.org_id.clone();
        let uuid = self.org.org_uuid.clone();
        let n = self.opts.users.saturating_sub(1);
        for (kind, term, target) in [
            ("selective", data::SELECTIVE, 50.0),
            ("unselective", data::UNSELECTIVE, 100.0),
        ] {
            let expected = data::count_matching(&self.domain, n, term);
            let found = |key: &'static str| {
                move |v: &Value| match v[key].as_array().map(Vec::len) {
                    Some(l) if l > 0 => Ok(()),
                    _ => Err(format!("no match in {key}")),
                }
            };
            self.latency(
                &format!("amigo.search {kind}"),
                format!("/v1/{org}/user/search/?query={term}"),
                token,
                target,
                found("users"),
            )
            .await;
            self.latency(
                &format!("eva.list searchTerms {kind}"),
                format!("/org/{uuid}/users?linesPerPage={PAGE}&page=0&orderBy=name&direction=ASC&searchTerms={term}"),
                token,
                target,
                found("content"),
            )
            .await;
            self.latency(
                &format!("oum.list name_search {kind}"),
                format!("/users?page_size={PAGE}&page_number=1&name_search={term}"),
                token,
                target,
                found("items"),
            )
            .await;
            let eva = send(
                self.client
                    .get(self.url(&format!(
                        "/org/{uuid}/users?linesPerPage=1&page=0&searchTerms={term}"
                    )))
                    .bearer_auth(token),
            )
            .await
            .map_err(|e| anyhow::anyhow!("eva search: {e}"))?;
            self.check(
                &format!("eva matches '{term}'"),
                expected,
                &eva["totalElements"],
            );
            let oum = send(
                self.client
                    .get(self.url(&format!(
                        "/users?page_size=1&page_number=1&name_search={term}"
                    )))
                    .bearer_auth(token),
            )
            .await
            .map_err(|e| anyhow::anyhow!("oum search: {e}"))?;
            self.check(&format!("oum matches '{term}'"), expected, &oum["count"]);
        }
        // Distinct full names that start with a first name and the start of a surname.
        let prefix = "Ada%20Ba";
        self.latency(
            "eva.quicksearch prefix",
            format!("/org/{uuid}/users/quicksearch?name={prefix}&limit=10"),
            token,
            5.0,
            |v: &Value| match v.as_array().map(Vec::len) {
                Some(l) if l > 0 => Ok(()),
                _ => Err(format!("no names: {v}")),
            },
        )
        .await;
        Ok(())
    }
}
