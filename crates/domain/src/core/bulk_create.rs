//! eva's bulk-create, streamed: the lines of a file go in as they are read, and every batch of
//! [`SYNC_BATCH`] lines ([`BATCH`] for a job) is checked, hashed and written while the next is read. Memory is bounded by
//! a batch and by the set of the file's email hashes (duplicates across the file are still
//! refused), not by the file. One batch is one transaction with its effects and, for a job,
//! its progress.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use serde_json::json;

use super::access::{Access, Context};
use super::bulk::{read_row, BulkOutcome, Row};
use super::eva::{org_role, Catalog, EVA_ADMIN};
use super::Core;
use crate::error::{Error, Location, Result};
use crate::import::Line;
use crate::model::*;
use crate::permissions::perm;
use crate::store::{Effects, JobProgress, NewIdentity, Refusal, StoreError, StoreResult};
use crate::types::*;

/// Lines per batch of an import job: per transaction (the job's progress moves by whole
/// batches), and per round of password hashing.
pub const BATCH: usize = 1000;
/// Lines per batch of eva's synchronous bulk-create, which shows no progress: larger
/// transactions write each touched index page once for more rows (on SQLite a 1,000-row
/// commit dirties nearly a page per row in every index keyed by a random value).
pub const SYNC_BATCH: usize = 5000;
/// A bulk import this large refreshes the planner's statistics before it answers.
const REFRESH_STATISTICS_AFTER: usize = 5_000;
const ALREADY: &str = "A user with this email already exists in the organization";

/// A batch being written: its task, and the `(line, key)` of each of its rows.
type Written = (
    tokio::task::JoinHandle<StoreResult<Vec<bool>>>,
    Vec<(u64, String)>,
);

/// A bulk create in progress. [`ImportRun::push`] takes lines as they are read;
/// [`ImportRun::finish`] writes the rest and gives the outcome.
pub struct ImportRun<'a> {
    core: &'a Core,
    ctx: &'a Context,
    access: Access<'a>,
    org: Organization,
    language: String,
    catalog: Catalog,
    roles: Vec<Role>,
    /// Hashes of the emails met so far (keyed per run, so no file can aim at collisions).
    seen: HashSet<u64>,
    hashing: RandomState,
    /// Lines per batch: [`SYNC_BATCH`], or [`BATCH`] for a job.
    batch: usize,
    waiting: Vec<Line>,
    in_flight: Option<Written>,
    outcome: BulkOutcome,
    /// Without a job, the errors are answered together in the order eva's bulk-create has
    /// always given them: the rows' own faults, then rows already present, then rows that
    /// turned out present when written.
    present: Vec<(String, String)>,
    late: Vec<(String, String)>,
    /// The job whose record each batch updates; its errors then go there, not in memory.
    job: Option<String>,
    lines: u64,
    bytes: u64,
    stopped: bool,
}

/// Where in a batch a row was refused.
#[derive(Clone, Copy)]
enum Phase {
    Check,
    Present,
    Written,
}

fn may_invite(access: &Access<'_>, role: &str) -> bool {
    let names = [role.to_owned()];
    access.can(
        perm::USER_INVITE,
        &crate::permissions::Target {
            user_id: None,
            is_self: false,
            role_names: &names,
        },
    )
}

