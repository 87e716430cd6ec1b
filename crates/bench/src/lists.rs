//! The walk through the whole organization and the timed list pages of the three surfaces.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::load::{self, drive, send, Goal, OpResult};
use crate::{Bench, PAGE};

impl Bench {
    /// Follows Amigo continuation tokens through the whole organization: every user once. Keeps
    /// the token of a page near the end, and a spread of user ids for the get-one operation.
    pub(crate) async fn walk(&mut self, token: &str) -> anyhow::Result<(Vec<String>, i64)> {
        let started = Instant::now();
        let mut seen = HashSet::with_capacity(self.opts.users);
        let mut samples = Vec::new();
        let mut cont = 0i64;
        let mut near_end = 0i64;
        let near = self.opts.users.saturating_sub(2 * PAGE);
        let mut latencies = Vec::new();
        loop {
            let t = Instant::now();
            let v = send(
                self.client
                    .get(self.url(&format!(
                        "/v1/{}/user/?limit=100&continuation_token={cont}",
                        self.org.org_id
                    )))
                    .bearer_auth(token),
            )
            .await
            .map_err(|e| anyhow::anyhow!("walk: {e}"))?;
            latencies.push(t.elapsed().as_micros() as u64);
            for u in v["users"].as_array().into_iter().flatten() {
                let id = u["user_id"].as_str().unwrap_or_default().to_owned();
                if seen.len() % 997 == 0 && samples.len() < 1000 {
                    samples.push(id.clone());
                }
                seen.insert(id);
            }
            if v["has_more"] != json!(true) {
                break;
            }
            cont = v["continuation_token"].as_i64().unwrap_or(0);
            if near_end == 0 && seen.len() >= near {
                near_end = cont;
            }
        }
        self.report.walk_seconds = started.elapsed().as_secs_f64();
        let mut op = load::Samples {
            micros: latencies,
            errors: 0,
            first_error: None,
            elapsed: started.elapsed(),
        }
        .result("amigo.list.walk (limit 100)", 1);
        op.target = Some("every user once".into());
        op.met = Some(seen.len() == self.opts.users);
        self.push(op);
        self.check("walk: distinct users seen", self.opts.users, seen.len());
        Ok((samples, near_end))
    }

