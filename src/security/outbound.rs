//! Requests to URLs that users set (outbound webhooks) must not reach the
//! server's own network: loopback, private ranges, link-local (the cloud
//! metadata service at 169.254.169.254), carrier-grade NAT and the like.
//! Checked twice: when the URL is registered, and on every connection, by
//! a DNS resolver that refuses such addresses, so a name that resolves to a
//! public address at registration and to 127.0.0.1 later (DNS rebinding)
//! is still refused. Literal IP addresses skip DNS and are checked before
//! each request. Redirects are not followed. `BROADSHEET_WEBHOOKS_ALLOW_PRIVATE`
//! lifts the rule (for tests and intranets).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why a URL may not be requested.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{host} is a loopback, private or otherwise internal address ({address})")]
    Internal { host: String, address: IpAddr },
    #[error("{0} could not be resolved")]
    Unresolvable(String),
}

/// Whether `ip` is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (first & 0xffc0) == 0xfec0 // site-local, deprecated
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)) // documentation
}

/// Resolves names for outbound requests, refusing internal addresses
/// unless allowed.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses = resolve(&host, allow_private).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

async fn resolve(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, Refusal> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|_| Refusal::Unresolvable(host.to_owned()))?
        .collect();
    if addresses.is_empty() {
        return Err(Refusal::Unresolvable(host.to_owned()));
    }
    if !allow_private && let Some(internal) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(Refusal::Internal {
            host: host.to_owned(),
            address: internal.ip(),
        });
    }
    Ok(addresses)
}

/// Checks a URL's host before a request: a literal address directly, a
/// name by resolving it (when `resolve_names`; the client's resolver checks
/// names again on connecting).
pub async fn check(url: &Url, allow_private: bool, resolve_names: bool) -> Result<(), Refusal> {
    let literal = match url.host() {
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(Host::Domain(name)) => {
            if resolve_names {
                resolve(name, allow_private).await?;
            }
            None
        }
        None => return Err(Refusal::Unresolvable(url.to_string())),
    };
    match literal {
        Some(address) if !allow_private && !is_public(address) => Err(Refusal::Internal {
            host: url.host_str().unwrap_or_default().to_owned(),
            address,
        }),
        _ => Ok(()),
    }
}

/// An HTTP client for user-set URLs: the guarded resolver, no redirects,
/// a timeout for the whole request.
pub fn client(allow_private: bool, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("Broadsheet-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client without custom TLS builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "64:ff9b::5db8:d822",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn literal_and_resolved_internal_hosts_are_refused_unless_allowed() {
        let url = |u: &str| Url::parse(u).unwrap();
        assert!(check(&url("http://127.0.0.1:9/hook"), false, true).await.is_err());
        assert!(check(&url("http://[::1]:9/hook"), false, true).await.is_err());
        assert!(check(&url("http://localhost:9/hook"), false, true).await.is_err());
        assert!(check(&url("http://127.0.0.1:9/hook"), true, true).await.is_ok());
        assert!(check(&url("http://localhost:9/hook"), true, true).await.is_ok());
    }
}
