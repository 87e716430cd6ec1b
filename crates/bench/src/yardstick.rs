//! Yardsticks measured in the same run as the figures, so that a figure can also be read as a
//! ratio to what this machine does today: these machines are shared, and the same commit's
//! absolute figures vary two- or threefold from one day to the next.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";

/// Median time (µs) of one HTTP/1.1 round trip over loopback by `client` (the bench's own,
/// with its pooling) to a server that does nothing: the floor under every request's latency.
pub async fn loopback_round_trip_us(client: &reqwest::Client) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    // One response per complete request head (GETs carry no body).
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        if sock.write_all(RESPONSE).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    let url = format!("http://{addr}/");
    let mut times = Vec::with_capacity(2000);
    let deadline = Instant::now() + Duration::from_secs(5);
    for i in 0..2200 {
        let t = Instant::now();
        let r = client.get(&url).send().await?;
        r.bytes().await?;
        if i >= 200 {
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        if Instant::now() > deadline && times.len() >= 100 {
            break;
        }
    }
    server.abort();
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Median wall time of one argon2id hash with Roster's own parameters.
pub async fn argon2_ms() -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        roster_domain::password::hash("Bench-password-1")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_round_trip_is_measured() {
        let client = reqwest::Client::new();
        let us = loopback_round_trip_us(&client).await.expect("measured");
        assert!(us > 0.0 && us < 1_000_000.0, "{us}");
    }
}
