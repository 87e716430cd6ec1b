//! A small SMTP receiver on loopback for the tests: EHLO/HELO, AUTH PLAIN/LOGIN, MAIL FROM,
//! RCPT TO, DATA (with dot-unstuffing), RSET, NOOP, QUIT. It keeps every message it accepts, and decodes enough MIME
//! (quoted-printable, base64, encoded-word subjects) for tests to read what was sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The user name the session authenticated as, if it did.
    pub auth: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    /// The DATA, unstuffed, with CRLF line ends.
    pub data: String,
}

impl Received {
    /// A header's value, unfolded, with encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        header_of(head(&self.data), name).map(|v| decode_words(&v))
    }

    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    pub fn message_id(&self) -> String {
        self.header("Message-ID").unwrap_or_default()
    }

    /// The decoded body of the part of this MIME type (`text/plain`, `text/html`).
    pub fn part(&self, mime: &str) -> Option<String> {
        let ct = header_of(head(&self.data), "Content-Type")?;
        let boundary = ct
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("boundary="))?
            .trim_matches('"')
            .to_owned();
        let delimiter = format!("--{boundary}");
        for part in self.data.split(&delimiter).skip(1) {
            let part = part.trim_start_matches("\r\n");
            let headers = head(part);
            let Some(pct) = header_of(headers, "Content-Type") else {
                continue;
            };
            if !pct.to_ascii_lowercase().starts_with(mime) {
                continue;
            }
            let body = part.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
            let cte = header_of(headers, "Content-Transfer-Encoding")
                .unwrap_or_default()
                .to_ascii_lowercase();
            return Some(match cte.as_str() {
                "base64" => {
                    let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                    String::from_utf8(STANDARD.decode(clean).expect("base64 part")).expect("utf-8")
                }
                "quoted-printable" => quoted_printable(body),
                _ => body.to_owned(),
            });
        }
        None
    }

    pub fn text(&self) -> String {
        self.part("text/plain").expect("a text/plain part")
    }

    pub fn html(&self) -> String {
        self.part("text/html").expect("a text/html part")
    }

    /// The first link in the text part that starts with `base`.
    pub fn link(&self, base: &str) -> String {
        let text = self.text();
        let start = text
            .find(base)
            .unwrap_or_else(|| panic!("no link to {base} in:\n{text}"));
        text[start..]
            .split(char::is_whitespace)
            .next()
            .expect("link")
            .to_owned()
    }
}

fn head(data: &str) -> &str {
    data.split_once("\r\n\r\n").map(|x| x.0).unwrap_or(data)
}

fn header_of(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(v) = value.as_mut() {
                v.push_str(line);
                continue;
            }
        } else if value.is_some() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_owned());
            }
        }
    }
    value
}

fn quoted_printable(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}

/// RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) in a header value.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !(last_was_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let after = &rest[start + 2..];
        let parts: Vec<&str> = after.splitn(3, '?').collect();
        if parts.len() < 3 {
            out.push_str(&rest[start..]);
            return out;
        }
        let (enc, tail) = (parts[1], parts[2]);
        let Some(end) = tail.find("?=") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let text = &tail[..end];
        let decoded = if enc.eq_ignore_ascii_case("b") {
            String::from_utf8(STANDARD.decode(text).expect("b word")).expect("utf-8")
        } else {
            quoted_printable(&text.replace('_', " "))
        };
        out.push_str(&decoded);
        rest = &tail[end + 2..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

/// The receiver: its port, and what it got.
#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    /// How long the server takes to accept a message once its data is in.
    accept_delay: Duration,
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_slow(Duration::ZERO).await
    }

    /// A server that holds each message for `accept_delay` before accepting it: a delivery
    /// stays in flight that long after the message is visible to the test.
    pub async fn start_slow(accept_delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let server = Self {
            port,
            received: Arc::default(),
            arrived: Arc::default(),
            accept_delay,
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(stream).await;
                });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits (10 s at most) for a message to `to` that `pick` accepts.
    pub async fn wait_for(&self, to: &str, pick: impl Fn(&Received) -> bool) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)) && pick(m))
            {
                return m;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "no message to {to} arrived; got: {:?}",
                    self.messages()
                        .iter()
                        .map(|m| (m.to.clone(), m.subject()))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    /// Waits (10 s at most) until `n` messages have arrived.
    pub async fn wait_for_count(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("{} of {n} messages arrived", got.len());
            }
        }
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"220 roster-test ESMTP ready\r\n").await?;
        let mut from: Option<String> = None;
        let mut to: Vec<String> = Vec::new();
        let mut auth: Option<(String, String)> = None;
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end_matches(['\r', '\n']);
            let upper = cmd.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-roster-test\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n"
            } else if upper.starts_with("HELO") {
                b"250 roster-test\r\n"
            } else if upper.starts_with("AUTH PLAIN") {
                let mut arg = cmd["AUTH PLAIN".len()..].trim().to_owned();
                if arg.is_empty() {
                    w.write_all(b"334 \r\n").await?;
                    arg = read_line(&mut r, &mut line).await?;
                }
                let decoded = String::from_utf8(STANDARD.decode(arg.trim()).unwrap_or_default())
                    .unwrap_or_default();
                let mut parts = decoded.split('\0').skip(1);
                match (parts.next(), parts.next()) {
                    (Some(u), Some(p)) => {
                        auth = Some((u.to_owned(), p.to_owned()));
                        b"235 2.7.0 Authentication successful\r\n"
                    }
                    _ => b"535 5.7.8 Authentication credentials invalid\r\n",
                }
            } else if upper.starts_with("AUTH LOGIN") {
                let b64 = |s: String| {
                    String::from_utf8(STANDARD.decode(s.trim()).unwrap_or_default())
                        .unwrap_or_default()
                };
                w.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                let user = b64(read_line(&mut r, &mut line).await?);
                w.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                let pass = b64(read_line(&mut r, &mut line).await?);
                auth = Some((user, pass));
                b"235 2.7.0 Authentication successful\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                from = Some(address(&cmd["MAIL FROM:".len()..]));
                to.clear();
                b"250 OK\r\n"
            } else if upper.starts_with("RCPT TO:") {
                if from.is_none() {
                    b"503 MAIL first\r\n"
                } else if upper.contains("BOUNCE") {
                    // Addresses with "bounce" in them do not exist: a permanent failure.
                    b"550 5.1.1 No such user\r\n"
                } else {
                    to.push(address(&cmd["RCPT TO:".len()..]));
                    b"250 OK\r\n"
                }
            } else if upper == "DATA" {
                if to.is_empty() {
                    b"503 RCPT first\r\n"
                } else {
                    w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" || line == ".\n" {
                            break;
                        }
                        let l = line.strip_prefix('.').unwrap_or(&line);
                        data.push_str(l);
                    }
                    self.received.lock().expect("lock").push(Received {
                        auth: auth.clone(),
                        from: from.take().unwrap_or_default(),
                        to: std::mem::take(&mut to),
                        data,
                    });
                    self.arrived.notify_waiters();
                    tokio::time::sleep(self.accept_delay).await;
                    b"250 OK queued\r\n"
                }
            } else if upper == "RSET" {
                from = None;
                to.clear();
                b"250 OK\r\n"
            } else if upper.starts_with("NOOP") {
                b"250 OK\r\n"
            } else if upper == "QUIT" {
                w.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            } else {
                b"502 Command not implemented\r\n"
            };
            w.write_all(reply).await?;
        }
    }
}

async fn read_line(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut String,
) -> std::io::Result<String> {
    line.clear();
    r.read_line(line).await?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `<a@b>` (with optional parameters after it) → `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if b > a => arg[a + 1..b].to_owned(),
        _ => arg.split_whitespace().next().unwrap_or("").to_owned(),
    }
}

#[test]
fn decodes_mime_bits() {
    assert_eq!(decode_words("=?utf-8?b?44GC?= =?utf-8?b?44GE?="), "あい");
    assert_eq!(decode_words("Hello =?utf-8?q?Ol=C3=A1?="), "Hello Olá");
    assert_eq!(quoted_printable("a=3Db=\r\nc"), "a=bc");
    assert_eq!(address(" <x@y.z> SIZE=10"), "x@y.z");
}
