//! Who is asking: the socket peer, or, when that peer is a proxy named in
//! `TRUSTED_PROXIES`, the address it put in `X-Forwarded-For`.
//!
//! Each proxy appends the address it received the request from, so the
//! header's right end was written by the proxies we trust and its left end
//! by whoever sent it. Reading from the right and skipping trusted hops, the
//! first untrusted hop is the client: a client writing its own header only
//! adds hops to the left of it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is neither a network (10.0.0.0/8) nor an address")]
pub struct BadProxy(String);

impl FromStr for TrustedProxies {
    type Err = BadProxy;

    /// Comma-separated CIDRs; a bare address stands for itself alone.
    fn from_str(s: &str) -> Result<Self, BadProxy> {
        s.split(',')
            .map(str::trim)
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadProxy(item.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nets: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&nets.join(","))
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted, else the
    /// right-most untrusted `X-Forwarded-For` hop. A hop that is not an
    /// address ends the walk at the last trusted one: past it, nothing was
    /// written by a proxy we trust.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.into_iter().rev() {
            let Some(addr) = parse_hop(hop.trim()) else {
                return client;
            };
            client = canonical(addr);
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// `203.0.113.5`, `2001:db8::1`, or with a port: `203.0.113.5:4711`,
/// `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// An IPv4 client reached over an IPv6 socket (`::ffff:a.b.c.d`) is that
/// IPv4 client.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn parses_networks_and_addresses_and_names_the_bad_item() {
        let t: TrustedProxies = "10.0.0.0/8, 192.168.1.1 ,2001:db8::/32".parse().unwrap();
        assert_eq!(t.to_string(), "10.0.0.0/8,192.168.1.1/32,2001:db8::/32");
        for bad in ["10.0.0.0/33", "10.0.0.0/8,,10.1.0.0/16", "proxy.internal"] {
            assert!(bad.parse::<TrustedProxies>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let t: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let peer = ip("10.0.0.1");
        // Untrusted peer: the header is ignored.
        assert_eq!(
            t.client_ip(ip("198.51.100.1"), &forwarded(&["203.0.113.5"])),
            ip("198.51.100.1")
        );
        assert_eq!(
            t.client_ip(peer, &forwarded(&["1.1.1.1, 203.0.113.5, 10.9.9.9"])),
            ip("203.0.113.5")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            t.client_ip(peer, &forwarded(&["1.1.1.1", "203.0.113.5:4711"])),
            ip("203.0.113.5")
        );
        assert_eq!(
            t.client_ip(peer, &forwarded(&["[2001:db8::7]:443"])),
            ip("2001:db8::7")
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            t.client_ip(peer, &forwarded(&["203.0.113.5, garbage, 10.2.2.2"])),
            ip("10.2.2.2")
        );
        // No header, or only trusted hops: the left-most trusted address.
        assert_eq!(t.client_ip(peer, &HeaderMap::new()), peer);
        assert_eq!(
            t.client_ip(peer, &forwarded(&["10.3.3.3, 10.2.2.2"])),
            ip("10.3.3.3")
        );
        // Mapped IPv4 is IPv4.
        assert_eq!(
            t.client_ip(ip("::ffff:10.0.0.1"), &forwarded(&["::ffff:203.0.113.5"])),
            ip("203.0.113.5")
        );
        // Nothing trusted: the peer, whatever the header says.
        assert_eq!(
            TrustedProxies::default().client_ip(peer, &forwarded(&["203.0.113.5"])),
            peer
        );
    }
}
