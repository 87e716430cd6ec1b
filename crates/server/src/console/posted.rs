//! The one way a console page's form comes in: [`Posted`] runs every check a posted form
//! needs before its handler does, so that no handler can forget one.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};

use super::session::form;
use super::signin::{bad_form, enter, View};
use crate::extract::Req;
use crate::state::AppState;

/// A body posted to a page of the organization that the path's `{org}` names, read as form
/// fields (decoded as `application/x-www-form-urlencoded`, whatever the request's content type
/// says: that is not checked), past its checks in order: the organization exists, a session
/// is signed in and may use its console, and the fields carry that session's CSRF token. A
/// refusal is the page [`enter`] answers (no such organization, the sign-in, no access) or the
/// 403 page of a bad form; a path or a body axum cannot read (a body over the limit: 413) is
/// axum's own plain-text answer. Either way the handler does not run. It reads the body, so it
/// is a handler's last argument; the path's other segments come from `Path`.
pub struct Posted {
    pub v: View,
    /// The form's fields, each as sent.
    pub f: Vec<(String, String)>,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, s: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let req = Req::from_request_parts(&mut parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(path) = Path::<HashMap<String, String>>::from_request_parts(&mut parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = Bytes::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(IntoResponse::into_response)?;
        let f = form(&body);
        let org = path.get("org").map_or("", String::as_str);
        let v = enter(s, &req, org).await?;
        if !v.signed.csrf_ok(&f) {
            return Err(bad_form(&v, &v.path("users")));
        }
        Ok(Self { v, f })
    }
}
