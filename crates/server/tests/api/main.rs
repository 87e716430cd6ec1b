//! Roster's integration tests: one binary, real HTTP over loopback, a real database per test
//! (a temporary SQLite file, or a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set).

mod helpers;
mod openapi;
mod schema;
mod smtp;

mod amigo_orgs;
mod amigo_roles;
mod amigo_users;
mod appoint;
mod auth;
mod authz_matrix;
mod bench;
mod cache;
mod ci_scripts;
mod cli;
mod clusters;
mod compat_claims;
mod cross_cutting;
mod email_delivery;
mod email_flows;
mod email_rules;
mod eva;
mod eva_bulk;
mod events;
mod faults;
mod first_start;
mod nodes;
mod oidc_browser;
mod oidc_clients;
mod oidc_flow;
mod oidc_links;
mod oidc_refusals;
mod oidc_rp;
mod ops;
mod oum;
mod paging;
mod read_modify_write;
mod security_accounts;
mod security_escalation;
mod security_input;
mod security_limits;
mod security_tokens;
mod upstream;
mod upstream_security;
mod webhooks;
