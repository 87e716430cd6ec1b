//! The hosted sign-in pages: one layout, compiled templates (maud escapes every value), no
//! script, one stylesheet allowed by its hash, and the headers that keep the pages out of
//! frames, caches and Referer headers.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use roster_domain::model::Organization;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:26em;margin:3em auto;padding:0 1em;line-height:1.5;color:#222}\
form p{margin:.8em 0}label{display:block;font-weight:600}input{width:100%;padding:.5em;font-size:1em;box-sizing:border-box}\
button{padding:.6em 1.2em;font-size:1em}.error{color:#a00}.logo{max-height:3em}small{color:#555}";

fn style_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let d = ring::digest::digest(&ring::digest::SHA256, STYLE.as_bytes());
        format!("'sha256-{}'", STANDARD.encode(d.as_ref()))
    })
}

/// The languages of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
    Ja,
    Pt,
}

impl Lang {
    /// From a language code (ISO 639-1 or 639-3, with or without a region); English otherwise.
    pub fn parse(code: &str) -> Option<Self> {
        let base = code
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match base.as_str() {
            "en" | "eng" => Some(Self::En),
            "es" | "spa" => Some(Self::Es),
            "ja" | "jpn" => Some(Self::Ja),
            "pt" | "por" => Some(Self::Pt),
            _ => None,
        }
    }

    /// The first of `ui_locales` that the pages speak, else the organization's language.
    pub fn choose(ui_locales: Option<&str>, org: &Organization) -> Self {
        ui_locales
            .into_iter()
            .flat_map(|l| l.split(' '))
            .find_map(Self::parse)
            .or_else(|| {
                org.default_preferences
                    .preferred_language
                    .as_deref()
                    .and_then(Self::parse)
            })
            .unwrap_or(Self::En)
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
            Self::Ja => "ja",
            Self::Pt => "pt",
        }
    }
}

/// Every sentence of the pages.
#[derive(Clone, Copy)]
pub enum Text {
    SignInTitle,
    SignInTo,
    Email,
    Password,
    SignIn,
    WrongCredentials,
    ErrorTitle,
    UnknownClient,
    BadRedirect,
    BadRequest,
    FormExpired,
    TooMany,
    Unavailable,
    SignedOutTitle,
    SignedOut,
    NoSuchOrg,
}

pub fn t(lang: Lang, text: Text) -> &'static str {
    use Lang::*;
    use Text::*;
    match (text, lang) {
        (SignInTitle, En) => "Sign in",
        (SignInTitle, Es) => "Iniciar sesión",
        (SignInTitle, Ja) => "サインイン",
        (SignInTitle, Pt) => "Entrar",
        (SignInTo, En) => "to continue to",
        (SignInTo, Es) => "para continuar en",
        (SignInTo, Ja) => "次のサービスに進みます:",
        (SignInTo, Pt) => "para continuar em",
        (Email, En) => "Email",
        (Email, Es) => "Correo electrónico",
        (Email, Ja) => "メールアドレス",
        (Email, Pt) => "E-mail",
        (Password, En) => "Password",
        (Password, Es) => "Contraseña",
        (Password, Ja) => "パスワード",
        (Password, Pt) => "Senha",
        (SignIn, En) => "Sign in",
        (SignIn, Es) => "Iniciar sesión",
        (SignIn, Ja) => "サインイン",
        (SignIn, Pt) => "Entrar",
        (WrongCredentials, En) => "The email or password is not correct.",
        (WrongCredentials, Es) => "El correo electrónico o la contraseña no son correctos.",
        (WrongCredentials, Ja) => "メールアドレスまたはパスワードが正しくありません。",
        (WrongCredentials, Pt) => "O e-mail ou a senha não estão corretos.",
        (ErrorTitle, En) => "Sign-in cannot continue",
        (ErrorTitle, Es) => "No se puede continuar con el inicio de sesión",
        (ErrorTitle, Ja) => "サインインを続行できません",
        (ErrorTitle, Pt) => "Não é possível continuar o login",
        (UnknownClient, En) => "The application that sent you here is not known to this organization.",
        (UnknownClient, Es) => "La aplicación que le envió aquí no es conocida por esta organización.",
        (UnknownClient, Ja) => "このページに移動させたアプリケーションは、この組織に登録されていません。",
        (UnknownClient, Pt) => "O aplicativo que enviou você até aqui não é conhecido por esta organização.",
        (BadRedirect, En) => "The application asked to send you to an address it has not registered.",
        (BadRedirect, Es) => "La aplicación pidió enviarle a una dirección que no ha registrado.",
        (BadRedirect, Ja) => "アプリケーションが登録されていないアドレスへの移動を要求しました。",
        (BadRedirect, Pt) => "O aplicativo pediu para enviar você a um endereço que não registrou.",
        (BadRequest, En) => "The sign-in request is not complete or not valid.",
        (BadRequest, Es) => "La solicitud de inicio de sesión no está completa o no es válida.",
        (BadRequest, Ja) => "サインインの要求が不完全か、無効です。",
        (BadRequest, Pt) => "A solicitação de login não está completa ou não é válida.",
        (FormExpired, En) => "This form has expired or was not sent from this page. Go back to the application and start again.",
        (FormExpired, Es) => "Este formulario ha caducado o no se envió desde esta página. Vuelva a la aplicación y empiece de nuevo.",
        (FormExpired, Ja) => "このフォームは期限切れか、このページから送信されていません。アプリケーションに戻ってやり直してください。",
        (FormExpired, Pt) => "Este formulário expirou ou não foi enviado desta página. Volte ao aplicativo e comece de novo.",
        (TooMany, En) => "Too many attempts. Try again later.",
        (TooMany, Es) => "Demasiados intentos. Inténtelo más tarde.",
        (TooMany, Ja) => "試行回数が多すぎます。しばらくしてから再度お試しください。",
        (TooMany, Pt) => "Tentativas demais. Tente novamente mais tarde.",
        (Unavailable, En) => "The service is busy. Try again in a moment.",
        (Unavailable, Es) => "El servicio está ocupado. Inténtelo de nuevo en un momento.",
        (Unavailable, Ja) => "サービスが混み合っています。しばらくしてから再度お試しください。",
        (Unavailable, Pt) => "O serviço está ocupado. Tente novamente em instantes.",
        (SignedOutTitle, En) => "Signed out",
        (SignedOutTitle, Es) => "Sesión cerrada",
        (SignedOutTitle, Ja) => "サインアウトしました",
        (SignedOutTitle, Pt) => "Sessão encerrada",
        (SignedOut, En) => "You are signed out of this organization.",
        (SignedOut, Es) => "Ha cerrado la sesión en esta organización.",
        (SignedOut, Ja) => "この組織からサインアウトしました。",
        (SignedOut, Pt) => "Você saiu desta organização.",
        (NoSuchOrg, En) => "There is no such organization.",
        (NoSuchOrg, Es) => "No existe esa organización.",
        (NoSuchOrg, Ja) => "その組織は存在しません。",
        (NoSuchOrg, Pt) => "Essa organização não existe.",
    }
}

