//! Where emailed links land: the invitation and magic-link exchange (`/user/verify`), the
//! password reset (`/user/password-reset`), and the signed-out reset request. Each link opens a
//! page (GET, which never uses the token) whose form posts the token; JSON clients post the same
//! endpoints and get JSON.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::core::SignedIn;
use roster_domain::model::TokenPurpose;
use roster_domain::types::format_micros;
use roster_domain::{Error, Location};

use super::dto::{
    PasswordReset, PasswordReset as PasswordResetIn, PasswordResetRequest,
    PasswordResetRequest as PasswordResetRequestIn, VerifiedOut, Verify, Verify as VerifyIn,
};
use crate::error::Result;
use crate::extract::{form_field, Body, Path, Req, Submitted};
use crate::routes::pages::{link_invalid, link_paragraph, page, paragraph, token_form};
use crate::state::AppState;

const SIGN_IN: &[TokenPurpose] = &[TokenPurpose::Invite, TokenPurpose::MagicLink];

fn query_token(req: &Req) -> Result<String> {
    req.query
        .one("token")
        .map(str::to_owned)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            Error::field(Location::Query, "token", "missing", "token is required").into()
        })
}

/// The field errors of a refused form, as paragraphs.
fn problems(e: &Error) -> String {
    match e {
        Error::Validation(v) => v.iter().map(|f| paragraph(&f.message)).collect(),
        other => paragraph(&other.to_string()),
    }
}

/// The page of an invitation or sign-in link: it offers to accept (asking for a first password
/// when the account needs one) and leaves the token unused until the form is posted.
pub async fn verify_page(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    req: Req,
) -> Result<Response> {
    let token = query_token(&req)?;
    let Some(view) = s
        .core
        .inspect_link(Some(&organization), &token, SIGN_IN)
        .await?
    else {
        return Ok(link_invalid());
    };
    if view.upstream().is_some() {
        // Used nowhere (the core refuses it, and leaves it working): the hosted page offers
        // the connection's button, which accepts the invitation, or signs in, upstream.
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", &token)
            .finish();
        let hosted = format!("/realms/{organization}/login-actions/verify?{query}");
        return Ok(page(
            StatusCode::OK,
            "Continue with your sign-in provider",
            &format!(
                "{}{}",
                paragraph("This account signs in through its organization's sign-in provider."),
                link_paragraph(&hosted, "Continue to the sign-in page")
            ),
        ));
    }
    let action = format!("/v1/{}/user/verify", organization);
    Ok(if view.purpose == TokenPurpose::Invite {
        page(
            StatusCode::OK,
            "Accept your invitation",
            &format!(
                "{}{}",
                paragraph(if view.needs_password {
                    "Choose a password for your account, then accept the invitation."
                } else {
                    "Accept the invitation to activate your account and sign in."
                }),
                token_form(
                    &action,
                    &token,
                    view.needs_password,
                    "Accept the invitation"
                )
            ),
        )
    } else {
        page(
            StatusCode::OK,
            "Sign in",
            &format!(
                "{}{}",
                paragraph("Continue to sign in. The link works once."),
                token_form(&action, &token, false, "Sign in")
            ),
        )
    })
}

fn signed_in(s: &AppState, who: &SignedIn) -> Result<(String, String)> {
    let (token, exp) = s.keys.sign_session(who).map_err(Error::Internal)?;
    Ok((token, format_micros(exp * 1_000_000)))
}

