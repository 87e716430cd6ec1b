//! A webhook receiver on loopback for the benchmark: answers every delivery `204` at once and
//! counts the distinct `webhook-id`s it saw (and the deliveries without a `v1,` signature), so
//! the bench can time how long a bulk import's events take to arrive. It does not verify
//! signatures: the integration tests do that with the Standard Webhooks reference library.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const ANSWER: &[u8] = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    deliveries: usize,
    unsigned: usize,
    /// When the latest new `webhook-id` arrived.
    last_new: Option<Instant>,
}

pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hooks", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, state.clone()));
            }
        });
        Ok(Self { url, seen, task })
    }

    /// (distinct webhook-ids, deliveries, deliveries without a `v1,` signature).
    pub fn counts(&self) -> (usize, usize, usize) {
        let s = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        (s.ids.len(), s.deliveries, s.unsigned)
    }

    /// Waits until `n` distinct messages have arrived, or `timeout` passes; returns when the
    /// last of them arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let s = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                if s.ids.len() >= n {
                    return s.last_new;
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: requests one after another (keep-alive), each answered 204.
async fn serve(mut sock: TcpStream, seen: Arc<Mutex<Seen>>) {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + length {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        {
            let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
            s.deliveries += 1;
            if !header("webhook-signature").is_some_and(|v| v.starts_with("v1,")) {
                s.unsigned += 1;
            }
            if let Some(id) = header("webhook-id") {
                if s.ids.insert(id) {
                    s.last_new = Some(Instant::now());
                }
            }
        }
        buf.drain(..end + 4 + length);
        if sock.write_all(ANSWER).await.is_err() {
            return;
        }
    }
}
