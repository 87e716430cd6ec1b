//! The benchmark program at a small size, so that it cannot rot: it starts the real `roster`
//! binary, loads 2,000 users and drives every operation; what is checked is that each answer
//! was right (timings are the benchmark's business, not a test's).

use roster_bench::{Backend, Options, Report};

/// Runs the benchmark at a small size on the suite's backend (`adjust` changes the options),
/// and checks that every one of its answers was right.
async fn small_run(adjust: impl FnOnce(&mut Options)) -> (Report, String) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let postgres = crate::helpers::is_postgres();
    let database_url = if postgres {
        Some(crate::helpers::test_database_url(tmp.path()).await)
    } else {
        None
    };
    let mut options = Options {
        users: 2_000,
        backend: if postgres {
            Backend::Postgres
        } else {
            Backend::Sqlite
        },
        database_url,
        url: None,
        roster_bin: env!("CARGO_BIN_EXE_roster").into(),
        other_orgs: 2,
        other_org_users: 100,
        seconds: 0.05,
        concurrency: 4,
        import_rows: 300,
        password_rows: 4,
        load_chunk: 700,
        webhook_rows: 300,
        webhook_rounds: 1,
        writes_only: false,
        exports_only: false,
    };
    adjust(&mut options);
    let report = roster_bench::run(options)
        .await
        .expect("the benchmark runs to the end");
    let table = report.table();
    for c in &report.checks {
        assert!(c.ok, "check {} failed: {c:?}\n{table}", c.name);
    }
    (report, table)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_every_operation_and_its_answers_are_right() {
    let (report, table) = small_run(|_| {}).await;
    // Each figure can be read against the yardsticks measured in the same run.
    assert!(
        report.argon2_ms > 0.0 && report.round_trip_us > 0.0,
        "{table}"
    );
    assert!(
        report
            .operations
            .iter()
            .all(|o| o.p50_round_trips.is_some()),
        "{table}"
    );
    eprintln!("{table}");
    let names: Vec<&str> = report.operations.iter().map(|o| o.name.as_str()).collect();
    for expected in [
        "amigo.list.walk (limit 100)",
        "amigo.list.first",
        "amigo.list.near_end (token)",
        "amigo.list.first (limit 100)",
        "amigo.list.sort last_name",
        "amigo.list.sort -user_stats.last_message_time",
        "eva.list.first",
        "eva.list.near_end (page number)",
        "oum.list.first",
        "oum.list.near_end (page number)",
        "amigo.search selective",
        "amigo.search unselective",
        "eva.list searchTerms selective",
        "eva.list searchTerms unselective",
        "eva.list searchTerms unselective, after a write",
        "oum.list name_search selective",
        "oum.list name_search unselective",
        "eva.quicksearch prefix",
        "console.users search selective",
        "console.users search unselective",
        "console.users sort -email",
        "console.users last page by name",
        "scim.users eq userName",
        "scim.users eq externalId",
        "scim.users startIndex=1 (count 100)",
        "scim.users startIndex near the end (count 100)",
        "amigo.get_user (authenticated)",
        "amigo.sign_in_with_api_key",
        "amigo.invite",
        "eva.bulk_create (no passwords)",
        "eva.bulk_create (passwords)",
        "jobs.export csv",
        "jobs.export jsonl",
        "webhooks: bulk_create, no endpoint",
        "webhooks: bulk_create, an endpoint",
        "webhooks: delivered (after import)",
    ] {
        assert!(names.contains(&expected), "{expected} missing:\n{table}");
    }
    // Every target is also stated against the yardsticks, with a verdict of its own.
    let held: Vec<_> = report
        .operations
        .iter()
        .filter(|o| o.goal.is_some())
        .collect();
    assert!(held.len() >= 20, "{table}");
    for op in held {
        let ratio = op
            .ratio
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no ratio\n{table}", op.name));
        assert!(
            ratio.figure > 0.0 && ratio.target > 0.0,
            "{}: {ratio:?}",
            op.name
        );
        assert!(
            op.target.is_some() && op.met.is_some(),
            "{}\n{table}",
            op.name
        );
        assert!(op.p99_round_trips.is_some(), "{}\n{table}", op.name);
    }
    for op in &report.operations {
        assert_eq!(
            op.errors, 0,
            "{} had errors: {:?}\n{table}",
            op.name, op.first_error
        );
        assert!(
            op.requests > 0 && op.throughput > 0.0,
            "{} did nothing\n{table}",
            op.name
        );
        assert!(
            op.p50_ms > 0.0 && op.p50_ms <= op.p99_ms,
            "{} latencies\n{table}",
            op.name
        );
    }
    // The walk saw every user of the big organization once, and the searches found exactly the
    // users the generator made to match (checked against the data, not against the server).
    let check = |name: &str| {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name}\n{table}"))
            .actual
            .clone()
    };
    assert_eq!(check("walk: distinct users seen"), "2000");
    assert_eq!(check("eva totalElements"), "2000");
    assert_eq!(check("oum count"), "2000");
    let rare = roster_bench::data::count_matching(
        "big.bench.example",
        1_999,
        roster_bench::data::SELECTIVE,
    );
    assert_eq!(check("eva matches 'quillfeather'"), rare.to_string());
    assert!(report.peak_rss_mib.is_some_and(|m| m > 1.0), "{table}");
    // The webhook round: one event per imported row, each delivered to the bench's receiver.
    let w = report.webhooks.as_ref().expect("the webhook round ran");
    assert_eq!(
        (w.events_emitted, w.events_delivered),
        (300, 300),
        "{table}"
    );
    assert_eq!(check("webhooks: events delivered"), "300");
    assert!(
        w.import_slowdown > 0.0 && w.delivered_per_sec > 0.0,
        "{table}"
    );
}

/// `--exports-only` at a small size: the load, the page of 100 and the two exports alone, each
/// export checked for as many users as its job counted, every one once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_the_exports_alone_and_their_answers_are_right() {
    let (report, table) = small_run(|o| {
        o.users = 1_500;
        o.other_orgs = 1;
        o.other_org_users = 10;
        o.concurrency = 2;
        o.import_rows = 10;
        o.password_rows = 1;
        o.load_chunk = 500;
        o.webhook_rows = 10;
        o.exports_only = true;
    })
    .await;
    let names: Vec<&str> = report.operations.iter().map(|o| o.name.as_str()).collect();
    assert!(
        names.contains(&"jobs.export csv") && names.contains(&"jobs.export jsonl"),
        "{table}"
    );
    for format in ["csv", "jsonl"] {
        let name = format!("jobs.export {format}: every user once (distinct ids)");
        let c = report.checks.iter().find(|c| c.name == name);
        assert!(
            c.is_some_and(|c| c.ok && c.actual.parse::<u64>().is_ok_and(|n| n >= 1_500)),
            "{name}: {c:?}\n{table}"
        );
    }
}
