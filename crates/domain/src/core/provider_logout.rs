//! What logout ends besides the browser's session: the codes and refresh tokens that session
//! started carry its id (`sid`, the session's stored hash) and stop working once the session was
//! ended by RP-initiated logout. A session that merely expired leaves them working: a refresh
//! token outlives the twelve hours of a session, as clients that stay signed in need.

use super::authorize::SESSION;
use super::Core;
use crate::error::Result;
use crate::types::OrgId;

impl Core {
    /// Whether the browser session `sid` of `org_id` was ended (used up by logout). A token
    /// without a session (older than sessions were recorded) has none to end.
    pub(super) async fn session_ended(&self, org_id: &OrgId, sid: Option<&str>) -> Result<bool> {
        let Some(sid) = sid.filter(|s| !s.is_empty()) else {
            return Ok(false);
        };
        Ok(self
            .store
            .spent_token(org_id, sid)
            .await?
            .is_some_and(|t| t.purpose == SESSION))
    }
}
