//! Integer continuation tokens over keyset positions.
//!
//! A token we issue names a stored keyset position (the sort values and id of the last row), so
//! the next page is an index seek whatever its depth. Integers below [`CURSOR_TOKEN_MIN`] are
//! read as offsets, for clients that compute tokens themselves.

use crate::types::OrgId;
use rand::Rng;

use super::Core;
use crate::error::{Error, Location, Result};
use crate::model::{Organization, User};
use crate::paging::{
    Keyset, Page, PageRequest, Position, SortKey, SortValue, UserQuery, CURSOR_TOKEN_MAX,
    CURSOR_TOKEN_MIN,
};

impl Core {
    pub(crate) async fn position(
        &self,
        org_id: &OrgId,
        token: i64,
        sort: &[SortKey],
    ) -> Result<Position> {
        let bad = |m: &str| Error::field(Location::Query, "continuation_token", "value_error", m);
        if token == 0 {
            return Ok(Position::Start);
        }
        if token < 0 {
            return Err(bad("continuation_token must not be negative"));
        }
        if token < CURSOR_TOKEN_MIN {
            return Ok(Position::Offset(token as u64));
        }
        let stored = self
            .store
            .get_cursor(org_id, token, self.now())
            .await?
            .ok_or_else(|| {
                bad("continuation_token is unknown or has expired; start again from 0")
            })?;
        let keyset: Keyset =
            serde_json::from_str(&stored).map_err(|e| Error::Internal(e.into()))?;
        if keyset.sort != sort {
            return Err(bad("continuation_token was issued for another sort order"));
        }
        Ok(Position::After(keyset))
    }

    /// Trims the extra row the store returned, and issues the token of the next page.
    pub(crate) async fn finish_page<T>(
        &self,
        org: &Organization,
        mut items: Vec<T>,
        page: &PageRequest,
        key_of: impl Fn(&T) -> (Vec<SortValue>, String),
    ) -> Result<Page<T>> {
        let limit = page.limit as usize;
        let has_more = items.len() > limit;
        items.truncate(limit);
        let continuation_token = match (has_more, &page.position, items.last()) {
            (false, _, _) => None,
            (true, Position::Offset(o), _) => Some((*o + limit as u64) as i64),
            (true, Position::Start, None) => Some(0),
            (true, Position::After(_), None) => None,
            (true, _, Some(last)) => {
                let (values, last_id) = key_of(last);
                let keyset = Keyset {
                    sort: page.sort.clone(),
                    values,
                    last_id,
                };
                Some(self.store_cursor(org, &keyset).await?)
            }
        };
        Ok(Page {
            items,
            has_more,
            continuation_token,
        })
    }

    /// The users at `offset` of a numbered-page listing of `total` users. A page past the middle
    /// is read from the other end, in the reverse order (the id tie-break reverses with it), so
    /// the last pages cost what the first do; only pages in the middle walk far. Without a sort
    /// key (id order) there is nothing to reverse, and the page is read from the start.
    pub(crate) async fn users_at(
        &self,
        org_id: &OrgId,
        q: &UserQuery,
        offset: u64,
        total: u64,
    ) -> Result<Vec<User>> {
        if offset >= total {
            return Ok(Vec::new());
        }
        let take = (q.page.limit as u64).min(total - offset);
        let mut q = q.clone();
        let from_end = total - offset - take;
        let reverse = from_end < offset && !q.page.sort.is_empty();
        if reverse {
            for k in &mut q.page.sort {
                k.descending = !k.descending;
            }
        }
        q.page.position = Position::Offset(if reverse { from_end } else { offset });
        let mut users = self.store.list_users(org_id, &q).await?;
        users.truncate(take as usize);
        if reverse {
            users.reverse();
        }
        Ok(users)
    }

    /// The token of `keyset`: the one this node stored for it recently if its row lives long
    /// enough (see [`super::cursors`]), else a new random one, stored.
    async fn store_cursor(&self, org: &Organization, keyset: &Keyset) -> Result<i64> {
        let json = serde_json::to_string(keyset).map_err(|e| Error::Internal(e.into()))?;
        let now = self.now();
        let ttl = self.config.cursor_ttl_secs * 1_000_000;
        if let Some(id) = self.cursors.reusable(&org.uuid, &json, now, ttl) {
            return Ok(id);
        }
        let id = rand::thread_rng().gen_range(CURSOR_TOKEN_MIN..=CURSOR_TOKEN_MAX);
        let expires = now + ttl;
        self.store
            .put_cursor(&org.id, id, &json, expires, now)
            .await?;
        self.cursors
            .remember(&org.uuid, json, id, expires, now, ttl);
        Ok(id)
    }
}