    /// Times GET `path` from one client against a p99 target; `verify` checks each answer.
    pub(crate) async fn latency(
        &mut self,
        name: &str,
        path: String,
        token: &str,
        target_p99_ms: f64,
        verify: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> OpResult {
        let goal = Goal::P99Ms(target_p99_ms);
        self.latency_goal(name, path, token, goal, verify).await
    }

    /// Times GET `path` from one client against `goal`; `verify` checks each answer.
    pub(crate) async fn latency_goal(
        &mut self,
        name: &str,
        path: String,
        token: &str,
        goal: Goal,
        verify: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> OpResult {
        let client = self.client.clone();
        let url = self.url(&path);
        let token = token.to_owned();
        let verify = Arc::new(verify);
        let samples = drive(1, self.duration(), 20, move |_| {
            let req = client.get(&url).bearer_auth(&token);
            let verify = verify.clone();
            async move { verify(&send(req).await?) }
        })
        .await;
        let mut op = samples.result(name, 1);
        op.goal = Some(goal);
        self.push(op.clone());
        op
    }

    /// Amigo's first page of 100 users against issue 20's p50 ≤ 1 ms.
    pub(crate) async fn page_of_100(&mut self, token: &str) -> OpResult {
        let org = self.org.org_id.clone();
        let n = self.opts.users;
        let hundred = move |v: &Value| match v["users"].as_array().map(Vec::len) {
            Some(100) => Ok(()),
            Some(l) if n < 100 && l > 0 => Ok(()),
            other => Err(format!("a page of {other:?} users, not 100")),
        };
        self.latency_goal(
            "amigo.list.first (limit 100)",
            format!("/v1/{org}/user/?limit=100"),
            token,
            Goal::P50Ms(1.0),
            hundred,
        )
        .await
    }

    pub(crate) async fn lists(&mut self, token: &str, near_end: i64) -> anyhow::Result<()> {
        let org = self.org.org_id.clone();
        let uuid = self.org.org_uuid.clone();
        let n = self.opts.users;
        let full = |v: &Value| match v["users"].as_array().map(Vec::len) {
            Some(l) if l > 0 => Ok(()),
            _ => Err("empty page".to_owned()),
        };
        let first = self
            .latency(
                "amigo.list.first",
                format!("/v1/{org}/user/?limit={PAGE}"),
                token,
                10.0,
                full,
            )
            .await;
        let last = self
            .latency(
                "amigo.list.near_end (token)",
                format!("/v1/{org}/user/?limit={PAGE}&continuation_token={near_end}"),
                token,
                10.0,
                full,
            )
            .await;
        self.ratio("amigo last/first p50", &last, &first);
        self.page_of_100(token).await;
        for sort in ["last_name", "-user_stats.last_message_time"] {
            self.latency(
                &format!("amigo.list.sort {sort}"),
                format!("/v1/{org}/user/?limit={PAGE}&sort_by={sort}"),
                token,
                15.0,
                full,
            )
            .await;
        }
        // eva: Spring pages from 0, total in totalElements (users are all active).
        let content = |v: &Value| match v["content"].as_array().map(Vec::len) {
            Some(l) if l > 0 => Ok(()),
            _ => Err(format!(
                "empty page: {}",
                v.to_string().chars().take(200).collect::<String>()
            )),
        };
        let eva = format!("/org/{uuid}/users?linesPerPage={PAGE}&orderBy=name&direction=ASC");
        let first = self
            .latency(
                "eva.list.first",
                format!("{eva}&page=0"),
                token,
                10.0,
                content,
            )
            .await;
        let last_page = (n - 1) / PAGE;
        let last = self
            .latency(
                "eva.list.near_end (page number)",
                format!("{eva}&page={}", last_page.saturating_sub(1)),
                token,
                10.0,
                content,
            )
            .await;
        self.ratio("eva last/first p50", &last, &first);
        let total = send(
            self.client
                .get(self.url(&format!("{eva}&page=0")))
                .bearer_auth(token),
        )
        .await
        .map_err(|e| anyhow::anyhow!("eva list: {e}"))?;
        self.check("eva totalElements", n, &total["totalElements"]);
        self.latency(
            "eva.list.sort createdAt DESC",
            format!(
                "/org/{uuid}/users?linesPerPage={PAGE}&orderBy=createdAt&direction=DESC&page=0"
            ),
            token,
            15.0,
            content,
        )
        .await;
        // org-user-management: page_number from 1, count of accepted members.
        let items = |v: &Value| match v["items"].as_array().map(Vec::len) {
            Some(l) if l > 0 => Ok(()),
            _ => Err("empty page".to_owned()),
        };
        let first = self
            .latency(
                "oum.list.first",
                format!("/users?page_size={PAGE}&page_number=1"),
                token,
                10.0,
                items,
            )
            .await;
        let last = self
            .latency(
                "oum.list.near_end (page number)",
                format!("/users?page_size={PAGE}&page_number={}", last_page),
                token,
                10.0,
                items,
            )
            .await;
        self.ratio("oum last/first p50", &last, &first);
        let count = send(
            self.client
                .get(self.url("/users?page_size=1&page_number=1"))
                .bearer_auth(token),
        )
        .await
        .map_err(|e| anyhow::anyhow!("oum list: {e}"))?;
        self.check("oum count", n, &count["count"]);
        Ok(())
    }

    pub(crate) fn ratio(&mut self, name: &str, last: &OpResult, first: &OpResult) {
        let r = last.p50_ms / first.p50_ms.max(1e-6);
        self.report.ratios.push((name.to_owned(), r, r <= 1.5));
    }
}
