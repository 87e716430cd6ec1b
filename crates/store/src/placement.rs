//! The store value, [`SqlStore`], and where each organization's data lives: one database, or
//! several database clusters with a directory of placements kept on the home cluster. Every
//! implementation file picks the database of the organization a call names through
//! [`SqlStore::route`] (and, for a change with effects, [`SqlStore::route_write`]).
//!
//! - The home cluster also holds what belongs to no organization: settings (maintenance), the
//!   signing-key ring, sign-in throttling and the directory itself. An organization without a
//!   placement row lives on the home cluster (it was created before clusters were configured).
//! - Identities are kept per cluster: a person who belongs to organizations on two clusters has
//!   one identity on each. Calls that find an identity without naming an organization (by id,
//!   by email, by one-time token) ask the clusters in order, home first, and a change of an
//!   identity changes the first one found. See docs/operations.md.
//! - A change is one transaction on its organization's cluster. Effects addressed to an
//!   organization on another cluster (the platform organization's audit event of a deletion,
//!   say) are written there afterwards, in their own transaction.

use roster_domain::types::OrgId;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use roster_domain::model::Organization;
use roster_domain::store::{Effects, StoreError};
use roster_domain::types::Micros;

use crate::effects::write_effects;
use crate::stmt::AsTx;
use crate::{err, run, tx, Db, R};

/// The sqlx store: one database, or several clusters.
#[derive(Clone)]
pub struct SqlStore {
    /// `members[0]` is the home cluster.
    members: Arc<Vec<(String, Db)>>,
    /// Organization id or uuid → index in `members`. Placements never move, so entries never
    /// go stale; a deleted organization's entry only sends lookups to a cluster that has nothing.
    placed: Arc<RwLock<HashMap<String, usize>>>,
}

/// Effects of a change addressed to other clusters than its own, written after it.
#[must_use]
pub(crate) struct Elsewhere(Vec<(usize, Effects)>);

impl SqlStore {
    /// One database: placement does not apply.
    pub fn single(db: Db) -> Self {
        Self {
            members: Arc::new(vec![(String::new(), db)]),
            placed: Arc::default(),
        }
    }

    /// `home` holds the directory; names must be distinct. Without `others`, one database.
    pub fn new(home: (String, Db), others: Vec<(String, Db)>) -> anyhow::Result<Self> {
        let mut members = vec![home];
        for (name, db) in others {
            if members.iter().any(|(n, _)| *n == name) {
                anyhow::bail!("the cluster name '{name}' is given twice");
            }
            members.push((name, db));
        }
        Ok(Self {
            members: Arc::new(members),
            placed: Arc::default(),
        })
    }

    pub fn home(&self) -> &Db {
        &self.members[0].1
    }

    /// Every cluster, home first.
    pub fn members(&self) -> &[(String, Db)] {
        &self.members
    }

    /// Whether organizations are placed on clusters (more than one database).
    pub(crate) fn clustered(&self) -> bool {
        self.members.len() > 1
    }

