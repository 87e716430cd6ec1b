//! The pages of the hosted landing pages of an organization's emailed links
//! (`/realms/{org}/login-actions/...`): an invitation's, which offers the way its member signs
//! in (a first password, or the button of their connection), a password reset's, and the page
//! that says the person is signed in when no client is waiting.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use roster_domain::model::Organization;

use super::page::{layout, send, t, Lang, Text};

/// The landing pages' own sentences.
#[derive(Clone, Copy)]
pub enum Says {
    InviteTitle,
    ChoosePassword,
    AcceptOnly,
    Accept,
    SignedInTitle,
    SignedIn,
    PasswordSetDone,
}

pub fn say(lang: Lang, s: Says) -> &'static str {
    use Lang::*;
    use Says::*;
    match (s, lang) {
        (InviteTitle, En) => "Accept your invitation",
        (InviteTitle, Es) => "Acepte su invitación",
        (InviteTitle, Ja) => "招待を承諾する",
        (InviteTitle, Pt) => "Aceite o seu convite",
        (ChoosePassword, En) => "Choose a password for your account to accept the invitation.",
        (ChoosePassword, Es) => "Elija una contraseña para su cuenta para aceptar la invitación.",
        (ChoosePassword, Ja) => "招待を承諾するには、アカウントのパスワードを設定してください。",
        (ChoosePassword, Pt) => "Escolha uma senha para a sua conta para aceitar o convite.",
        (AcceptOnly, En) => "Accept the invitation to activate your account and sign in.",
        (AcceptOnly, Es) => "Acepte la invitación para activar su cuenta e iniciar sesión.",
        (AcceptOnly, Ja) => "招待を承諾すると、アカウントが有効になりサインインします。",
        (AcceptOnly, Pt) => "Aceite o convite para ativar a sua conta e entrar.",
        (Accept, En) => "Accept the invitation",
        (Accept, Es) => "Aceptar la invitación",
        (Accept, Ja) => "招待を承諾",
        (Accept, Pt) => "Aceitar o convite",
        (SignedInTitle, En) => "You are signed in",
        (SignedInTitle, Es) => "Ha iniciado sesión",
        (SignedInTitle, Ja) => "サインインしました",
        (SignedInTitle, Pt) => "Você entrou",
        (SignedIn, En) => "You are signed in. You can close this page and return to the application.",
        (SignedIn, Es) => "Ha iniciado sesión. Puede cerrar esta página y volver a la aplicación.",
        (SignedIn, Ja) => "サインインしました。このページを閉じて、アプリケーションに戻ってください。",
        (SignedIn, Pt) => "Você entrou. Pode fechar esta página e voltar ao aplicativo.",
        (PasswordSetDone, En) => "Your new password is set. Sign in with it in the application.",
        (PasswordSetDone, Es) => "Su nueva contraseña está configurada. Inicie sesión con ella en la aplicación.",
        (PasswordSetDone, Ja) => "新しいパスワードが設定されました。アプリケーションでそのパスワードを使ってサインインしてください。",
        (PasswordSetDone, Pt) => "A sua nova senha está definida. Entre com ela no aplicativo.",
    }
}

/// "You were invited to sign in with Google": the invitation of a member of a connection.
fn invited_with(lang: Lang, provider: &str) -> String {
    match lang {
        Lang::En => format!("You were invited to sign in with {provider}. Continue there to accept the invitation."),
        Lang::Es => format!("Se le invitó a iniciar sesión con {provider}. Continúe allí para aceptar la invitación."),
        Lang::Ja => format!("{provider}でサインインするよう招待されています。招待を承諾するには、そちらで続行してください。"),
        Lang::Pt => format!("Você foi convidado a entrar com {provider}. Continue lá para aceitar o convite."),
    }
}

/// What a landing page shows and carries.
pub struct Landing<'a> {
    pub lang: Lang,
    pub org: &'a Organization,
    /// The account the link opens.
    pub account: &'a str,
    /// Where its form posts.
    pub action: &'a str,
    /// Hidden fields: the link's token, the carried authorization request, the form token.
    pub hidden: &'a [(&'static str, String)],
    /// What the page offers.
    pub offer: Offer<'a>,
    /// A message above the form (a refused password).
    pub notice: Option<Text>,
    /// An origin the form's answer may redirect to (the client's), for the CSP.
    pub form_target: Option<&'a str>,
}

/// What an invitation or a reset link lets its person do on its page.
pub enum Offer<'a> {
    /// Choose a first password (an invitation) or a new one (a reset).
    Password { reset: bool },
    /// Accept (an invitation of someone who has a password already): one button.
    Accept,
    /// The connection's button: (provider's name, href). No password form, which could not
    /// be used.
    Upstream(&'a str, &'a str),
}

pub fn landing(status: StatusCode, l: &Landing<'_>) -> Response {
    let lang = l.lang;
    let title = match l.offer {
        Offer::Password { reset: true } => t(lang, Text::NewPassword),
        _ => say(lang, Says::InviteTitle),
    };
    let body = html! {
        // Whose account the link opens, so that nobody accepts for someone else unawares.
        p { strong { (l.account) } }
        @if let Some(n) = l.notice {
            p.error role="alert" { (t(lang, n)) }
        }
        @match l.offer {
            Offer::Upstream(provider, href) => {
                p { (invited_with(lang, provider)) }
                p { a href=(href) { (super::page::continue_with(lang, provider)) } }
            }
            Offer::Password { reset } => {
                @if !reset {
                    p { (say(lang, Says::ChoosePassword)) }
                }
                form method="post" action=(l.action) {
                    @for (name, value) in l.hidden {
                        input type="hidden" name=(name) value=(value);
                    }
                    p {
                        label for="password" { (t(lang, Text::NewPassword)) }
                        input #password type="password" name="password"
                            autocomplete="new-password" required minlength="6";
                    }
                    p { small { (t(lang, Text::PasswordRules)) } }
                    p { button type="submit" {
                        @if reset { (t(lang, Text::SetPassword)) } @else { (say(lang, Says::Accept)) }
                    } }
                }
            }
            Offer::Accept => {
                p { (say(lang, Says::AcceptOnly)) }
                form method="post" action=(l.action) {
                    @for (name, value) in l.hidden {
                        input type="hidden" name=(name) value=(value);
                    }
                    p { button type="submit" { (say(lang, Says::Accept)) } }
                }
            }
        }
    };
    send(
        status,
        layout(lang, Some(l.org), title, body),
        l.form_target,
    )
}

/// The end of a landing page's flow when no client is waiting: signed in (or the password
/// set), with a link to where the invitation said to go, if it said.
pub fn done(lang: Lang, org: &Organization, what: Says, next: Option<&str>) -> Response {
    let title = match what {
        Says::PasswordSetDone => t(lang, Text::NewPassword),
        _ => say(lang, Says::SignedInTitle),
    };
    let body = html! {
        p role="status" { (say(lang, what)) }
        @if let Some(href) = next {
            p { a href=(href) { (t(lang, Text::Continue)) } }
        }
    };
    send(StatusCode::OK, layout(lang, Some(org), title, body), None)
}
