//! Many clients at once: get one user, sign in with an API key, invite.

use std::sync::Arc;

use anyhow::bail;
use serde_json::{json, Value};

use crate::load::{drive, send, Goal};
use crate::Bench;

impl Bench {
    /// Runs request `make(n)` from `--concurrency` clients for the operation's time; `verify`
    /// checks each answer, and the result is held against a minimum rate when there is one.
    pub(crate) async fn many_clients(
        &mut self,
        name: &str,
        min_rate: Option<f64>,
        make: impl Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
        verify: impl Fn(usize, &Value) -> Result<(), String> + Send + Sync + 'static,
    ) {
        let c = self.opts.concurrency;
        let verify = Arc::new(verify);
        let samples = drive(c, self.duration(), 100, move |n| {
            let req = make(n);
            let verify = verify.clone();
            async move { verify(n, &send(req).await?) }
        })
        .await;
        let mut op = samples.result(name, c);
        op.goal = min_rate.map(Goal::MinRequestsPerSec);
        self.push(op);
    }

    /// Get one user, sign in with an API key and invite, from many clients at once.
    pub(crate) async fn throughput(&mut self, token: &str, ids: Vec<String>) -> anyhow::Result<()> {
        if ids.is_empty() {
            bail!("the walk found no users");
        }
        let ids = Arc::new(ids);
        let (client, org, base, token) = (
            self.client.clone(),
            self.org.clone(),
            self.base.clone(),
            token.to_owned(),
        );
        let (c, o, b, t, i) = (
            client.clone(),
            org.clone(),
            base.clone(),
            token.clone(),
            ids.clone(),
        );
        let asked = ids.clone();
        self.many_clients(
            "amigo.get_user (authenticated)",
            Some(10_000.0),
            move |n| {
                c.get(format!(
                    "{b}/v1/{}/user/?user_id={}",
                    o.org_id,
                    i[n % i.len()]
                ))
                .bearer_auth(&t)
            },
            move |n, v| {
                let id = &asked[n % asked.len()];
                match v["users"][0]["user_id"].as_str() {
                    Some(got) if got == id => Ok(()),
                    _ => Err(format!("asked for {id}, got {v}")),
                }
            },
        )
        .await;
        let (c, o, b, i) = (client.clone(), org.clone(), base.clone(), ids.clone());
        self.many_clients(
            "amigo.sign_in_with_api_key",
            Some(3_000.0),
            move |n| {
                c.post(format!("{b}/v1/{}/user/signin_with_api_key", o.org_id))
                    .header("x-api-key", &o.key)
                    .header("x-api-key-id", &o.key_id)
                    .header("x-user-id", &i[n % i.len()])
            },
            |_, v| match v["id_token"].as_str() {
                Some(t) if t.len() > 20 => Ok(()),
                _ => Err(format!("no token: {v}")),
            },
        )
        .await;
        self.many_clients(
            "amigo.invite",
            None,
            move |n| {
                client
                    .post(format!("{base}/v1/{}/user/", org.org_id))
                    .bearer_auth(&token)
                    .json(&json!({
                        "first_name": "Invited",
                        "last_name": format!("Person{n}"),
                        "email": format!("invite{n}@invites.bench.example"),
                        "role_name": "DefaultUserRole",
                    }))
            },
            |_, _| Ok(()),
        )
        .await;
        Ok(())
    }
}
