//! Email: the templates, the transports, and the workers that deliver the outbox.

mod templates;
mod transport;
mod worker;

pub use templates::{escape, render, Rendered, LANGUAGES};
pub use transport::{SendError, Transport};
pub use worker::{Mailer, Outbox, RetryPolicy};
