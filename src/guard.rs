//! The address guard: which IP addresses citewatch refuses to fetch unless
//! `check.allow_private = true`. Pure: an address in, a reason out.
//!
//! Why: a blog post (or a redirect, or a DNS answer) must not make citewatch fetch from the
//! machine it runs on or its network: loopback services, the router, a cloud metadata endpoint.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address may not be fetched, or `None` when it is a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback address")
    } else if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some("cloud metadata address")
    } else if ip.is_private() {
        Some("private address")
    } else if ip.is_link_local() {
        Some("link-local address")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("carrier-grade NAT address")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified address")
    } else if ip.is_broadcast() {
        Some("broadcast address")
    } else if ip.is_multicast() || o[0] >= 240 {
        Some("multicast or reserved address")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol assignment address")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking address")
    } else if ip.is_documentation() {
        Some("documentation address")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_unspecified() {
        Some("unspecified address")
    } else if s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0 {
        // IPv4-compatible (deprecated) ::a.b.c.d
        v4_reason(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ))
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64 well-known prefix: the embedded IPv4 address decides.
        v4_reason(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ))
    } else if s[0] == 0x2002 {
        // 6to4: the embedded IPv4 address decides.
        v4_reason(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ))
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("unique-local address")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("link-local address")
    } else if (s[0] & 0xffc0) == 0xfec0 {
        Some("site-local address")
    } else if ip.is_multicast() {
        Some("multicast address")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("documentation address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, bool)] = &[
            ("127.0.0.1", false),
            ("127.1.2.3", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("172.32.0.1", true),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("169.254.1.1", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("100.128.0.1", true),
            ("0.0.0.0", false),
            ("255.255.255.255", false),
            ("224.0.0.1", false),
            ("93.184.216.34", true),
            ("8.8.8.8", true),
            ("::1", false),
            ("::", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:93.184.216.34", true),
            ("::127.0.0.1", false),
            ("64:ff9b::a00:1", false),
            ("2002:7f00:1::", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("fe80::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("2606:4700:4700::1111", true),
        ];
        for (ip, public) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(
                forbidden_reason(ip).is_none(),
                *public,
                "{ip}: {:?}",
                forbidden_reason(ip)
            );
        }
        assert_eq!(
            forbidden_reason("169.254.169.254".parse().unwrap()),
            Some("cloud metadata address")
        );
    }
}
