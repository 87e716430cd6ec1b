//! Email delivery: messages delivered to a real SMTP server on loopback (with AUTH from the
//! URL) or written as files, several delivery workers on one database, and a restart between
//! queueing and delivery.

use roster_domain::types::OrgId;
use std::time::Duration;

use serde_json::json;

use crate::helpers::{Org, TestApp};
use crate::smtp::SmtpServer;

impl TestApp {
    /// Waits (10 s at most) until every message of `org` is recorded as sent.
    pub(crate) async fn wait_all_sent(
        &self,
        org: &str,
    ) -> Vec<roster_domain::model::OutboxMessage> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let all = self
                .state
                .core
                .store
                .list_outbox(&OrgId::from(org))
                .await
                .expect("outbox");
            if all.iter().all(|m| m.status == "sent") {
                return all;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not all sent: {all:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn outbox_statuses(&self, org: &str) -> Vec<(String, String, i64)> {
        self.state
            .core
            .store
            .list_outbox(&OrgId::from(org))
            .await
            .expect("outbox")
            .into_iter()
            .map(|m| (m.kind, m.status, m.attempts))
            .collect()
    }
}

pub(crate) async fn invite_with_email(app: &TestApp, org: &Org, email: &str) {
    let body = json!({
        "first_name": "M", "last_name": "N", "email": email, "role_name": "DefaultUserRole",
        "login_link": "https://app.example/login",
    });
    app.post(&format!("/v1/{}/user/", org.id), &org.token, body)
        .await
        .expect(201);
}

/// Three workers in two server processes on one database deliver every message exactly once.
#[tokio::test]
async fn outbox_with_several_workers_delivers_each_message_exactly_once() {
    let smtp = SmtpServer::start().await;
    let first = TestApp::spawn_with_smtp(&smtp).await;
    let url = first.database_url.clone();
    let smtp_url = smtp.url();
    let second = TestApp::spawn_with(|c| {
        c.database_url = Some(url);
        c.smtp_url = Some(smtp_url);
        c.mail_workers = 2;
    })
    .await;
    let acme = first.bootstrap("acme").await;
    const N: usize = 24;
    for i in 0..N {
        // Half through each server.
        let app = if i % 2 == 0 { &first } else { &second };
        invite_with_email(app, &acme, &format!("m{i}@example.com")).await;
    }
    smtp.wait_for_count(N).await;
    // Every message is sent, each claimed once: none can be sent twice, now or later.
    first.wait_all_sent("acme").await;
    for (kind, status, attempts) in first.outbox_statuses("acme").await {
        assert_eq!(
            (kind.as_str(), status.as_str(), attempts),
            ("invitation", "sent", 1)
        );
    }
    let got = smtp.messages();
    assert_eq!(got.len(), N);
    let mut ids: Vec<String> = got.iter().map(|m| m.message_id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "every Message-ID once");
    let mut to: Vec<String> = got.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), N, "every recipient once");

    // Claims at the same moment on the store never share a message.
    for i in 0..6 {
        invite_with_email(&first, &acme, &format!("late{i}@example.com")).await;
    }
    let store = &first.state.core.store;
    let now = roster_domain::types::now_micros();
    let far = now + 3_600_000_000;
    let (a, b) = tokio::join!(
        store.claim_outbox("claimer-a", now + 1_000_000, far, 4),
        store.claim_outbox("claimer-b", now + 1_000_000, far, 4),
    );
    let (a, b) = (a.expect("claim"), b.expect("claim"));
    assert!(
        a.iter().all(|m| b.iter().all(|n| n.id != m.id)),
        "disjoint claims"
    );
}

