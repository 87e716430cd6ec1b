//! The timed substring searches of the three surfaces, and eva's quicksearch.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::load::{send, Samples};
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
        self.fresh_total(token).await?;
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

    /// eva's unselective search when its exact total cannot come from memory: before each
    /// timed request, an untimed rename of the administrator (a change a count could see)
    /// moves the organization's user version, so every total is counted afresh.
    async fn fresh_total(&mut self, token: &str) -> anyhow::Result<()> {
        let (org, uuid) = (self.org.org_id.clone(), self.org.org_uuid.clone());
        let term = data::UNSELECTIVE;
        let search = self.url(&format!(
            "/org/{uuid}/users?linesPerPage={PAGE}&page=0&orderBy=name&direction=ASC&searchTerms={term}"
        ));
        let rename = self.url(&format!("/v1/{org}/user/{}", self.org.admin_id));
        let deadline = Instant::now() + self.duration();
        let mut s = Samples {
            micros: Vec::new(),
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
        };
        let mut round = 0usize;
        while s.micros.len() + s.errors < 20 || Instant::now() < deadline {
            // "Bench Admin" matches no search term; it is the name left at the end.
            let first = if round.is_multiple_of(2) {
                "Benchmark"
            } else {
                "Bench"
            };
            round += 1;
            send(
                self.client
                    .post(&rename)
                    .bearer_auth(token)
                    .json(&json!({ "first_name": first })),
            )
            .await
            .map_err(|e| anyhow::anyhow!("rename: {e}"))?;
            let t = Instant::now();
            let answer = send(self.client.get(&search).bearer_auth(token)).await;
            let took = t.elapsed();
            s.elapsed += took;
            match answer.and_then(|v| match v["content"].as_array().map(Vec::len) {
                Some(l) if l > 0 => Ok(()),
                _ => Err(format!("no match in content: {v}")),
            }) {
                Ok(()) => s.micros.push(took.as_micros() as u64),
                Err(e) => {
                    s.errors += 1;
                    s.first_error.get_or_insert(e);
                }
            }
        }
        if round % 2 == 1 {
            send(
                self.client
                    .post(&rename)
                    .bearer_auth(token)
                    .json(&json!({ "first_name": "Bench" })),
            )
            .await
            .map_err(|e| anyhow::anyhow!("rename: {e}"))?;
        }
        let op = s.result("eva.list searchTerms unselective, after a write", 1);
        self.push(op);
        Ok(())
    }
}
