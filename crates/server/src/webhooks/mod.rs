//! Webhook delivery as Standard Webhooks 1.0: signing, the address check against SSRF, and the
//! workers that lease messages from the webhook outbox and deliver them with retries.

pub mod sign;
pub mod ssrf;
pub mod worker;

pub use worker::{Schedule, WebhookWorkers};
