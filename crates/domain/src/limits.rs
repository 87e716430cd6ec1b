//! Per-operation rate limits, per caller, as the Amigo contract names them (requests per minute).
//! Operations are named by the vendor's operation ids; other surfaces reuse the names of the
//! core operation they call, so one caller shares one budget whichever API it speaks.

pub const LIMITS: &[(&str, u32)] = &[
    ("create-organization", 5),
    ("modify-organization", 10),
    ("delete-organization", 5),
    ("create-api-key", 5),
    ("get-api-keys", 10),
    ("delete-api-key", 10),
    ("create-invited-user", 50),
    ("get-users", 60),
    ("sign-in-with-api-key", 5),
    ("sign-in-with-email", 10),
    ("verify-token", 20),
    ("request-password-reset", 1),
    ("bulk-users", 10),
    ("password-grant", 30),
    ("refresh-grant", 60),
    // A signed-out "forgot password" request, per client.
    ("request-password-reset-email", 10),
    // Every request that emails an address, per address, whoever asks.
    ("email-per-address", 5),
    ("update-user-info", 50),
    ("delete-user", 500),
    ("get-user-model", 60),
    ("get-memories", 40),
    ("search-users", 50),
    ("modify-user-variables", 50),
    ("create-temporary-permission-grant", 100),
    ("get-temporary-permission-grants", 100),
    ("create-role", 20),
    ("get-roles", 20),
    ("modify-role", 10),
    ("assign-role", 1000),
    // Operations the Amigo contract has no limit for; every route has a policy
    // (`crates/server/src/surface`), and these are the buckets of the rest.
    ("get-organization", 60),
    ("get-configurations", 60),
    ("set-configuration", 50),
    // Roster's administration API: audit log, OIDC clients, events, webhooks.
    ("administer", 300),
    // The conversation platform's ingestion, per client address.
    ("ingest", 1200),
    // HTML pages that emailed links and the sign-in flow open, per client address.
    ("show-page", 60),
    ("userinfo", 60),
    // Sign-out and token revocation at the OpenID provider.
    ("end-session", 60),
    // The admin console's pages and forms, per client address.
    ("console-page", 600),
    ("console-action", 120),
    // An organization's directory provisioning, per directory token (a full import of a
    // large directory pages through users and groups).
    ("directory-read", 1200),
    ("directory-write", 600),
];

/// The default limit of an operation, if it has one.
pub fn per_minute(operation: &str) -> Option<u32> {
    LIMITS
        .iter()
        .find(|(op, _)| *op == operation)
        .map(|(_, n)| *n)
}
