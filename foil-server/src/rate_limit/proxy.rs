//! Which address a request comes from: the socket peer, or what trusted proxies say.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;

/// A trusted proxy: an address and a prefix length (`10.0.0.0/8`, `2001:db8::/32`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedNet {
    addr: IpAddr,
    prefix: u8,
}

impl TrustedNet {
    /// Parses an IP address (a single host) or a CIDR. Host bits after the prefix are
    /// ignored; an IPv4-mapped IPv6 network is read as the IPv4 network it maps.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, prefix.parse::<u8>().ok()?),
            None => {
                let addr = text.parse::<IpAddr>().ok()?;
                (addr, if addr.is_ipv4() { 32 } else { 128 })
            }
        };
        match addr {
            IpAddr::V4(_) if prefix <= 32 => Some(TrustedNet { addr, prefix }),
            IpAddr::V6(v6) if prefix <= 128 => match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => Some(TrustedNet {
                    addr: IpAddr::V4(v4),
                    prefix: prefix - 96,
                }),
                _ => Some(TrustedNet { addr, prefix }),
            },
            _ => None,
        }
    }

    /// Whether `ip` (IPv4-mapped IPv6 counts as IPv4) is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The error of [`TrustedNet::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid trusted proxy {0:?}: expected an IP address or a CIDR such as 10.0.0.0/8")]
pub struct InvalidTrustedNet(pub String);

impl FromStr for TrustedNet {
    type Err = InvalidTrustedNet;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrustedNet::parse(s).ok_or_else(|| InvalidTrustedNet(s.to_owned()))
    }
}

/// IPv4-mapped IPv6 addresses (a dual-stack socket's view of IPv4 clients) count as the IPv4
/// address, so one client has one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:80`,
/// `[2001:db8::1]:80`) or in brackets, as some proxies write them.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })?;
    Some(canonical(ip))
}

/// The client's address for per-IP limits.
///
/// The socket peer, unless the peer is a trusted proxy: then `X-Forwarded-For` is walked from
/// the right (the entry our nearest proxy wrote) and the first address that is not itself a
/// trusted proxy is the client. Everything to the right of it was written by proxies we
/// trust; everything to its left was supplied by the client and is ignored. If every entry
/// is a trusted proxy, the left-most one is the client (it was still written by a trusted
/// proxy). Several `X-Forwarded-For` headers are read as one list, in order.
///
/// Entries that are not addresses (`unknown`, obfuscated identifiers, junk) are skipped, as
/// asked by the spec. A trusted proxy that itself writes such an entry for the client would
/// let the client's own (left) entries through, so put only proxies that always write an
/// address in `trusted_proxies`.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[TrustedNet]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer_ip) {
        return peer_ip;
    }
    let mut client = peer_ip;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for ip in value.rsplit(',').filter_map(parse_forwarded) {
            if !is_trusted(ip) {
                return ip;
            }
            client = ip;
        }
    }
    client
}