/// Checks a line that needs no database beyond the catalogue and roles: the row, its
/// environment and its role, and the caller's right to invite into that role.
fn check_line(
    run: &mut ImportRun<'_>,
    line: &Line,
) -> std::result::Result<(Row, Vec<EnvAccess>, usize), String> {
    let row = read_row(line, true)?;
    if row.name.is_empty() {
        return Err("Column 'name' is mandatory".into());
    }
    if !row.password.is_empty() {
        crate::password::check_policy(&row.password, "password")
            .map_err(|e| format!("Password does not meet the password policy: {}", e.message))?;
    }
    let envs = match &row.env {
        None => Vec::new(),
        Some(env) => {
            Core::check_env_name(&run.catalog, line, env)?;
            run.catalog
                .check(false, std::slice::from_ref(env), "environments")
                .map_err(|errs| {
                    errs.into_iter()
                        .map(|e| e.message)
                        .collect::<Vec<_>>()
                        .join("; ")
                })?
        }
    };
    let role = org_role(&run.roles, row.role == EVA_ADMIN, &envs).ok_or("Role not found")?;
    if !may_invite(&run.access, &role.name) {
        return Err(format!("The caller may not invite into role {}", role.name));
    }
    if !run.access.appoints(&role.grants) {
        return Err(format!("The caller does not outrank role {}", row.role));
    }
    let index = run
        .roles
        .iter()
        .position(|r| r.id == role.id)
        .ok_or("Role not found")?;
    // Last, so that an invalid first line does not block a valid later one.
    if !run.seen.insert(run.hashing.hash_one(&row.email.lower)) {
        return Err("The email appears more than once in the file".to_owned());
    }
    Ok((row, envs, index))
}

impl Core {
    /// Starts a bulk create into `org_ref`: refused outright when the caller may invite into
    /// none of eva's roles.
    pub async fn begin_import<'a>(
        &'a self,
        ctx: &'a Context,
        org_ref: &str,
        language: &str,
    ) -> Result<ImportRun<'a>> {
        super::eva::check_language(language)?;
        let org = self.find_org(org_ref).await?;
        let access = ctx.access(&org)?;
        if !std::iter::once(EVA_ADMIN)
            .chain(EnvRole::ALL.map(EnvRole::as_str))
            .any(|r| may_invite(&access, r))
        {
            return Err(Error::forbidden(format!(
                "missing required permission {}",
                perm::USER_INVITE
            )));
        }
        let catalog = self.catalog(&org.id).await?;
        let roles = self.store.list_roles(&org.id).await?;
        Ok(ImportRun {
            core: self,
            ctx,
            access,
            org,
            language: language.to_owned(),
            catalog,
            roles,
            seen: HashSet::new(),
            hashing: RandomState::new(),
            batch: SYNC_BATCH,
            waiting: Vec::with_capacity(SYNC_BATCH),
            in_flight: None,
            outcome: BulkOutcome::default(),
            present: Vec::new(),
            late: Vec::new(),
            job: None,
            lines: 0,
            bytes: 0,
            stopped: false,
        })
    }

    /// Creates the users of a bulk-create file; rows already present are reported, not changed.
    /// The file is read in slices, so only a batch of its rows is held at a time.
    pub async fn bulk_create(
        &self,
        ctx: &Context,
        org_ref: &str,
        csv: &[u8],
        language: &str,
    ) -> Result<BulkOutcome> {
        let mut run = self.begin_import(ctx, org_ref, language).await?;
        let mut lines = crate::import::LineStream::new(crate::import::COLUMNS.len());
        for (i, slice) in csv.chunks(1 << 16).enumerate() {
            let read = match lines.feed(slice) {
                Ok(read) => read,
                Err(m) => {
                    run.abandon().await;
                    return Err(Error::field(Location::Body, "file", "unreadable", m));
                }
            };
            run.push(read, ((i + 1) << 16).min(csv.len()) as u64)
                .await?;
        }
        run.push(lines.finish(), csv.len() as u64).await?;
        run.finish().await
    }
}

impl<'a> ImportRun<'a> {
    pub fn org(&self) -> &Organization {
        &self.org
    }

    /// Makes every batch update this job's record, in the batch's transaction.
    pub fn for_job(&mut self, job_id: &str) {
        self.job = Some(job_id.to_owned());
        self.batch = BATCH;
    }

    /// The job stopped (cancelled): no batch is written any more.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Lines read so far, and rows applied so far.
    pub fn progress(&self) -> (u64, usize) {
        (self.lines, self.outcome.applied)
    }

