//! The admin console's users page, server-rendered, at the bench's size: one eva administrator
//! with a password (imported like everyone else) signs in to the console through the hosted
//! sign-in page (the code flow, as a browser does it, cookies kept by hand), then the page is
//! timed with a selective search, with an unselective one, and sorted by email descending
//! (docs/console.md: target p99 <= 50 ms at 1,000,000 users).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::load::drive;
use crate::{data, Bench};

const PASSWORD: &str = "Console-bench-pass1";

/// A client that follows no redirect and keeps cookies by name.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `path` on the server from an absolute or relative `Location`.
    fn path_of(&self, location: &str) -> String {
        location
            .strip_prefix(&self.base)
            .unwrap_or(location)
            .to_owned()
    }

    async fn go(
        &mut self,
        req: reqwest::RequestBuilder,
    ) -> anyhow::Result<(u16, Option<String>, String)> {
        let r = req.header(COOKIE, self.header()).send().await?;
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str()?;
            let kv = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = kv.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| self.path_of(l));
        Ok((status, location, r.text().await?))
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The hidden fields of the sign-in form.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in html.split("<input type=\"hidden\" ").skip(1) {
        let attr = |name: &str| -> Option<String> {
            let start = chunk.find(&format!("{name}=\""))? + name.len() + 2;
            let v = &chunk[start..];
            Some(unescape(&v[..v.find('"')?]))
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.push((n, v));
        }
    }
    out
}

impl Bench {
    /// Signs `email` in to the console of the bench's organization; returns the cookie header.
    async fn console_session(&self, email: &str) -> anyhow::Result<String> {
        let org = self.org.org_id.clone();
        let mut b = Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            base: self.base.clone(),
            cookies: BTreeMap::new(),
        };
        let url = |p: &str| format!("{}{p}", self.base);
        let (_, auth, _) = b
            .go(b.http.get(url(&format!("/console/{org}/signin"))))
            .await?;
        let auth = auth.ok_or_else(|| anyhow!("console sign-in: no redirect"))?;
        let (status, _, form) = b.go(b.http.get(url(&auth))).await?;
        if status != 200 {
            bail!("console sign-in: the hosted page answered {status}");
        }
        let mut fields = hidden_fields(&form);
        fields.push(("username".into(), email.into()));
        fields.push(("password".into(), PASSWORD.into()));
        fields.push(("action".into(), "password".into()));
        let action = auth.split('?').next().unwrap_or_default().to_owned();
        let (status, back, body) = b.go(b.http.post(url(&action)).form(&fields)).await?;
        let back = back.ok_or_else(|| anyhow!("console sign-in: {status} {body:.300}"))?;
        let (status, _, _) = b.go(b.http.get(url(&back))).await?;
        if status != 303 || !b.cookies.contains_key("roster_console") {
            bail!("console sign-in: the callback answered {status}");
        }
        Ok(b.header())
    }

    /// Times one console page: `rows` data rows expected at least.
    async fn console_page(&mut self, name: &str, path: String, cookie: &str, verify: &'static str) {
        let client = self.client.clone();
        let url = self.url(&path);
        let cookie = Arc::new(cookie.to_owned());
        let samples = drive(1, self.duration(), 20, move |_| {
            let req = client.get(&url).header(COOKIE, cookie.as_str());
            async move {
                let r = req.send().await.map_err(|e| format!("request: {e}"))?;
                let status = r.status();
                let body = r.text().await.map_err(|e| format!("body: {e}"))?;
                if !status.is_success() {
                    return Err(format!("status {status}: {}", &body[..body.len().min(300)]));
                }
                if !body.contains(verify) {
                    return Err(format!("the page lacks {verify}"));
                }
                Ok(())
            }
        })
        .await;
        let mut op = samples.result(name, 1);
        op.target = Some("p99 <= 50 ms".into());
        op.met = Some(op.errors == 0 && op.p99_ms <= 50.0);
        self.push(op);
    }

    pub(crate) async fn console(&mut self, token: &str) -> anyhow::Result<()> {
        let email = format!("console.admin@{}", self.domain);
        let csv = format!(
            "email;name;company;role;password;environmentUuid;environmentName;bot\n\
             {email};Console Admin;;ADMIN;{PASSWORD};;;\n"
        );
        let out = self
            .bulk_create(&self.org.clone(), token, csv.into_bytes())
            .await?;
        self.check_applied("console administrator", 1, &out);
        let cookie = self.console_session(&email).await?;
        let org = self.org.org_id.clone();
        for (kind, term) in [
            ("selective", data::SELECTIVE),
            ("unselective", data::UNSELECTIVE),
        ] {
            self.console_page(
                &format!("console.users search {kind}"),
                format!("/console/{org}/users?q={term}"),
                &cookie,
                "<tbody>",
            )
            .await;
        }
        self.console_page(
            "console.users sort -email",
            format!("/console/{org}/users?sort=-email"),
            &cookie,
            "<tbody>",
        )
        .await;
        self.console_page(
            "console.users last page by name",
            format!("/console/{org}/users?last=1"),
            &cookie,
            "<tbody>",
        )
        .await;
        Ok(())
    }
}