    /// Every database, home first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Db> {
        self.members.iter().map(|(_, db)| db)
    }

    /// The database of the organization `org_ref` (an id or a uuid) names: the routing function.
    pub(crate) async fn route(&self, org_ref: &str) -> R<&Db> {
        Ok(&self.members[self.index_of(org_ref).await?].1)
    }

    /// [`SqlStore::route`] for a change: its database, the effects that belong there, and those
    /// to write elsewhere afterwards ([`SqlStore::elsewhere`]).
    pub(crate) async fn route_write(
        &self,
        org_ref: &str,
        fx: Effects,
    ) -> R<(&Db, Effects, Elsewhere)> {
        let i = self.index_of(org_ref).await?;
        let (mine, rest) = self.local(i, fx).await?;
        Ok((&self.members[i].1, mine, rest))
    }

    /// Writes the effects a change addressed to other clusters, each in its own transaction.
    pub(crate) async fn elsewhere(&self, rest: Elsewhere) -> R<()> {
        for (j, part) in rest.0 {
            write_alone(&self.members[j].1, &part).await?;
        }
        Ok(())
    }

    /// Writes effects of no change, each on the cluster of its organization.
    pub(crate) async fn scatter(&self, fx: Effects) -> R<()> {
        self.elsewhere(Elsewhere(self.split(fx).await?)).await
    }

    /// Several callers' effects, one transaction per cluster, in order.
    pub(crate) async fn scatter_batch(&self, batch: &[Effects]) -> R<Vec<(&Db, Vec<Effects>)>> {
        let mut per: Vec<Vec<Effects>> = vec![Vec::new(); self.members.len()];
        for fx in batch {
            for (i, part) in self.split(fx.clone()).await? {
                per[i].push(part);
            }
        }
        Ok(per
            .into_iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(|(i, p)| (&self.members[i].1, p))
            .collect())
    }

    /// The name of the cluster an organization lives on (`None`: no such organization).
    pub async fn placement(&self, org_ref: &str) -> R<Option<String>> {
        let i = self.index_of(org_ref).await?;
        let found: Option<i64> = run!(&self.members[i].1, |p| sqlx::query_scalar(
            "SELECT 1 FROM organizations WHERE id = $1 OR uuid = $2"
        )
        .bind(org_ref)
        .bind(org_ref)
        .fetch_optional(p)
        .await
        .map_err(err)?);
        Ok(found.map(|_| self.members[i].0.clone()))
    }

    /// The index of the cluster named `name` (the home cluster without one).
    pub(crate) fn cluster_index(&self, name: Option<&str>) -> R<usize> {
        let Some(name) = name else { return Ok(0) };
        self.members
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unknown cluster '{name}'")))
    }

    pub(crate) fn member(&self, i: usize) -> &Db {
        &self.members[i].1
    }

    async fn index_of(&self, org_ref: &str) -> R<usize> {
        if !self.clustered() {
            return Ok(0);
        }
        if let Some(i) = self.cached(org_ref) {
            return Ok(i);
        }
        let row: Option<(String, String, String)> = run!(self.home(), |p| {
            sqlx::query_as(
                "SELECT org_id, org_uuid, cluster FROM org_placements WHERE org_id = $1 OR org_uuid = $2",
            )
            .bind(org_ref)
            .bind(org_ref)
            .fetch_optional(p)
            .await
            .map_err(err)?
        });
        let Some((id, uuid, cluster)) = row else {
            return Ok(0);
        };
        let i = self
            .members
            .iter()
            .position(|(n, _)| *n == cluster)
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "organization {id} is placed on cluster '{cluster}', which is not configured"
                ))
            })?;
        let mut placed = self.placed.write().unwrap_or_else(|p| p.into_inner());
        placed.insert(id, i);
        placed.insert(uuid, i);
        Ok(i)
    }

    fn cached(&self, org_ref: &str) -> Option<usize> {
        let placed = self.placed.read().unwrap_or_else(|p| p.into_inner());
        placed.get(org_ref).copied()
    }

    /// Splits effects by the cluster of the organization each one is addressed to.
    async fn split(&self, fx: Effects) -> R<Vec<(usize, Effects)>> {
        if !self.clustered() {
            return Ok(vec![(0, fx)]);
        }
        let mut parts: Vec<(usize, Effects)> = Vec::new();
        let part = |parts: &mut Vec<(usize, Effects)>, i: usize| -> usize {
            match parts.iter().position(|(j, _)| *j == i) {
                Some(k) => k,
                None => {
                    parts.push((i, Effects::default()));
                    parts.len() - 1
                }
            }
        };
        for e in fx.audit {
            let k = part(&mut parts, self.index_of(&e.org_id).await?);
            parts[k].1.audit.push(e);
        }
        for m in fx.outbox {
            let k = part(&mut parts, self.index_of(&m.org_id).await?);
            parts[k].1.outbox.push(m);
        }
        for r in fx.revoke {
            let k = part(&mut parts, self.index_of(&r.org_id).await?);
            parts[k].1.revoke.push(r);
        }
        for t in fx.tokens {
            let k = part(&mut parts, self.index_of(&t.org_id).await?);
            parts[k].1.tokens.push(t);
        }
        if let Some(j) = fx.job {
            let k = part(&mut parts, self.index_of(&j.org_id).await?);
            parts[k].1.job = Some(j);
        }
        Ok(parts)
    }

    /// The part of `fx` for cluster `i`, and the parts for the others.
    pub(crate) async fn local(&self, i: usize, fx: Effects) -> R<(Effects, Elsewhere)> {
        let mut mine = Effects::default();
        let mut rest = Vec::new();
        for (j, part) in self.split(fx).await? {
            if j == i {
                mine = part;
            } else {
                rest.push((j, part));
            }
        }
        Ok((mine, Elsewhere(rest)))
    }

    /// Writes a placement before the organization, so that no organization is ever reachable
    /// on a cluster the directory does not name.
    pub(crate) async fn place(&self, org: &Organization, cluster: usize, now: Micros) -> R<()> {
        let name = &self.members[cluster].0;
        tx!(self.home(), |t| {
            sqlx::query(
                "INSERT INTO org_placements (org_id, org_uuid, cluster, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(org.id.as_str())
            .bind(&org.uuid)
            .bind(name)
            .bind(now)
            .execute(&mut *t)
            .await
            .map_err(err)?;
        });
        Ok(())
    }

    pub(crate) async fn unplace(&self, org_id: &OrgId) -> R<()> {
        tx!(self.home(), |t| {
            sqlx::query("DELETE FROM org_placements WHERE org_id = $1")
                .bind(org_id.as_str())
                .execute(&mut *t)
                .await
                .map_err(err)?;
        });
        // Forget every placement looked up: the uuid key of this one is not at hand, and the
        // others are looked up again at the cost of one query each.
        self.placed
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }
}

/// Effects that belong to no other change, in a transaction of their own on `db`.
pub(crate) async fn write_alone(db: &Db, fx: &Effects) -> R<()> {
    tx!(untracked db, |t| {
        write_effects(&mut t.tx(), fx).await?;
    });
    Ok(())
}
