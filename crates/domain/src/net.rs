//! Which addresses are on the public internet: what the server's outbound guards (webhook
//! deliveries, upstream providers) and the core's checks of the URLs an administrator types
//! (a connection's issuer) agree on.

use std::net::IpAddr;

/// Whether an address is reachable on the public internet: not loopback, private, link-local,
/// CGNAT, multicast, documentation, benchmarking, reserved or a NAT64 prefix.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

/// Why a URL's host is not a public one, when it says so by itself: an address literal that is
/// not public, or a name that always means this machine (`localhost`, `*.localhost`, RFC 6761).
/// A name's addresses are the resolver's business, checked on every use.
pub fn private_host(host: &str) -> Option<&'static str> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let lower = host.to_ascii_lowercase();
    let name = lower.trim_end_matches('.');
    if name == "localhost" || name.ends_with(".localhost") {
        return Some("names this machine (localhost)");
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if !is_public(ip) => {
            Some("is a loopback, private, link-local or otherwise non-public address")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::private_host;

    #[test]
    fn literals_and_localhost_are_private_names_are_not_judged() {
        for h in [
            "127.0.0.1",
            "10.0.0.8",
            "169.254.169.254",
            "[::1]",
            "[fe80::1]",
            "[::ffff:192.168.0.1]",
            "localhost",
            "LocalHost.",
            "idp.localhost",
            "0.0.0.0",
        ] {
            assert!(private_host(h).is_some(), "{h}");
        }
        for h in ["idp.example.com", "8.8.8.8", "[2606:4700::1111]"] {
            assert_eq!(private_host(h), None, "{h}");
        }
    }
}