/// A message queued by one server that stopped before delivering it is delivered by the next
/// one on the same database; so is one whose worker died mid-send, once its lease runs out.
#[tokio::test]
async fn a_restart_between_queueing_and_delivery_loses_nothing() {
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let su = smtp_url.clone();
    let first = TestApp::spawn_with(|c| {
        c.smtp_url = Some(su);
        c.mail_workers = 0;
    })
    .await;
    let acme = first.bootstrap("acme").await;
    invite_with_email(&first, &acme, "queued@example.com").await;
    invite_with_email(&first, &acme, "leased@example.com").await;
    // A worker that crashed right after claiming the second one: its lease has run out.
    let now = roster_domain::types::now_micros();
    let claimed = first
        .state
        .core
        .store
        .claim_outbox("crashed-worker", now, now, 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let statuses = first.outbox_statuses("acme").await;
    assert_eq!(statuses.len(), 2);
    assert!(smtp.messages().is_empty());
    let pending = first
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert!(pending.iter().all(|m| m.payload["verify_link"].is_string()));

    let url = first.database_url.clone();
    let _files = first.stop().await;
    let second = TestApp::spawn_with(|c| {
        c.database_url = Some(url);
        c.smtp_url = Some(smtp_url);
        c.mail_workers = 1;
    })
    .await;
    let queued = smtp.wait_for("queued@example.com", |_| true).await;
    smtp.wait_for("leased@example.com", |_| true).await;
    // The message as composed: envelope, both parts, the link from the public URL.
    assert_eq!(queued.from, "no-reply@roster.example.test");
    assert!(queued.text().starts_with("Hello M,"), "{}", queued.text());
    assert!(queued.html().contains("<html lang=\"en\">"));
    assert!(queued
        .link("https://roster.example.test/")
        .starts_with("https://roster.example.test/v1/acme/user/verify?token="));
    // Once both are sent nothing is left to claim, so nothing more can arrive; once sent, a
    // message keeps no copy of its links (their tokens are live until used).
    for m in second.wait_all_sent("acme").await {
        assert_eq!(m.payload, json!({}), "{m:?}");
    }
    assert_eq!(smtp.messages().len(), 2);
    // The crashed worker's late report changes nothing.
    let m = &claimed[0];
    let late = second
        .state
        .core
        .store
        .finish_outbox(
            &OrgId::from(&m.org_id),
            &m.id,
            "crashed-worker",
            &roster_domain::store::Delivery::Failed {
                error: "late".into(),
            },
        )
        .await
        .expect("finish");
    assert!(!late);
}

/// Without ROSTER_SMTP_URL, messages become `.eml` files in the data directory.
#[tokio::test]
async fn without_smtp_messages_are_written_as_eml_files() {
    let app = TestApp::spawn_with(|c| c.mail_workers = 1).await;
    let acme = app.bootstrap("acme").await;
    invite_with_email(&app, &acme, "file@example.com").await;
    let id = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap()[0]
        .id
        .clone();
    let path = app.data_dir.join("mail").join(format!("{id}.eml"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} not written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let eml = std::fs::read_to_string(&path).unwrap();
    assert!(
        eml.contains(&format!("Message-ID: <{id}@roster.example.test>")),
        "{eml}"
    );
    assert!(eml.contains("To: file@example.com"));
}

/// Credentials in ROSTER_SMTP_URL (percent-encoded) are used for SMTP AUTH.
#[tokio::test]
async fn smtp_url_credentials_authenticate() {
    let smtp = SmtpServer::start().await;
    let url = format!(
        "smtp://roster%40example.test:p%40ss%20word@127.0.0.1:{}",
        smtp.port
    );
    let app = TestApp::spawn_with(|c| {
        c.smtp_url = Some(url);
        c.mail_workers = 1;
    })
    .await;
    let acme = app.bootstrap("acme").await;
    invite_with_email(&app, &acme, "auth@example.com").await;
    let mail = smtp.wait_for("auth@example.com", |_| true).await;
    assert_eq!(
        mail.auth,
        Some(("roster@example.test".to_owned(), "p@ss word".to_owned()))
    );
}

/// A server that cannot be reached is retried later (the message waits, pending, with its
/// attempt counted); a recipient the server refuses for good is given up at once.
#[tokio::test]
async fn transient_failures_wait_for_a_retry_and_permanent_ones_give_up() {
    // A port nothing listens on: connection refused, a transient failure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("smtp://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let app = TestApp::spawn_with(|c| {
        c.smtp_url = Some(dead);
        c.mail_workers = 1;
        // Time moves only when the test moves it, so the retry's time is exact.
        c.clock = roster_domain::clock::Clock::frozen();
    })
    .await;
    let acme = app.bootstrap("acme").await;
    invite_with_email(&app, &acme, "later@example.com").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = app.outbox_statuses("acme").await;
        if s[0].2 == 1 && s[0].1 == "pending" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The backoff (30 s at first, plus up to 10% jitter) keeps it from being tried again
    // before then: a claim 1 µs before 30 s finds nothing due.
    let failed_at = app.clock().now();
    let early = app
        .state
        .core
        .store
        .claim_outbox(
            "early",
            failed_at + 30_000_000 - 1,
            failed_at + 60_000_000,
            1,
        )
        .await
        .unwrap();
    assert!(early.is_empty(), "due before its backoff: {early:?}");
    let s = app.outbox_statuses("acme").await;
    assert_eq!((s[0].1.as_str(), s[0].2), ("pending", 1));
    let kept = app
        .state
        .core
        .store
        .list_outbox(&OrgId::from("acme"))
        .await
        .unwrap();
    assert!(
        kept[0].payload["verify_link"].is_string(),
        "kept for the retry"
    );
    // Once the backoff has passed by the clock, the worker tries again by itself.
    app.advance(Duration::from_secs(33));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.outbox_statuses("acme").await[0] != ("invitation".into(), "pending".into(), 2) {
        assert!(tokio::time::Instant::now() < deadline, "not retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    invite_with_email(&app, &acme, "bounce@example.com").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let all = app
            .state
            .core
            .store
            .list_outbox(&OrgId::from("acme"))
            .await
            .unwrap();
        if all[0].status == "failed" {
            assert_eq!(all[0].attempts, 1);
            assert_eq!(all[0].payload, json!({}));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{all:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(smtp.messages().is_empty());
}

/// Shutting down lets a delivery in flight finish: the server waits for the SMTP server's
/// answer and records the message as sent before it stops.
#[tokio::test]
async fn shutdown_lets_a_delivery_in_flight_finish() {
    let smtp = SmtpServer::start_slow(Duration::from_millis(800)).await;
    let app = TestApp::spawn_with_smtp(&smtp).await;
    let acme = app.bootstrap("acme").await;
    invite_with_email(&app, &acme, "inflight@example.com").await;
    // The data is in; the SMTP server has not answered yet.
    smtp.wait_for("inflight@example.com", |_| true).await;
    let url = app.database_url.clone();
    let _files = app.stop().await;
    let after = TestApp::spawn_with(|c| c.database_url = Some(url)).await;
    let statuses = after.outbox_statuses("acme").await;
    assert_eq!(
        statuses,
        vec![("invitation".to_owned(), "sent".to_owned(), 1)]
    );
}
