//! Where composed emails go: an SMTP server (lettre, with implicit TLS, STARTTLS or plain, and
//! authentication, all from `ROSTER_SMTP_URL`), or by default `.eml` files in a directory.

use std::path::PathBuf;

use anyhow::Context as _;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why one delivery failed, and whether trying again could help.
#[derive(Debug)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

pub enum Transport {
    Smtp {
        mailer: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL with its password hidden, for logs.
        shown: String,
    },
    Files {
        dir: PathBuf,
    },
}

impl Transport {
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic]` (STARTTLS or plain),
    /// `smtps://...` (implicit TLS); `None`: `.eml` files in `files_dir`.
    pub fn from_setting(smtp_url: Option<&str>, files_dir: PathBuf) -> anyhow::Result<Self> {
        match smtp_url.map(str::trim).filter(|u| !u.is_empty()) {
            None => Ok(Self::Files { dir: files_dir }),
            Some(url) => {
                let shown = roster_store::redact(url);
                if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                    anyhow::bail!(
                        "ROSTER_SMTP_URL must start with smtp:// or smtps://, got {shown}"
                    );
                }
                let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .with_context(|| format!("invalid ROSTER_SMTP_URL {shown}"))?
                    .build();
                Ok(Self::Smtp { mailer, shown })
            }
        }
    }

    /// What start-up prints: the transport, never a password.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp { shown, .. } => format!("SMTP {shown}"),
            Self::Files { dir } => format!(".eml files in {}", dir.display()),
        }
    }

    /// Delivers one message. A file is named after the outbox id and written whole, so a
    /// delivery repeated after a crash replaces the file instead of adding a second one.
    pub async fn send(&self, id: &str, message: &Message) -> Result<(), SendError> {
        match self {
            Self::Smtp { mailer, .. } => {
                mailer
                    .send(message.clone())
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    })
            }
            Self::Files { dir } => {
                let transient = |e: std::io::Error| SendError {
                    permanent: false,
                    message: format!("writing to {}: {e}", dir.display()),
                };
                tokio::fs::create_dir_all(dir).await.map_err(transient)?;
                let tmp = dir.join(format!(".{id}.eml.tmp"));
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(transient)?;
                tokio::fs::rename(&tmp, dir.join(format!("{id}.eml")))
                    .await
                    .map_err(transient)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_what_start_up_shows() {
        let dir = PathBuf::from("data/mail");
        let files = Transport::from_setting(None, dir.clone()).expect("default");
        assert_eq!(files.describe(), ".eml files in data/mail");
        for url in [
            "smtp://roster:s3cret@mail.example.com:587?tls=required",
            "smtps://roster:s3cret@mail.example.com",
            "smtp://127.0.0.1:2525",
        ] {
            let t = Transport::from_setting(Some(url), dir.clone()).expect(url);
            let shown = t.describe();
            assert!(shown.starts_with("SMTP smtp"), "{shown}");
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        assert!(Transport::from_setting(Some("http://mail.example.com"), dir.clone()).is_err());
        assert!(Transport::from_setting(Some("smtp://"), dir).is_err());
    }
}
