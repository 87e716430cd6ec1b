//! Rate-limit policies, one per operation of every surface, charged by a layer on the
//! operation's route before its handler runs.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::{self, Authenticated};
use crate::state::AppState;

/// How an operation's requests are counted (buckets are named in `roster_domain::limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// One request of the caller to the bucket: the signed-in user, else the client's address.
    /// A bad token is not counted; the handler refuses it with 401.
    Caller(&'static str),
    /// One request of the client's address to the bucket, whatever it presents: the operations
    /// that prove who someone is (sign-in, emailed links) before anyone is signed in.
    Client(&'static str),
    /// Counted by the handler, because the bucket or the key is in what the request says (the
    /// grant type, the API key's id, the account tried, failed attempts). The buckets are named
    /// here so that the policy table says what each operation spends; tests/api/security_limits.rs
    /// and cross_cutting.rs exercise them.
    Handler(&'static [&'static str]),
    /// Never refused: probes (a balancer must always be able to ask) and the static documents.
    Open,
}

impl Policy {
    /// The buckets this policy can spend.
    pub fn buckets(&self) -> Vec<&'static str> {
        match self {
            Self::Caller(b) | Self::Client(b) => vec![b],
            Self::Handler(bs) => bs.to_vec(),
            Self::Open => vec![],
        }
    }
}

/// The layer of one path: `policies` by method.
pub async fn charge(policies: Arc<Vec<(Method, Policy)>>, req: Request, next: Next) -> Response {
    let policy = policies
        .iter()
        .find(|(m, _)| m == req.method())
        .map(|(_, p)| *p);
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let counted = match policy {
        Some(Policy::Caller(bucket)) => match extract::optional_caller(&state, &parts).await {
            Ok(ctx) => {
                let key = extract::rate_key(&ctx, &parts);
                parts.extensions.insert(Authenticated(ctx));
                state.limits.check(bucket, &key).await
            }
            // A bad token: the handler's extractor answers 401, uncounted as before.
            Err(_) => Ok(()),
        },
        Some(Policy::Client(bucket)) => {
            let key = format!("ip:{}", extract::client_ip(&parts));
            state.limits.check(bucket, &key).await
        }
        Some(Policy::Handler(_) | Policy::Open) | None => Ok(()),
    };
    match counted {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(e) => ApiError(e).into_response(),
    }
}