    /// Takes lines as they are read, and `bytes_done`, how much of the file they end at.
    pub async fn push(&mut self, lines: Vec<Line>, bytes_done: u64) -> Result<()> {
        self.bytes = bytes_done;
        self.waiting.extend(lines);
        while self.waiting.len() >= self.batch && !self.stopped {
            let batch: Vec<Line> = self.waiting.drain(..self.batch).collect();
            if let Err(e) = self.write_batch(batch).await {
                // A batch still being written is waited for: nothing outlives the error.
                self.wait_in_flight().await;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Stops the run before the end of its file (a cancelled job, an error): waits for the
    /// batch being written, if any, so that nothing the run started outlives it. The store
    /// takes that batch or refuses it whole; a job's record counts what it took.
    pub async fn abandon(mut self) {
        self.wait_in_flight().await;
    }

    async fn wait_in_flight(&mut self) {
        if let Some((write, _)) = self.in_flight.take() {
            match write.await {
                Ok(Ok(_)) | Ok(Err(StoreError::Refused(Refusal::Stale))) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "an abandoned import's batch failed"),
                Err(e) => tracing::warn!(error = %e, "an abandoned import's batch failed"),
            }
        }
    }

    /// Writes what is left and waits for every batch: the outcome of the whole file. A file
    /// without a single row is refused (nothing was written).
    pub async fn finish(mut self) -> Result<BulkOutcome> {
        if !self.waiting.is_empty() && !self.stopped {
            let batch = std::mem::take(&mut self.waiting);
            if let Err(e) = self.write_batch(batch).await {
                self.wait_in_flight().await;
                return Err(e);
            }
        }
        if let Some(last) = self.in_flight.take() {
            self.tally(last).await?;
        }
        if self.lines == 0 {
            return Err(Error::field(
                Location::Body,
                "file",
                "empty",
                "the file holds no users",
            ));
        }
        if self.outcome.applied >= REFRESH_STATISTICS_AFTER {
            self.core.store.refresh_statistics().await?;
        }
        let mut outcome = self.outcome;
        outcome.errors.append(&mut self.present);
        outcome.errors.append(&mut self.late);
        Ok(outcome)
    }

    fn reject(
        &mut self,
        phase: Phase,
        errors: &mut Vec<(u64, String, String)>,
        (line, key): (u64, String),
        why: String,
    ) {
        if self.job.is_some() {
            errors.push((line, key, why));
            return;
        }
        match phase {
            Phase::Check => self.outcome.errors.push((key, why)),
            Phase::Present => self.present.push((key, why)),
            Phase::Written => self.late.push((key, why)),
        }
    }

    async fn write_batch(&mut self, lines: Vec<Line>) -> Result<()> {
        self.lines += lines.len() as u64;
        let mut errors = Vec::new();
        let mut good = Vec::with_capacity(lines.len());
        for line in &lines {
            match check_line(self, line) {
                Ok((row, envs, role)) => good.push((line.number, row, envs, role)),
                Err(why) => self.reject(Phase::Check, &mut errors, (line.number, line.key()), why),
            }
        }
        drop(lines);
        // Users already in the organization are reported before anything is hashed or queued.
        let emails: Vec<String> = good.iter().map(|g| g.1.email.lower.clone()).collect();
        let present: HashSet<String> = if emails.is_empty() {
            HashSet::new()
        } else {
            let store = &self.core.store;
            store
                .existing_emails(&self.org.id, &emails)
                .await?
                .into_iter()
                .collect()
        };
        let mut fresh = Vec::with_capacity(good.len());
        for g in good {
            if present.contains(&g.1.email.lower) {
                self.reject(
                    Phase::Present,
                    &mut errors,
                    (g.0, g.1.key.clone()),
                    ALREADY.into(),
                );
            } else {
                fresh.push(g);
            }
        }
        // Passwords are hashed concurrently; the hasher bounds the work, and an import waits its
        // turn rather than failing when sign-ins keep the slots busy.
        let passwords = &self.core.passwords;
        let hashes = futures::future::join_all(fresh.iter().map(|g| async move {
            if g.1.password.is_empty() {
                Ok(None)
            } else {
                passwords.hash_queued(&g.1.password).await.map(Some)
            }
        }))
        .await;
        let now = self.core.now();
        let on_join = super::instructions::on_join();
        let mut batch: Vec<(NewIdentity, User, Vec<EnvAccess>)> = Vec::with_capacity(fresh.len());
        let mut keys = Vec::with_capacity(fresh.len());
        let mut fx = Effects::default();
        for ((line, row, envs, role), hash) in fresh.into_iter().zip(hashes) {
            let role = &self.roles[role];
            let (first, last) = split_name(&row.name);
            let user = User {
                status: UserStatus::Active,
                is_admin: role.is_admin,
                preferences: self.org.default_preferences.clone(),
                company: (!row.company.is_empty()).then_some(row.company.clone()),
                role_ids: vec![role.id.clone()],
                ..User::new(&self.org.id, &row.email.display, &first, &last, now)
            };
            let hash =
                hash.map_err(|e| Error::Internal(anyhow::anyhow!("hashing a password: {e}")))?;
            let identity = NewIdentity {
                password_hash: hash,
                on_join,
                ..NewIdentity::for_user(&user, false)
            };
            fx.outbox
                .push(self.core.welcome(&self.org, &user, &self.language, now));
            batch.push((identity, user, envs));
            keys.push((line, row.key));
        }
        if !batch.is_empty() {
            fx.audit.push(self.core.audit(
                self.ctx,
                &self.org.id,
                "user.bulk_create",
                None,
                json!({ "rows": batch.len() }),
            ));
        }
        if let Some(job) = &self.job {
            fx.job = Some(JobProgress {
                org_id: self.org.id.to_string(),
                job_id: job.clone(),
                rows_done: (batch.len() + errors.len()) as u64,
                rows_applied: batch.len() as u64,
                bytes_done: self.bytes,
                errors,
                unapplied: 0,
                rows_reached: None,
                at: now,
            });
        } else if batch.is_empty() {
            return Ok(());
        }
        // One batch is written while the next is built: the database and the CPU work at once,
        // and batches still commit one after another, in file order.
        if let Some(previous) = self.in_flight.take() {
            self.tally(previous).await?;
            if self.stopped {
                return Ok(());
            }
        }
        let store = self.core.store.clone();
        let write = tokio::spawn(async move { store.insert_users(batch, fx).await });
        self.in_flight = Some((write, keys));
        Ok(())
    }

    /// Waits for a written batch and counts its rows: applied, or already in the organization
    /// (an insert of the same email that committed in between).
    async fn tally(&mut self, (write, keys): Written) -> Result<()> {
        let inserted = write
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("bulk insert task: {e}")))?;
        let inserted = match inserted {
            Err(StoreError::Refused(Refusal::Stale)) if self.job.is_some() => {
                // The job was cancelled: this batch was not written, nor any after it.
                self.stopped = true;
                return Ok(());
            }
            other => other?,
        };
        let mut late = Vec::new();
        for ((line, key), ok) in keys.into_iter().zip(inserted) {
            if ok {
                self.outcome.applied += 1;
            } else {
                self.reject(Phase::Written, &mut late, (line, key), ALREADY.into());
            }
        }
        if let (Some(job), false) = (&self.job, late.is_empty()) {
            let progress = JobProgress {
                org_id: self.org.id.to_string(),
                job_id: job.clone(),
                unapplied: late.len() as u64,
                errors: late,
                at: self.core.now(),
                ..JobProgress::default()
            };
            self.core.store.record_job_progress(&progress).await?;
        }
        Ok(())
    }
}
