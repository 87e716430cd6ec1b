//! The rules behind the instructions the core gives the store: what a new membership does to
//! an identity that exists, what using an emailed link does, when a change ends sessions. The
//! store applies each atomically and reports a conflict when its conditions no longer hold.

use super::links::shown_to_inviter;
use crate::events::EventSeed;
use crate::model::{ActorRef, AuditEvent, OneTimeToken, TokenPurpose, UserStatus};
use crate::store::{LinkUse, NewPassword, OnJoin};
use crate::types::{session_stamp, Micros};

/// Joining an identity whose address nobody has proven: any password an organization gave it
/// stops working, so no organization can pre-claim a person's address, and the sessions that
/// password opened end with it (they were never the person's).
pub(crate) fn on_join() -> OnJoin {
    OnJoin {
        clear_unproven_password: Some(session_stamp()),
    }
}

/// What using `token` does: an invitation makes its user active (only while still invited)
/// and, unless the inviter was shown the link, proves the address; the person who followed it
/// accepted it (the `invitation.accepted` event, from the use's `audit` event). `password` is
/// set under its own conditions.
pub(crate) fn link_use(
    token: &OneTimeToken,
    audit: Option<&AuditEvent>,
    password: Option<&NewPassword>,
) -> LinkUse {
    let mut u = LinkUse {
        password: password.cloned(),
        ..LinkUse::default()
    };
    if token.purpose == TokenPurpose::Invite {
        u.activate_invited = true;
        u.verify_email = !shown_to_inviter(token);
        if let Some(a) = audit {
            let mut seed = EventSeed::about(a, "invitation.accepted", &token.user_id);
            seed.actor = ActorRef {
                kind: "user",
                user_id: Some(token.user_id.clone()),
                org_id: Some(token.org_id.clone()),
            };
            u.events.push(seed);
        }
    }
    u
}

/// A deactivation ends the membership's sessions: the cut-off (a session stamp, so a token
/// minted before it is earlier and one minted after it later) for a change from `before` to
/// `after`, if the change ends them.
pub(crate) fn sessions_end(before: UserStatus, after: UserStatus) -> Option<Micros> {
    (before != UserStatus::Inactive && after == UserStatus::Inactive).then(session_stamp)
}
