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
use roster_domain::Error;

use crate::surface::with_retry_after;

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
    EmailLink,
    ForgotPassword,
    EnterEmail,
    LinkSentTitle,
    LinkSent,
    LinkInvalid,
    Continue,
    NewPassword,
    SetPassword,
    PasswordRules,
    PasswordSet,
    FormTimedOut,
    SignOutTitle,
    SignOutQuestion,
    SignOut,
    UpstreamFailed,
    UpstreamRefused,
    NoSuchConnection,
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
        (EmailLink, En) => "Email me a sign-in link",
        (EmailLink, Es) => "Enviarme un enlace de inicio de sesión",
        (EmailLink, Ja) => "サインインリンクをメールで送る",
        (EmailLink, Pt) => "Enviar-me um link de login",
        (ForgotPassword, En) => "Forgot password?",
        (ForgotPassword, Es) => "¿Olvidó su contraseña?",
        (ForgotPassword, Ja) => "パスワードをお忘れですか?",
        (ForgotPassword, Pt) => "Esqueceu a senha?",
        (EnterEmail, En) => "Enter your email address.",
        (EnterEmail, Es) => "Introduzca su correo electrónico.",
        (EnterEmail, Ja) => "メールアドレスを入力してください。",
        (EnterEmail, Pt) => "Informe o seu e-mail.",
        (LinkSentTitle, En) => "Check your email",
        (LinkSentTitle, Es) => "Revise su correo",
        (LinkSentTitle, Ja) => "メールを確認してください",
        (LinkSentTitle, Pt) => "Verifique o seu e-mail",
        (LinkSent, En) => "If this address belongs to an account here, we have emailed it a link. Open it to continue.",
        (LinkSent, Es) => "Si esta dirección pertenece a una cuenta, le hemos enviado un enlace. Ábralo para continuar.",
        (LinkSent, Ja) => "このアドレスのアカウントがある場合は、リンクをメールで送信しました。リンクを開いて続行してください。",
        (LinkSent, Pt) => "Se este endereço pertence a uma conta, enviamos um link. Abra-o para continuar.",
        (LinkInvalid, En) => "This link no longer works: it was used, has expired, or is not complete.",
        (LinkInvalid, Es) => "Este enlace ya no funciona: se usó, caducó o no está completo.",
        (LinkInvalid, Ja) => "このリンクは使用済み、期限切れ、または不完全なため使用できません。",
        (LinkInvalid, Pt) => "Este link não funciona mais: foi usado, expirou ou está incompleto.",
        (Continue, En) => "Continue",
        (Continue, Es) => "Continuar",
        (Continue, Ja) => "続行",
        (Continue, Pt) => "Continuar",
        (NewPassword, En) => "New password",
        (NewPassword, Es) => "Nueva contraseña",
        (NewPassword, Ja) => "新しいパスワード",
        (NewPassword, Pt) => "Nova senha",
        (SetPassword, En) => "Set password",
        (SetPassword, Es) => "Establecer contraseña",
        (SetPassword, Ja) => "パスワードを設定",
        (SetPassword, Pt) => "Definir senha",
        (PasswordRules, En) => "At least 6 characters, with an upper-case and a lower-case letter and a digit or another sign.",
        (PasswordRules, Es) => "Al menos 6 caracteres, con una mayúscula, una minúscula y un dígito u otro signo.",
        (PasswordRules, Ja) => "6文字以上で、大文字と小文字、数字または記号を含めてください。",
        (PasswordRules, Pt) => "Pelo menos 6 caracteres, com uma letra maiúscula, uma minúscula e um dígito ou outro sinal.",
        (PasswordSet, En) => "Your new password is set. Sign in with it.",
        (PasswordSet, Es) => "Su nueva contraseña está establecida. Inicie sesión con ella.",
        (PasswordSet, Ja) => "新しいパスワードが設定されました。サインインしてください。",
        (PasswordSet, Pt) => "A sua nova senha foi definida. Entre com ela.",
        (FormTimedOut, En) => "This page was open for too long. Please sign in again.",
        (FormTimedOut, Es) => "Esta página estuvo abierta demasiado tiempo. Inicie sesión de nuevo.",
        (FormTimedOut, Ja) => "このページが長時間開かれていました。もう一度サインインしてください。",
        (FormTimedOut, Pt) => "Esta página ficou aberta por tempo demais. Entre novamente.",
        (SignOutTitle, En) => "Sign out?",
        (SignOutTitle, Es) => "¿Cerrar sesión?",
        (SignOutTitle, Ja) => "サインアウトしますか?",
        (SignOutTitle, Pt) => "Sair?",
        (SignOutQuestion, En) => "An application asked to sign you out of this organization. Do you want to sign out?",
        (SignOutQuestion, Es) => "Una aplicación pidió cerrar su sesión en esta organización. ¿Desea cerrar la sesión?",
        (SignOutQuestion, Ja) => "アプリケーションがこの組織からのサインアウトを要求しました。サインアウトしますか?",
        (SignOutQuestion, Pt) => "Um aplicativo pediu para encerrar a sua sessão nesta organização. Deseja sair?",
        (SignOut, En) => "Sign out",
        (SignOut, Es) => "Cerrar sesión",
        (SignOut, Ja) => "サインアウト",
        (SignOut, Pt) => "Sair",
        (UpstreamFailed, En) => "Signing in through the other provider did not work. Go back to the application and try again.",
        (UpstreamFailed, Es) => "El inicio de sesión a través del otro proveedor no funcionó. Vuelva a la aplicación e inténtelo de nuevo.",
        (UpstreamFailed, Ja) => "他のプロバイダーでのサインインに失敗しました。アプリケーションに戻ってやり直してください。",
        (UpstreamFailed, Pt) => "O login pelo outro provedor não funcionou. Volte ao aplicativo e tente novamente.",
        (UpstreamRefused, En) => "This account cannot sign in to this organization this way. Ask its administrator for an invitation, or sign in as you were invited.",
        (UpstreamRefused, Es) => "Esta cuenta no puede iniciar sesión en esta organización de esta forma. Pida una invitación a su administrador o inicie sesión como se le invitó.",
        (UpstreamRefused, Ja) => "このアカウントはこの方法でこの組織にサインインできません。管理者に招待を依頼するか、招待された方法でサインインしてください。",
        (UpstreamRefused, Pt) => "Esta conta não pode entrar nesta organização desta forma. Peça um convite ao administrador ou entre da forma como foi convidado.",
        (NoSuchConnection, En) => "This way of signing in is not available for this organization.",
        (NoSuchConnection, Es) => "Esta forma de iniciar sesión no está disponible para esta organización.",
        (NoSuchConnection, Ja) => "このサインイン方法はこの組織では利用できません。",
        (NoSuchConnection, Pt) => "Esta forma de entrar não está disponível para esta organização.",
    }
}

