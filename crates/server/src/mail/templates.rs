//! The emails' words, as data: one entry per kind and language (en, es, ja, pt). Each renders
//! to a plain-text part and an HTML part from the same strings, with `{name}` placeholders
//! filled from the outbox payload and every value escaped in the HTML.

use roster_domain::mail::MailKind;
use serde_json::Value;

/// The words of one email in one language.
struct Words {
    subject: &'static str,
    /// Paragraphs before the link; the first is the greeting.
    body: &'static [&'static str],
    /// The label of the link (the button in HTML).
    action: &'static str,
    /// The paragraph after the link: how long it works, what to do if unexpected.
    after: &'static str,
}

pub const LANGUAGES: &[&str] = &["en", "es", "ja", "pt"];

fn words(kind: MailKind, lang: &str) -> Option<&'static Words> {
    let table: &[(MailKind, &str, Words)] = &[
        (MailKind::Invitation, "en", Words {
            subject: "You're invited to {org_name}",
            body: &["Hello {first_name},", "You have been invited to join {org_name}. Follow the link below to accept the invitation."],
            action: "Accept the invitation",
            after: "The link works once and expires in 7 days. If you did not expect this invitation, you can ignore this email.",
        }),
        (MailKind::Invitation, "es", Words {
            subject: "Te han invitado a {org_name}",
            body: &["Hola, {first_name}:", "Te han invitado a unirte a {org_name}. Sigue el enlace de abajo para aceptar la invitación."],
            action: "Aceptar la invitación",
            after: "El enlace funciona una sola vez y caduca en 7 días. Si no esperabas esta invitación, puedes ignorar este correo.",
        }),
        (MailKind::Invitation, "ja", Words {
            subject: "{org_name} への招待",
            body: &["{first_name} 様", "{org_name} への参加に招待されました。下のリンクから招待を承諾してください。"],
            action: "招待を承諾する",
            after: "このリンクは一度だけ使用でき、7日後に期限切れになります。心当たりがない場合は、このメールを無視してください。",
        }),
        (MailKind::Invitation, "pt", Words {
            subject: "Você foi convidado para {org_name}",
            body: &["Olá, {first_name}!", "Você foi convidado a participar de {org_name}. Siga o link abaixo para aceitar o convite."],
            action: "Aceitar o convite",
            after: "O link funciona uma única vez e expira em 7 dias. Se você não esperava este convite, pode ignorar este e-mail.",
        }),
        (MailKind::MagicLink, "en", Words {
            subject: "Your sign-in link for {org_name}",
            body: &["Hello {first_name},", "Use the link below to sign in to {org_name}."],
            action: "Sign in",
            after: "The link works once and expires in 10 minutes. If you did not ask to sign in, you can ignore this email.",
        }),
        (MailKind::MagicLink, "es", Words {
            subject: "Tu enlace para iniciar sesión en {org_name}",
            body: &["Hola, {first_name}:", "Usa el enlace de abajo para iniciar sesión en {org_name}."],
            action: "Iniciar sesión",
            after: "El enlace funciona una sola vez y caduca en 10 minutos. Si no pediste iniciar sesión, puedes ignorar este correo.",
        }),
        (MailKind::MagicLink, "ja", Words {
            subject: "{org_name} のサインインリンク",
            body: &["{first_name} 様", "下のリンクから {org_name} にサインインしてください。"],
            action: "サインイン",
            after: "このリンクは一度だけ使用でき、10分後に期限切れになります。サインインを依頼していない場合は、このメールを無視してください。",
        }),
        (MailKind::MagicLink, "pt", Words {
            subject: "Seu link de acesso a {org_name}",
            body: &["Olá, {first_name}!", "Use o link abaixo para entrar em {org_name}."],
            action: "Entrar",
            after: "O link funciona uma única vez e expira em 10 minutos. Se você não pediu para entrar, pode ignorar este e-mail.",
        }),
        (MailKind::PasswordReset, "en", Words {
            subject: "Reset your password",
            body: &["Hello {first_name},", "Someone asked to reset the password of your account in {org_name}. Follow the link below to choose a new one."],
            action: "Choose a new password",
            after: "The link works once and expires in 1 hour. If you did not ask for this, ignore this email: your password stays as it is.",
        }),
        (MailKind::PasswordReset, "es", Words {
            subject: "Restablece tu contraseña",
            body: &["Hola, {first_name}:", "Alguien pidió restablecer la contraseña de tu cuenta en {org_name}. Sigue el enlace de abajo para elegir una nueva."],
            action: "Elegir una contraseña nueva",
            after: "El enlace funciona una sola vez y caduca en 1 hora. Si no lo pediste, ignora este correo: tu contraseña no cambia.",
        }),
        (MailKind::PasswordReset, "ja", Words {
            subject: "パスワードの再設定",
            body: &["{first_name} 様", "{org_name} のアカウントのパスワード再設定が依頼されました。下のリンクから新しいパスワードを設定してください。"],
            action: "新しいパスワードを設定する",
            after: "このリンクは一度だけ使用でき、1時間後に期限切れになります。心当たりがない場合は、このメールを無視してください。パスワードは変更されません。",
        }),
        (MailKind::PasswordReset, "pt", Words {
            subject: "Redefina sua senha",
            body: &["Olá, {first_name}!", "Alguém pediu para redefinir a senha da sua conta em {org_name}. Siga o link abaixo para escolher uma nova."],
            action: "Escolher uma nova senha",
            after: "O link funciona uma única vez e expira em 1 hora. Se você não pediu isso, ignore este e-mail: sua senha continua a mesma.",
        }),
        (MailKind::EmailChange, "en", Words {
            subject: "Confirm your new email address",
            body: &["Hello {first_name},", "You asked to change the email address of your account from {old_email} to this one. Follow the link below to confirm."],
            action: "Confirm this address",
            after: "The link works once and expires in 24 hours; until then nothing changes. If you did not ask for this, ignore this email.",
        }),
        (MailKind::EmailChange, "es", Words {
            subject: "Confirma tu nueva dirección de correo",
            body: &["Hola, {first_name}:", "Pediste cambiar la dirección de correo de tu cuenta de {old_email} a esta. Sigue el enlace de abajo para confirmarlo."],
            action: "Confirmar esta dirección",
            after: "El enlace funciona una sola vez y caduca en 24 horas; hasta entonces no cambia nada. Si no lo pediste, ignora este correo.",
        }),
        (MailKind::EmailChange, "ja", Words {
            subject: "新しいメールアドレスの確認",
            body: &["{first_name} 様", "アカウントのメールアドレスを {old_email} からこのアドレスに変更するよう依頼されました。下のリンクから確認してください。"],
            action: "このアドレスを確認する",
            after: "このリンクは一度だけ使用でき、24時間後に期限切れになります。確認されるまで何も変更されません。心当たりがない場合は、このメールを無視してください。",
        }),
        (MailKind::EmailChange, "pt", Words {
            subject: "Confirme seu novo endereço de e-mail",
            body: &["Olá, {first_name}!", "Você pediu para mudar o e-mail da sua conta de {old_email} para este. Siga o link abaixo para confirmar."],
            action: "Confirmar este endereço",
            after: "O link funciona uma única vez e expira em 24 horas; até lá, nada muda. Se você não pediu isso, ignore este e-mail.",
        }),
        (MailKind::Welcome, "en", Words {
            subject: "Welcome to {org_name}",
            body: &["Hello {first_name},", "Your account in {org_name} is ready."],
            action: "Sign in",
            after: "If you did not expect this email, contact your organization's administrator.",
        }),
        (MailKind::Welcome, "es", Words {
            subject: "Te damos la bienvenida a {org_name}",
            body: &["Hola, {first_name}:", "Tu cuenta en {org_name} está lista."],
            action: "Iniciar sesión",
            after: "Si no esperabas este correo, contacta con el administrador de tu organización.",
        }),
        (MailKind::Welcome, "ja", Words {
            subject: "{org_name} へようこそ",
            body: &["{first_name} 様", "{org_name} のアカウントの準備ができました。"],
            action: "サインイン",
            after: "心当たりがない場合は、組織の管理者にお問い合わせください。",
        }),
        (MailKind::Welcome, "pt", Words {
            subject: "Boas-vindas a {org_name}",
            body: &["Olá, {first_name}!", "Sua conta em {org_name} está pronta."],
            action: "Entrar",
            after: "Se você não esperava este e-mail, fale com o administrador da sua organização.",
        }),
        (MailKind::WebhookDisabled, "en", Words {
            subject: "A webhook endpoint of {org_name} was disabled",
            body: &["Hello {first_name},", "Roster stopped delivering events to {url}: {reason}. Fix the receiver, then enable the endpoint again (PATCH /admin/v1/orgs/{org}/webhooks/{endpoint_id} with enabled: true) and replay what it missed."],
            action: "Open the API documentation",
            after: "You receive this email as an administrator of {org_name}.",
        }),
        (MailKind::WebhookDisabled, "es", Words {
            subject: "Se desactivó un webhook de {org_name}",
            body: &["Hola, {first_name}:", "Roster dejó de entregar eventos a {url}: {reason}. Corrige el receptor, vuelve a activar el endpoint (PATCH /admin/v1/orgs/{org}/webhooks/{endpoint_id} con enabled: true) y reenvía lo que no recibió."],
            action: "Abrir la documentación de la API",
            after: "Recibes este correo como administrador de {org_name}.",
        }),
        (MailKind::WebhookDisabled, "ja", Words {
            subject: "{org_name} の Webhook エンドポイントが無効になりました",
            body: &["{first_name} 様", "Roster は {url} へのイベント配信を停止しました: {reason}。受信側を修正してから、エンドポイントを再び有効にし (PATCH /admin/v1/orgs/{org}/webhooks/{endpoint_id}、enabled: true)、届かなかったイベントを再送してください。"],
            action: "API ドキュメントを開く",
            after: "{org_name} の管理者としてこのメールを受け取っています。",
        }),
        (MailKind::WebhookDisabled, "pt", Words {
            subject: "Um webhook de {org_name} foi desativado",
            body: &["Olá, {first_name}!", "O Roster parou de entregar eventos a {url}: {reason}. Corrija o receptor, reative o endpoint (PATCH /admin/v1/orgs/{org}/webhooks/{endpoint_id} com enabled: true) e reenvie o que ele perdeu."],
            action: "Abrir a documentação da API",
            after: "Você recebe este e-mail como administrador de {org_name}.",
        }),
    ];
    table
        .iter()
        .find(|(k, l, _)| *k == kind && *l == lang)
        .map(|(_, _, w)| w)
}

