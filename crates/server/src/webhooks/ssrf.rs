//! Where a webhook may be delivered: the URL's host is resolved on every attempt and every
//! address it resolves to must be public (no loopback, private, link-local, CGNAT, multicast,
//! documentation or metadata addresses), unless the operator allows private ones.

use std::net::{IpAddr, SocketAddr};

pub use roster_domain::net::is_public;

/// The address to connect to for `host:port`, resolved now; an error names why none is allowed.
pub async fn resolve(host: &str, port: u16, allow_private: bool) -> Result<SocketAddr, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect(),
    };
    let first = *addrs
        .first()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    if allow_private {
        return Ok(first);
    }
    // Every address must be public: a name that also resolves to a private one is refused
    // rather than raced (DNS rebinding).
    match addrs.iter().find(|a| !is_public(a.ip())) {
        Some(bad) => Err(format!(
            "{host} resolves to {}, which is not a public address (ROSTER_WEBHOOK_ALLOW_PRIVATE)",
            bad.ip()
        )),
        None => Ok(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_metadata_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(a.parse().expect("an address")), "{a}");
        }
        for a in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(a.parse().expect("an address")), "{a}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        assert!(resolve("127.0.0.1", 80, false).await.is_err());
        assert!(resolve("localhost", 80, false).await.is_err());
        assert!(resolve("[::1]", 80, false).await.is_err());
        assert!(resolve("127.0.0.1", 80, true).await.is_ok());
    }
}
