//! Roster's core: the model, the rules, and the operations that every API surface calls.
//!
//! Nothing here knows about HTTP or SQL: surfaces parse their own shapes and call [`Core`];
//! storage is reached through the [`store::Store`] trait.
#![deny(clippy::unwrap_used)]

pub mod clock;
pub mod connections;
pub mod core;
pub mod error;
pub mod events;
pub mod import;
pub mod limits;
pub mod links;
pub mod model;
pub mod net;
pub mod paging;
pub mod password;
pub mod permissions;
pub mod secrets;
pub mod store;
pub mod throttle;
pub mod types;
pub mod webhooks;

pub use crate::core::{Core, CoreConfig};
pub use error::{Error, FieldError, Location, Result};
