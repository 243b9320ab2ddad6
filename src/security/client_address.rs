//! Which address a request comes from, for throttling. Behind proxies the
//! TCP peer is the nearest proxy, and each proxy appends the address it saw
//! to `X-Forwarded-For` (or `Forwarded`); anything left of what our own
//! proxies wrote is the client's to invent. So with `n` trusted proxies the
//! client is the `n`th entry from the right, and never an entry further
//! left: reading the leftmost one would let every client pick the address it
//! is throttled as.

use std::net::IpAddr;

/// The client address from the TCP `peer` and the header's comma-separated
/// entries (`hops`, left to right) with `trusted` proxies in front.
/// `forwarded`: the entries are RFC 7239 `Forwarded` elements
/// (`for=192.0.2.1;proto=https`), not bare addresses. Too few entries (a
/// request that did not come through every proxy, or a header the proxy
/// failed to write) fall back to the peer.
pub fn from_hops(peer: Option<IpAddr>, hops: &[&str], trusted: u8, forwarded: bool) -> Option<IpAddr> {
    let trusted = usize::from(trusted);
    if trusted == 0 || hops.len() < trusted {
        return peer;
    }
    let entry = hops[hops.len() - trusted].trim();
    let address = if forwarded {
        forwarded_for(entry)
    } else {
        Some(entry)
    };
    address.and_then(parse_address).or(peer)
}

/// The `for=` value of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// An IP address, maybe with a port or in brackets (`[2001:db8::1]:4711`,
/// `192.0.2.1:80`).
fn parse_address(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    text.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_client_is_the_entry_as_many_hops_from_the_right_as_there_are_proxies() {
        // (case, header entries, trusted proxies, client)
        let cases: &[(&str, &[&str], u8, Option<IpAddr>)] = &[
            ("no proxy: the header is ignored", &["6.6.6.6"], 0, Some(PEER)),
            ("one proxy", &["203.0.113.7"], 1, ip("203.0.113.7")),
            (
                "one proxy, the client wrote its own entry first",
                &["6.6.6.6", " 203.0.113.7"],
                1,
                ip("203.0.113.7"),
            ),
            (
                "two proxies",
                &["6.6.6.6", "203.0.113.7", "10.0.0.9"],
                2,
                ip("203.0.113.7"),
            ),
            ("fewer entries than proxies", &["6.6.6.6"], 2, Some(PEER)),
            ("no header", &[], 1, Some(PEER)),
            ("garbage", &["not an address"], 1, Some(PEER)),
            ("a port", &["203.0.113.7:5555"], 1, ip("203.0.113.7")),
        ];
        for (case, hops, trusted, expected) in cases {
            assert_eq!(from_hops(Some(PEER), hops, *trusted, false), *expected, "{case}");
        }
    }

    #[test]
    fn forwarded_elements_are_read_for_their_for_value() {
        let hops = ["for=6.6.6.6", " for=\"[2001:db8::1]:4711\";proto=https"];
        assert_eq!(from_hops(Some(PEER), &hops, 1, true), ip("2001:db8::1"));
        assert_eq!(from_hops(Some(PEER), &["proto=https"], 1, true), Some(PEER));
    }
}
