//! [`ConnectionStore`] for [`Clusters`]: every call goes to its organization's cluster (the
//! effects of these writes are all addressed to that organization).

use async_trait::async_trait;
use roster_domain::connections::{Admission, ConnectionStore, UpstreamConnection, UpstreamLink};
use roster_domain::store::{Effects, StoreResult};

use crate::{Clusters, Db};

impl Clusters {
    /// The database of `org_id`'s cluster (the home cluster for an organization it cannot
    /// find, which then finds nothing either).
    async fn db_of(&self, org_id: &str) -> StoreResult<&Db> {
        let name = self.placement(org_id).await?;
        let members = self.members();
        Ok(name
            .and_then(|n| members.iter().find(|(m, _)| *m == n))
            .map_or(self.home(), |(_, db)| db))
    }
}

#[async_trait]
impl ConnectionStore for Clusters {
    async fn list_connections(&self, org_id: &str) -> StoreResult<Vec<UpstreamConnection>> {
        self.db_of(org_id).await?.list_connections(org_id).await
    }

    async fn get_connection(
        &self,
        org_id: &str,
        name: &str,
    ) -> StoreResult<Option<UpstreamConnection>> {
        self.db_of(org_id).await?.get_connection(org_id, name).await
    }

    async fn insert_connection(&self, c: &UpstreamConnection, fx: Effects) -> StoreResult<()> {
        self.db_of(&c.org_id).await?.insert_connection(c, fx).await
    }

    async fn update_connection(&self, c: &UpstreamConnection, fx: Effects) -> StoreResult<()> {
        self.db_of(&c.org_id).await?.update_connection(c, fx).await
    }

    async fn delete_connection(&self, org_id: &str, name: &str, fx: Effects) -> StoreResult<()> {
        self.db_of(org_id)
            .await?
            .delete_connection(org_id, name, fx)
            .await
    }

    async fn upstream_links(
        &self,
        org_id: &str,
        connection: &str,
        subject: Option<&str>,
        user_id: Option<&str>,
    ) -> StoreResult<Vec<UpstreamLink>> {
        self.db_of(org_id)
            .await?
            .upstream_links(org_id, connection, subject, user_id)
            .await
    }

    async fn admit_upstream(&self, a: &Admission, fx: Effects) -> StoreResult<()> {
        self.db_of(&a.org_id).await?.admit_upstream(a, fx).await
    }
}