/// The logo of the organization's branding, when it is plain base64 image data.
fn logo(org: Option<&Organization>) -> Option<String> {
    let v = org?.branding.get("logo")?.as_str()?;
    let ok = !v.is_empty()
        && v.len() < 200_000
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    ok.then(|| format!("data:image/png;base64,{v}"))
}

fn layout(lang: Lang, org: Option<&Organization>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    @if let Some(src) = logo(org) {
                        img.logo src=(src) alt=(org.map(|o| o.name.as_str()).unwrap_or_default());
                    }
                    @if let Some(o) = org {
                        p { strong { (o.name) } }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// Sends a page with the headers every hosted page carries. `form_target` is the origin a
/// form on the page may end up at (the client's, after the sign-in redirect).
pub fn send(status: StatusCode, markup: Markup, form_target: Option<&str>) -> Response {
    let mut resp = (status, markup.into_string()).into_response();
    let form_action = match form_target {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src {}; img-src data:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'",
        style_hash()
    );
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// A page that says why the flow stops here (it never redirects).
pub fn error(status: StatusCode, lang: Lang, org: Option<&Organization>, why: Text) -> Response {
    let body = html! { p.error role="alert" { (t(lang, why)) } };
    send(
        status,
        layout(lang, org, t(lang, Text::ErrorTitle), body),
        None,
    )
}

/// The signed-out page.
pub fn signed_out(lang: Lang, org: &Organization) -> Response {
    let body = html! { p { (t(lang, Text::SignedOut)) } };
    send(
        StatusCode::OK,
        layout(lang, Some(org), t(lang, Text::SignedOutTitle), body),
        None,
    )
}

/// What the sign-in form shows and carries.
pub struct SignInForm<'a> {
    pub lang: Lang,
    pub org: &'a Organization,
    pub client_name: &'a str,
    /// The path the form posts to.
    pub action: &'a str,
    /// Hidden fields: the authorization request and the CSRF token.
    pub hidden: &'a [(&'static str, String)],
    pub username: &'a str,
    pub failed: bool,
    /// The client's origin, where the browser goes after signing in.
    pub target_origin: &'a str,
}

pub fn sign_in(status: StatusCode, f: &SignInForm<'_>) -> Response {
    let lang = f.lang;
    let body = html! {
        p { (t(lang, Text::SignInTo)) " " strong { (f.client_name) } }
        @if f.failed {
            p.error role="alert" { (t(lang, Text::WrongCredentials)) }
        }
        form method="post" action=(f.action) {
            @for (name, value) in f.hidden {
                input type="hidden" name=(name) value=(value);
            }
            p {
                label for="username" { (t(lang, Text::Email)) }
                input #username type="email" name="username" value=(f.username)
                    autocomplete="username" required autofocus;
            }
            p {
                label for="password" { (t(lang, Text::Password)) }
                input #password type="password" name="password"
                    autocomplete="current-password" required;
            }
            p { button type="submit" { (t(lang, Text::SignIn)) } }
        }
    };
    send(
        status,
        layout(lang, Some(f.org), t(lang, Text::SignInTitle), body),
        Some(f.target_origin),
    )
}