/// An email ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The language the words are in: the asked one, or English when it has no template.
    pub language: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a message cannot be rendered; it will never render, so it is not retried.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no template for the kind '{0}'")]
    UnknownKind(MailKind),
    #[error("the payload has no '{0}' link")]
    MissingLink(&'static str),
}

/// Renders a message of `kind` in `lang` (English when the language has no template).
pub fn render(kind: MailKind, lang: &str, payload: &Value) -> Result<Rendered, RenderError> {
    let link_key = kind.link_key();
    let lang: &'static str = LANGUAGES
        .iter()
        .find(|l| **l == lang)
        .copied()
        .unwrap_or("en");
    let w = words(kind, lang).ok_or(RenderError::UnknownKind(kind))?;
    let link = payload
        .get(link_key)
        .and_then(Value::as_str)
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"));
    // A welcome email may have no link to give; every other kind exists for its link.
    if link.is_none() && kind.needs_link() {
        return Err(RenderError::MissingLink(link_key));
    }
    let fill = |s: &str| fill(s, payload);

    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5; color: #222;\">\n",
        escape(&fill(w.subject))
    );
    for p in w.body {
        let p = fill(p);
        text.push_str(&p);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>\n", escape(&p)));
    }
    if let Some(link) = link {
        text.push_str(&format!("{}:\n{link}\n\n", fill(w.action)));
        html.push_str(&format!(
            "<p><a href=\"{0}\" style=\"display: inline-block; padding: 10px 16px; background: #2b5cd6; \
             color: #fff; text-decoration: none; border-radius: 4px;\">{1}</a></p>\n\
             <p style=\"font-size: 0.9em; color: #555;\">{0}</p>\n",
            escape(link),
            escape(&fill(w.action))
        ));
    }
    let after = fill(w.after);
    text.push_str(&after);
    text.push('\n');
    html.push_str(&format!(
        "<p style=\"font-size: 0.9em; color: #555;\">{}</p>\n</body>\n</html>\n",
        escape(&after)
    ));
    Ok(Rendered {
        language: lang,
        subject: fill(w.subject),
        text,
        html,
    })
}

