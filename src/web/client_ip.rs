//! The client's address, for per-IP limits: the peer, or behind a trusted
//! reverse proxy the last untrusted hop it reports in X-Forwarded-For.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    // Walk from the nearest hop outwards; the first address that is not one
    // of our proxies is the client (anything further left can be forged).
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted_proxies.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap()];
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "198.51.100.1:5000".parse().unwrap();
        assert_eq!(
            client_ip(proxy, &xff("203.0.113.5"), &trusted).to_string(),
            "203.0.113.5"
        );
        assert_eq!(
            client_ip(proxy, &xff("6.6.6.6, 203.0.113.5, 127.0.0.1"), &trusted).to_string(),
            "203.0.113.5",
            "a forged left-most entry is ignored"
        );
        assert_eq!(
            client_ip(stranger, &xff("203.0.113.5"), &trusted).to_string(),
            "198.51.100.1"
        );
        assert_eq!(
            client_ip(proxy, &HeaderMap::new(), &trusted).to_string(),
            "127.0.0.1"
        );
        assert_eq!(
            client_ip(proxy, &xff("garbage"), &trusted).to_string(),
            "127.0.0.1"
        );
    }
}
