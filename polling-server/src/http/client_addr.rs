//! Who is asking: [`PeerAddr`], put on each request by the accept loop, and
//! [`TrustedProxies`], which say when `X-Forwarded-For` may name the client
//! instead.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net};
use warp::http::HeaderMap;

/// The address of the TCP peer of a connection, in each request's
/// extensions (set by the accept loop, which is the only one to know it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PeerAddr(pub(crate) SocketAddr);

/// The proxies (such as the stack's nginx) whose `X-Forwarded-For` header is
/// believed: a list of addresses and CIDR blocks (`127.0.0.1`,
/// `172.16.0.0/12`, `::1`). Empty by default: the peer is the client.
///
/// # Example
///
/// ```
/// use polling_server::TrustedProxies;
///
/// let proxies: TrustedProxies = "127.0.0.1, 10.0.0.0/8".parse().unwrap();
/// assert!(proxies.trusts("10.1.2.3".parse().unwrap()));
/// assert!(!proxies.trusts("192.168.0.1".parse().unwrap()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

/// A block of addresses: `network/prefix` (an address alone is its own
/// block), as [`ipnet`] reads and matches it; an IPv4-mapped IPv6 peer is
/// matched as the IPv4 address it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cidr(IpNet);

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let net = match text.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) if !text.contains('/') => {
                let address: IpAddr = text
                    .parse()
                    .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
                IpNet::from(address)
            }
            Err(_) => {
                return Err(format!(
                    "{text:?} is not a CIDR block (an address and a prefix length in range)"
                ))
            }
        };
        // A v4-mapped block (`::ffff:10.0.0.0/104`) is the IPv4 block it maps.
        Ok(Self(match net {
            IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
                Some(v4) if v6.prefix_len() >= 96 => {
                    IpNet::V4(Ipv4Net::new(v4, v6.prefix_len() - 96).map_err(|e| e.to_string())?)
                }
                _ => net,
            },
            IpNet::V4(_) => net,
        }))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0.addr(), self.0.prefix_len())
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client of a request that came from `peer`: the peer itself,
    /// unless it is a trusted proxy; then the right-most address of
    /// `X-Forwarded-For` that is not a trusted proxy (each proxy appends the
    /// address it saw, so addresses to the left of the first untrusted one
    /// are the client's own claims and worth nothing). A malformed header
    /// from a trusted proxy leaves the proxy as the client.
    pub(crate) fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut hops = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(value) = value.to_str() else {
                return peer;
            };
            for hop in value.split(',') {
                match hop.trim().parse::<IpAddr>() {
                    Ok(ip) => hops.push(ip.to_canonical()),
                    Err(_) => return peer,
                }
            }
        }
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }
}

/// The key a client address is counted by (its rate-limit allowance, its
/// share of live sockets): its own for IPv4, its /64
/// network for IPv6 (one subscriber's usual assignment: counting addresses
/// would give every host 2^64 allowances).
pub(crate) fn client_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
    }
}

#[cfg(test)]
mod tests {
    use warp::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn lists_of_addresses_and_blocks_parse_and_bad_ones_are_named() {
        let proxies: TrustedProxies = "127.0.0.1, 172.16.0.0/12,::1".parse().unwrap();
        assert!(proxies.trusts(ip("127.0.0.1")));
        assert!(proxies.trusts(ip("172.31.255.1")));
        assert!(!proxies.trusts(ip("172.32.0.1")));
        assert!(proxies.trusts(ip("::1")));
        assert!(proxies.trusts(ip("::ffff:127.0.0.1")), "v4-mapped is v4");
        assert!("".parse::<TrustedProxies>().unwrap() == TrustedProxies::default());
        assert!("0.0.0.0/0"
            .parse::<TrustedProxies>()
            .unwrap()
            .trusts(ip("8.8.8.8")));
        let mapped: TrustedProxies = "::ffff:10.0.0.0/104".parse().unwrap();
        assert!(
            mapped.trusts(ip("10.1.2.3")),
            "a v4-mapped block is its IPv4 block"
        );
        let host_bits: TrustedProxies = "10.0.0.5/8".parse().unwrap();
        assert!(host_bits.trusts(ip("10.200.0.1")), "host bits are ignored");
        let error = "10.0.0.0/33".parse::<TrustedProxies>().unwrap_err();
        assert!(error.contains("10.0.0.0/33"), "{error}");
        assert!("nginx".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let proxies: TrustedProxies = "10.0.0.1".parse().unwrap();
        let headers = forwarded(&["1.2.3.4"]);
        assert_eq!(proxies.client_ip(ip("5.6.7.8"), &headers), ip("5.6.7.8"));
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &headers), ip("1.2.3.4"));
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("10.0.0.1"), &headers), ip("10.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client_whatever_it_claims_to_the_left() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let spoofed = forwarded(&["9.9.9.9, 1.2.3.4, 10.0.0.7"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &spoofed), ip("1.2.3.4"));
        let split = forwarded(&["9.9.9.9", "1.2.3.4"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &split), ip("1.2.3.4"));
        let all_trusted = forwarded(&["10.0.0.9"]);
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &all_trusted),
            ip("10.0.0.9")
        );
        let garbage = forwarded(&["1.2.3.4, <script>"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &garbage), ip("10.0.0.1"));
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ipv6_clients_share_their_slash_64_and_ipv4_ones_do_not() {
        let key = |text: &str| client_key(text.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2::"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
    }
}
