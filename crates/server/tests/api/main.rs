//! Roster's integration tests: one binary, real HTTP over loopback, a real database per test
//! (a temporary SQLite file, or a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set).

mod helpers;
mod openapi;
mod schema;
mod smtp;

mod amigo_orgs;
mod amigo_roles;
mod amigo_users;
mod auth;
mod authz_matrix;
mod bench;
mod cache;
mod cli;
mod clusters;
mod cross_cutting;
mod email_delivery;
mod email_flows;
mod email_rules;
mod eva;
mod eva_bulk;
mod events;
mod faults;
mod nodes;
mod ops;
mod oum;
mod paging;
mod security_accounts;
mod security_escalation;
mod security_input;
mod security_limits;
mod security_tokens;
mod webhooks;
