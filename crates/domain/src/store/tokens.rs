//! One-time tokens and what using an emailed link does.

use crate::types::OrgId;
use async_trait::async_trait;

use super::{Effects, NewPassword, StoreResult};
use crate::events::EventSeed;
use crate::kinds::TokenPurpose;
use crate::model::OneTimeToken;
use crate::types::Micros;

/// What using a link does besides using its token up, as the core decided for the token found
/// (`core::instructions::link_use`). The store applies it in the token's transaction: all of
/// it, or nothing and the token stays unused.
#[derive(Debug, Clone, Default)]
pub struct LinkUse {
    /// The token's user, who must still be invited, becomes active; when it is no longer
    /// invited the link is void (`Ok(None)`: an accepted invitation's older links are).
    pub activate_invited: bool,
    /// The address of the membership's identity is marked proven.
    pub verify_email: bool,
    /// A password for the membership's identity, under the conditions it carries;
    /// `Refused(CredentialRefused)` when they do not hold.
    pub password: Option<NewPassword>,
    /// Events of the use (the invitation accepted).
    pub events: Vec<EventSeed>,
}

/// How the core decides a [`LinkUse`] from the token the store found.
pub type DecideUse<'a> = &'a (dyn Fn(&OneTimeToken) -> LinkUse + Send + Sync);

#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Marks an unused, unexpired token of `org_id` with one of `purposes` used and returns it.
    /// Of two concurrent uses, one wins.
    async fn consume_token(
        &self,
        org_id: &OrgId,
        token_hash: &str,
        purposes: &[TokenPurpose],
        now: Micros,
        fx: Effects,
    ) -> StoreResult<Option<OneTimeToken>>;
    /// [`TokenStore::consume_token`], and in the same transaction what `decide` says the
    /// found token's use does. Of two concurrent uses, one wins.
    async fn use_link(
        &self,
        org_id: &OrgId,
        token_hash: &str,
        purposes: &[TokenPurpose],
        now: Micros,
        decide: DecideUse<'_>,
        fx: Effects,
    ) -> StoreResult<Option<OneTimeToken>>;
    /// The unused, unexpired token with this hash, left unused (what a landing page shows).
    async fn find_token(&self, token_hash: &str, now: Micros) -> StoreResult<Option<OneTimeToken>>;
    /// The token with this hash if it was already used (refresh-token reuse detection).
    async fn spent_token(
        &self,
        org_id: &OrgId,
        token_hash: &str,
    ) -> StoreResult<Option<OneTimeToken>>;
    /// Consumes an `email_change` token and moves the identity and all its memberships to the
    /// new address, in one transaction. `Conflict` when the address is taken meanwhile.
    async fn apply_email_change(
        &self,
        token_hash: &str,
        now: Micros,
        fx: Effects,
    ) -> StoreResult<Option<(String, String)>>;
}