/// The label of a connection's button: "Continue with Google".
pub fn continue_with(lang: Lang, provider: &str) -> String {
    match lang {
        Lang::En => format!("Continue with {provider}"),
        Lang::Es => format!("Continuar con {provider}"),
        Lang::Ja => format!("{provider}で続行"),
        Lang::Pt => format!("Continuar com {provider}"),
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

pub(super) fn layout(lang: Lang, org: Option<&Organization>, title: &str, body: Markup) -> Markup {
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

/// "Sign out?": the confirmation RP-initiated logout asks for when no ID token of the
/// signed-in person names the client. Its form posts `hidden` back to `action`.
pub fn sign_out_confirm(
    lang: Lang,
    org: &Organization,
    action: &str,
    hidden: &[(&'static str, String)],
    form_target: Option<&str>,
) -> Response {
    let body = html! {
        p { (t(lang, Text::SignOutQuestion)) }
        form method="post" action=(action) {
            @for (name, value) in hidden {
                input type="hidden" name=(name) value=(value);
            }
            p { button type="submit" { (t(lang, Text::SignOut)) } }
        }
    };
    send(
        StatusCode::OK,
        layout(lang, Some(org), t(lang, Text::SignOutTitle), body),
        form_target,
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
    /// A message above the form (a refused password, a password just set).
    pub notice: Option<Text>,
    /// The client's origin, where the browser goes after signing in.
    pub target_origin: Option<&'a str>,
    /// The connections' links: (label, href), each starting the sign-in there.
    pub connections: &'a [(String, String)],
}

pub fn sign_in(status: StatusCode, f: &SignInForm<'_>) -> Response {
    let lang = f.lang;
    let body = html! {
        p { (t(lang, Text::SignInTo)) " " strong { (f.client_name) } }
        @if let Some(n) = f.notice {
            p.error role="alert" { (t(lang, n)) }
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
            p { button type="submit" name="action" value="password" { (t(lang, Text::SignIn)) } }
            p {
                button type="submit" name="action" value="email_link" formnovalidate { (t(lang, Text::EmailLink)) }
                " "
                button type="submit" name="action" value="reset" formnovalidate { (t(lang, Text::ForgotPassword)) }
            }
        }
        @for (label, href) in f.connections {
            p { a href=(href) { (label) } }
        }
    };
    send(
        status,
        layout(lang, Some(f.org), t(lang, Text::SignInTitle), body),
        f.target_origin,
    )
}

/// "Check your email".
pub fn link_sent(lang: Lang, org: &Organization) -> Response {
    let body = html! { p role="status" { (t(lang, Text::LinkSent)) } };
    send(
        StatusCode::OK,
        layout(lang, Some(org), t(lang, Text::LinkSentTitle), body),
        None,
    )
}

/// The landing page of an emailed link: a form that posts its token (a GET never uses it, as
/// mail scanners open links before people do), with a new password when `password` is set.
/// What the landing page of an emailed link shows and posts.
pub struct LinkLanding<'a> {
    /// Where its form posts.
    pub action: &'a str,
    pub token: &'a str,
    /// The form token binding the form to this browser.
    pub csrf: &'a str,
    /// The account the link opens.
    pub account: &'a str,
    /// A reset: the form asks for the new password.
    pub password: bool,
    /// An origin the form's answer may redirect to (the client's), for the CSP.
    pub form_target: Option<&'a str>,
}

pub fn link_landing(lang: Lang, org: &Organization, l: LinkLanding<'_>) -> Response {
    let LinkLanding {
        action,
        token,
        csrf,
        account,
        password,
        form_target,
    } = l;
    let (title, button) = if password {
        (Text::NewPassword, Text::SetPassword)
    } else {
        (Text::SignInTitle, Text::Continue)
    };
    let body = html! {
        // Whose account the link opens, so that nobody is signed in as someone else unawares.
        p { strong { (account) } }
        form method="post" action=(action) {
            input type="hidden" name="token" value=(token);
            input type="hidden" name="csrf" value=(csrf);
            @if password {
                p {
                    label for="password" { (t(lang, Text::NewPassword)) }
                    input #password type="password" name="password" autocomplete="new-password" required minlength="6";
                }
                p { small { (t(lang, Text::PasswordRules)) } }
            }
            p { button type="submit" { (t(lang, button)) } }
        }
    };
    send(
        StatusCode::OK,
        layout(lang, Some(org), t(lang, title), body),
        form_target,
    )
}

pub fn internal(lang: Lang, org: Option<&Organization>, e: Error) -> Response {
    match e {
        Error::RateLimited { .. } | Error::Unavailable { .. } => {
            let (status, why) = match e {
                Error::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, Text::TooMany),
                _ => (StatusCode::SERVICE_UNAVAILABLE, Text::Unavailable),
            };
            let mut resp = error(status, lang, org, why);
            with_retry_after(&mut resp, &e);
            resp
        }
        other => {
            tracing::error!(error = ?other, "authorization endpoint failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                org,
                Text::Unavailable,
            )
        }
    }
}
