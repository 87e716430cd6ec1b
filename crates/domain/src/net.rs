//! Which addresses are on the public internet: what the server's outbound guards (webhook
//! deliveries, upstream providers) and the core's checks of the URLs an administrator types
//! (a connection's issuer) agree on.

use std::net::{IpAddr, Ipv4Addr};

use url::Host;

/// Whether an address is reachable on the public internet: not loopback, private, link-local,
/// CGNAT, multicast, documentation, benchmarking, reserved, a NAT64 prefix, or an IPv6 form
/// that carries or reaches an IPv4 address by itself (IPv4-compatible `::/96`, IPv4-translated
/// `::ffff:0:0/96`, 6to4 `2002::/16`, Teredo `2001::/32`), or site-local (`fec0::/10`). An
/// IPv4-mapped address (`::ffff:a.b.c.d`) is judged as its IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_public(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_is_public(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // IPv4-compatible (deprecated; `::` and `::1` among them).
                || s[..6].iter().all(|&x| x == 0)
                // IPv4-translated (SIIT).
                || (s[..4].iter().all(|&x| x == 0) && s[4] == 0xffff && s[5] == 0)
                // 6to4 and Teredo: relays that reach the IPv4 address inside.
                || s[0] == 0x2002
                || (s[0] == 0x2001 && s[1] == 0)
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

fn v4_is_public(v4: Ipv4Addr) -> bool {
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

/// Why a URL's host is not a public one, when it says so by itself: an address literal that is
/// not public, or a name that always means this machine (`localhost`, `*.localhost`, RFC 6761).
/// A name's addresses are the resolver's business, checked on every use. The host is the one
/// the `url` crate parsed (`Url::host`), so every IPv4 spelling a client would accept
/// (`2130706433`, `0x7f000001`, `127.1`, `0177.0.0.1`) is already an address here.
pub fn private_host(host: &Host<&str>) -> Option<&'static str> {
    let ip = match host {
        Host::Domain(d) => {
            let name = d.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return Some("names this machine (localhost)");
            }
            return None;
        }
        Host::Ipv4(v4) => IpAddr::V4(*v4),
        Host::Ipv6(v6) => IpAddr::V6(*v6),
    };
    (!is_public(ip)).then_some("is a loopback, private, link-local or otherwise non-public address")
}

#[cfg(test)]
mod tests {
    use super::{is_public, private_host};

    /// The host of `url` as the `url` crate parses it, judged.
    fn judged(url: &str) -> Option<&'static str> {
        let u = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        private_host(&u.host().unwrap_or_else(|| panic!("{url} has a host")))
    }

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
            assert!(judged(&format!("https://{h}/")).is_some(), "{h}");
        }
        for h in ["idp.example.com", "8.8.8.8", "[2606:4700::1111]"] {
            assert_eq!(judged(&format!("https://{h}/")), None, "{h}");
        }
    }

    /// Every IPv4 spelling that browsers and HTTP clients accept is the address it spells.
    #[test]
    fn every_ipv4_spelling_is_judged_as_its_address() {
        for url in [
            "https://2130706433/",
            "https://0x7f000001/",
            "https://127.1/",
            "https://0177.0.0.1/",
            "https://0/",
            "https://0x0a.0.0.1/",
            "https://10.1/",
            "https://167772161:443/.well-known",
            "https://169.254.43518/",
        ] {
            assert!(judged(url).is_some(), "{url}");
        }
        // The same spellings of a public address are public.
        for url in [
            "https://134744072/",
            "https://0x08080808/",
            "https://8.8.2056/",
        ] {
            assert_eq!(judged(url), None, "{url}");
        }
    }

    #[test]
    fn ipv6_forms_that_carry_or_reach_ipv4_are_not_public() {
        for url in [
            // IPv4-compatible.
            "https://[::10.0.0.1]/",
            "https://[::7f00:1]/",
            "https://[::8.8.8.8]/",
            // IPv4-translated.
            "https://[::ffff:0:10.0.0.1]/",
            "https://[::ffff:0:808:808]/",
            // 6to4 (of 10.0.0.1) and Teredo.
            "https://[2002:a00:1::]/",
            "https://[2002:808:808::1]/",
            "https://[2001::1]/",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            // Site-local.
            "https://[fec0::1]/",
            "https://[feff:ffff::1]/",
            // Mapped: judged as the IPv4 address.
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:a00:1]/",
        ] {
            assert!(judged(url).is_some(), "{url}");
        }
        for url in [
            "https://[2606:4700::1111]/",
            "https://[2001:4860:4860::8888]/",
            "https://[::ffff:8.8.8.8]/",
            "https://[2a00:1450:4001:82b::200e]/",
        ] {
            assert_eq!(judged(url), None, "{url}");
        }
    }

    #[test]
    fn is_public_by_address() {
        for a in [
            "::10.0.0.1",
            "::ffff:0:10.0.0.1",
            "2002:a00:1::",
            "2001::",
            "fec0::",
            "::",
        ] {
            assert!(!is_public(a.parse().expect("an address")), "{a}");
        }
        for a in ["2001:db9::1", "2003::1", "2606:4700::1111", "1.1.1.1"] {
            assert!(is_public(a.parse().expect("an address")), "{a}");
        }
    }
}
