//! The `roster` server: configuration, start-up, the HTTP surfaces and the CLI commands.
#![deny(clippy::unwrap_used)]

pub mod app;
pub mod auth;
pub mod cli;
pub mod cli_connection;
mod cli_import;
pub mod cli_scim;
pub mod config;
mod config_tests;
pub mod console;
pub mod error;
pub mod extract;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod reply;
pub mod routes;
pub mod shared;
pub mod state;
pub mod surface;
pub mod upstream;
pub mod webhooks;

pub use app::Application;
pub use config::Config;