/// Replaces `{key}` with the payload's string value (empty when absent).
fn fill(template: &str, payload: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let key = &after[..end];
                let value = payload.get(key).and_then(Value::as_str).unwrap_or("");
                // Subjects are single lines: a value cannot add headers or lines.
                out.extend(value.chars().filter(|c| !c.is_control()));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// HTML text and attribute escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_has_every_language() {
        for kind in MailKind::ALL {
            for lang in LANGUAGES {
                let payload = json!({ "first_name": "Ana", "org_name": "Acme", "old_email": "a@b.c", kind.link_key(): "https://r.example/x?token=t" });
                let r = render(kind, lang, &payload).expect("renders");
                assert!(!r.subject.contains('{'), "{kind}/{lang}: {}", r.subject);
                assert!(
                    r.text.contains("https://r.example/x?token=t"),
                    "{kind}/{lang}"
                );
                assert!(r.text.contains("Ana"), "{kind}/{lang}");
                assert!(r.html.contains(&format!("lang=\"{lang}\"")));
                assert!(
                    words(kind, lang).is_some(),
                    "{kind}/{lang} has its own words"
                );
            }
        }
    }

    #[test]
    fn html_escapes_values_and_subjects_stay_one_line() {
        let payload = json!({
            "first_name": "<script>alert(1)</script>",
            "org_name": "A & B\r\nBcc: x@evil.example",
            "link": "https://r.example/?a=1&b=\"2\"",
        });
        let r = render(MailKind::MagicLink, "en", &payload).expect("renders");
        assert!(!r.html.contains("<script>"));
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(r
            .html
            .contains("href=\"https://r.example/?a=1&amp;b=&quot;2&quot;\""));
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert!(r.text.contains("<script>"), "text stays as written");
    }

    #[test]
    fn missing_links_do_not_render() {
        assert!(render(MailKind::Invitation, "en", &json!({})).is_err());
        assert!(render(
            MailKind::MagicLink,
            "en",
            &json!({ "link": "javascript:x" })
        )
        .is_err());
        let w = render(
            MailKind::Welcome,
            "xx",
            &json!({ "first_name": "Ana", "org_name": "Acme" }),
        )
        .expect("a welcome needs no link; unknown languages fall back to English");
        assert!(w.subject.starts_with("Welcome"));
        assert_eq!(w.language, "en");
    }
}