/// Exchange the token of a `verify_link` or an emailed sign-in link for an access token.
/// An invitation's token also verifies the user and, with `password`, sets the first password
/// of an account that signs in with one. Each token works once.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/verify",
    operation_id = "verify-link",
    tag = "Roster",
    params(("organization" = String, Path, description = "The organization's id.")),
    request_body(content = VerifyIn, description = "JSON; the landing page's HTML form posts `application/x-www-form-urlencoded` with the same fields", content_type = "application/json"),
    responses((status = 200, description = "Signed in (JSON); the form gets an HTML page", body = VerifiedOut), (status = 303, description = "Form posts whose link has a destination: redirected there with the token in the fragment")),
    security(())
)]
pub async fn verify(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    req: Req,
    body: Submitted<Verify>,
) -> Result<Response> {
    match body {
        Submitted::Json(b) => {
            let done = s
                .core
                .accept_link(
                    &req.request_id,
                    &organization,
                    &b.token,
                    b.password.as_deref(),
                )
                .await?;
            let (token, expires_at) = signed_in(&s, &done.signed_in)?;
            Ok(Json(VerifiedOut {
                id_token: token,
                expires_at,
                user_id: done.signed_in.user_id,
                redirect_link: done.redirect,
            })
            .into_response())
        }
        Submitted::Form(f) => {
            let token = form_field(&f, "token");
            let password = form_field(&f, "password");
            let password = (!password.is_empty()).then_some(password.as_str());
            let done = match s
                .core
                .accept_link(&req.request_id, &organization, &token, password)
                .await
            {
                Ok(done) => done,
                Err(Error::Unauthenticated) => return Ok(link_invalid()),
                Err(e @ (Error::Validation(_) | Error::Conflict(_))) => {
                    let action = format!("/v1/{}/user/verify", organization);
                    let status = match e {
                        Error::Conflict(_) => StatusCode::CONFLICT,
                        _ => StatusCode::UNPROCESSABLE_ENTITY,
                    };
                    let again = token_form(&action, &token, password.is_some(), "Try again");
                    return Ok(page(
                        status,
                        "Please check your entry",
                        &format!("{}{again}", problems(&e)),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            let (token, expires_at) = signed_in(&s, &done.signed_in)?;
            let who = done.signed_in;
            Ok(match done.token_destination {
                // The token goes in the fragment, which browsers never send to servers.
                Some(link) => {
                    let base = link.split('#').next().unwrap_or(&link);
                    let fragment = form_urlencoded::Serializer::new(String::new())
                        .append_pair("id_token", &token)
                        .append_pair("expires_at", &expires_at)
                        .append_pair("user_id", &who.user_id)
                        .finish();
                    (
                        StatusCode::SEE_OTHER,
                        [(header::LOCATION, format!("{base}#{fragment}"))],
                    )
                        .into_response()
                }
                // Nothing else is linked from here: a magic link's `redirect_link` came from
                // whoever asked for it, and Roster's page should not vouch for it.
                None => page(
                    StatusCode::OK,
                    "You are signed in",
                    &format!(
                        "{}<p><textarea readonly rows=\"6\" cols=\"60\">{}</textarea></p>\n{}",
                        paragraph("Your access token:"),
                        crate::mail::escape(&token),
                        paragraph(&format!("It works until {expires_at}."))
                    ),
                ),
            })
        }
    }
}

/// The page of a password-reset link: a form for the new password.
pub async fn password_reset_page(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    req: Req,
) -> Result<Response> {
    let token = query_token(&req)?;
    if s.core
        .inspect_link(Some(&organization), &token, &[TokenPurpose::PasswordReset])
        .await?
        .is_none()
    {
        return Ok(link_invalid());
    }
    let action = format!("/v1/{}/user/password-reset", organization);
    Ok(page(
        StatusCode::OK,
        "Choose a new password",
        &format!(
            "{}{}",
            paragraph("Your other sessions end when the new password is set."),
            token_form(&action, &token, true, "Set the new password")
        ),
    ))
}

/// Complete a password reset with the emailed link's `token` and the new `password`. The
/// account's older access tokens stop working. Answers 204; a used or expired token 401.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/password-reset",
    operation_id = "complete-password-reset",
    tag = "Roster",
    params(("organization" = String, Path, description = "The organization's id.")),
    request_body(content = PasswordResetIn, description = "JSON; the landing page's HTML form posts `application/x-www-form-urlencoded` with the same fields", content_type = "application/json"),
    responses((status = 204, description = "The password is set (JSON); the form gets an HTML page")),
    security(())
)]
pub async fn complete_password_reset(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    req: Req,
    body: Submitted<PasswordReset>,
) -> Result<Response> {
    match body {
        Submitted::Json(b) => {
            s.core
                .complete_password_reset(&req.request_id, &organization, &b.token, &b.password)
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Submitted::Form(f) => {
            let token = form_field(&f, "token");
            let password = form_field(&f, "password");
            match s
                .core
                .complete_password_reset(&req.request_id, &organization, &token, &password)
                .await
            {
                Ok(()) => Ok(page(
                    StatusCode::OK,
                    "Your password was changed",
                    &paragraph("Sign in with your new password."),
                )),
                Err(Error::Unauthenticated) => Ok(link_invalid()),
                Err(e @ Error::Validation(_)) => {
                    let action = format!("/v1/{}/user/password-reset", organization);
                    Ok(page(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Choose a new password",
                        &format!(
                            "{}{}",
                            problems(&e),
                            token_form(&action, &token, true, "Set the new password")
                        ),
                    ))
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Ask for a password-reset email ("forgot password"). The answer is 200 `null` whether or not
/// the address belongs to an account; only active accounts with a password get an email.
#[utoipa::path(
    post,
    path = "/v1/{organization}/user/password-reset/request",
    operation_id = "request-password-reset",
    tag = "Roster",
    params(("organization" = String, Path, description = "The organization's id.")),
    request_body = PasswordResetRequestIn,
    responses((status = 200, description = "Always `null`, whether or not the address belongs to an account", body = crate::openapi::JsonNull)),
    security(())
)]
pub async fn request_password_reset(
    State(s): State<AppState>,
    Path(organization): Path<String>,
    req: Req,
    Body(b): Body<PasswordResetRequest>,
) -> Result<Response> {
    s.limits
        .check_address(&s.core.find_org(&organization).await?.id, &b.email)
        .await?;
    s.core
        .request_password_reset_by_email(&req.request_id, &organization, &b.email)
        .await?;
    Ok(Json(serde_json::Value::Null).into_response())
}
