//! Signing out of the console: this browser's session, or every session of the account.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::layout::{self, Shell};
use super::posted::Posted;
use super::session::{self, set_cookie};
use super::signin::View;
use crate::state::AppState;

async fn end(s: AppState, v: View, everywhere: bool) -> Response {
    let session = v.signed.who.session.clone();
    let ended = if everywhere {
        s.core
            .end_console_sessions_everywhere(&v.signed.ctx, &session)
            .await
            .map(|_| ())
    } else {
        s.core.end_console_session(&v.signed.ctx, &session).await
    };
    let shell = Shell {
        lang: v.lang,
        org: Some(&v.org),
        csrf: None,
        current: "",
    };
    if let Err(e) = ended {
        return layout::refusal(&shell, e, &v.path("users"));
    }
    let mut r = layout::message(
        StatusCode::OK,
        &shell,
        shell.t("sign_out"),
        shell.t("signed_out"),
        Some((
            &format!("/console/{}/signin", v.org.id),
            shell.t("sign_in_here"),
        )),
    );
    r.headers_mut().append(
        axum::http::header::SET_COOKIE,
        set_cookie(&s, session::SESSION_COOKIE, "", Some(0)),
    );
    r
}

pub async fn sign_out(State(s): State<AppState>, Posted { v, .. }: Posted) -> Response {
    end(s, v, false).await
}

pub async fn sign_out_everywhere(State(s): State<AppState>, Posted { v, .. }: Posted) -> Response {
    end(s, v, true).await
}