/// The caller's IP of a request: the socket peer (from `ConnectInfo`), or `X-Forwarded-For`
/// when the peer is a trusted proxy (see [`client_ip`]).
pub fn client_ip_of(request: &Request, trusted: &[TrustedNet]) -> IpAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
        .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
    client_ip(peer, request.headers(), trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<TrustedNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(ip(s), 40_000)
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn parses_hosts_and_cidrs() {
        assert!(TrustedNet::parse("10.0.0.0/8")
            .unwrap()
            .contains(ip("10.200.3.4")));
        assert!(!TrustedNet::parse("10.0.0.0/8")
            .unwrap()
            .contains(ip("11.0.0.1")));
        assert!(TrustedNet::parse(" 192.0.2.7 ")
            .unwrap()
            .contains(ip("192.0.2.7")));
        assert!(!TrustedNet::parse("192.0.2.7")
            .unwrap()
            .contains(ip("192.0.2.8")));
        assert!(TrustedNet::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("203.0.113.1")));
        assert!(TrustedNet::parse("2001:db8::/32")
            .unwrap()
            .contains(ip("2001:db8:ffff::1")));
        assert!(!TrustedNet::parse("2001:db8::/32")
            .unwrap()
            .contains(ip("2001:db9::1")));
        // Mapped forms on either side.
        assert!(TrustedNet::parse("::ffff:10.0.0.0/104")
            .unwrap()
            .contains(ip("10.1.2.3")));
        assert!(TrustedNet::parse("10.0.0.0/8")
            .unwrap()
            .contains(ip("::ffff:10.1.2.3")));
        // An IPv4 network never matches a real IPv6 address.
        assert!(!TrustedNet::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("2001:db8::1")));
        for bad in [
            "",
            "nonsense",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0/8",
            "/8",
        ] {
            assert!(TrustedNet::parse(bad).is_none(), "{bad:?}");
            assert!(bad.parse::<TrustedNet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = nets(&["10.0.0.0/8"]);
        let spoofed = xff(&["198.51.100.9, 203.0.113.7"]);
        assert_eq!(
            client_ip(peer("192.0.2.1"), &spoofed, &trusted),
            ip("192.0.2.1")
        );
        // No trusted proxies configured: the header is never read.
        assert_eq!(client_ip(peer("10.0.0.1"), &spoofed, &[]), ip("10.0.0.1"));
        assert_eq!(
            client_ip(peer("192.0.2.1"), &HeaderMap::new(), &trusted),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn trusted_proxy_chain_is_walked_from_the_right() {
        let trusted = nets(&["10.0.0.0/8", "172.16.0.0/12"]);
        let proxy = peer("10.0.0.1");
        // The client spoofed 198.51.100.9; our proxies appended the real 203.0.113.7 and
        // then an inner proxy.
        let headers = xff(&["198.51.100.9, 203.0.113.7, 172.16.5.5"]);
        assert_eq!(client_ip(proxy, &headers, &trusted), ip("203.0.113.7"));
        // Several headers form one list.
        let headers = xff(&["198.51.100.9", "203.0.113.7", "172.16.5.5"]);
        assert_eq!(client_ip(proxy, &headers, &trusted), ip("203.0.113.7"));
        // Junk and ports are handled; junk is skipped.
        let headers = xff(&["203.0.113.8:5555,  unknown ,, 10.1.1.1"]);
        assert_eq!(client_ip(proxy, &headers, &trusted), ip("203.0.113.8"));
        // All entries trusted: the left-most (written by a trusted proxy) is the client.
        let headers = xff(&["10.3.3.3, 10.2.2.2"]);
        assert_eq!(client_ip(proxy, &headers, &trusted), ip("10.3.3.3"));
        // No usable header: the proxy itself.
        assert_eq!(
            client_ip(proxy, &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(proxy, &xff(&["garbage"]), &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ipv6_peers_and_entries() {
        let trusted = nets(&["::1", "fd00::/8"]);
        let headers = xff(&["2001:db8::66, [2001:db8::5]:443, fd00::7"]);
        assert_eq!(
            client_ip(peer("::1"), &headers, &trusted),
            ip("2001:db8::5")
        );
        let headers = xff(&["[2001:db8::9]"]);
        assert_eq!(
            client_ip(peer("fd12::1"), &headers, &trusted),
            ip("2001:db8::9")
        );
        // An IPv4 client seen through a dual-stack socket is keyed as IPv4.
        assert_eq!(
            client_ip(peer("::ffff:192.0.2.44"), &HeaderMap::new(), &trusted),
            ip("192.0.2.44")
        );
        // A mapped IPv4 proxy is recognised by its IPv4 network.
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(peer("::ffff:10.0.0.7"), &xff(&["2001:db8::1"]), &trusted),
            ip("2001:db8::1")
        );
    }
}
