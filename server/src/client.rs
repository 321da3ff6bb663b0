//! Who is on the other end of a request: the client's address and the
//! scheme its browser used. Read from the socket, or, only when the socket
//! is a proxy the operator named (`--trusted-proxy`), from that proxy's
//! `X-Forwarded-For` and `X-Forwarded-Proto` headers. Anyone else's copies
//! of those headers are ignored: a client could write any address there and
//! choose whose sign-in limit it spends.
//!
//! [`identify`] runs first on every request and leaves a [`Client`] in its
//! extensions; the sign-in throttle, the same-origin check and the
//! connection caps read it from there.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::Response;

/// The client of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    /// The client's address: the socket's peer, or what a trusted proxy
    /// says. `None` only when the server runs without socket information
    /// (a router served by a test harness).
    pub address: Option<IpAddr>,
    /// `https` or `http`: what the browser's `Origin` must start with.
    pub scheme: &'static str,
}

impl Client {
    /// Whether a browser's `Origin` (when it sent one) is this server: the
    /// same scheme and the same host and port. A page served over plain
    /// HTTP on the same host (another scheme) is another origin, and so is
    /// `null` (sandboxed frames, some redirects).
    pub fn same_origin(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
        let Some(host) = headers.get(HOST).and_then(|v| v.to_str().ok()) else { return false };
        origin.split_once("://").is_some_and(|(scheme, authority)| {
            scheme.eq_ignore_ascii_case(self.scheme) && authority.eq_ignore_ascii_case(host)
        })
    }
}

/// The proxies whose forwarding headers are believed, and the scheme the
/// server is reached by otherwise.
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    trusted: Arc<[IpAddr]>,
    https: bool,
}

impl Proxies {
    /// `trusted`: the addresses of the reverse proxies in front of the
    /// server. `https`: whether browsers reach it over HTTPS when no trusted
    /// proxy says otherwise (`--secure-cookies`: TLS ends in front of it).
    pub fn new(trusted: Vec<IpAddr>, https: bool) -> Proxies {
        let trusted: Vec<IpAddr> = trusted.into_iter().map(|ip| ip.to_canonical()).collect();
        Proxies { trusted: trusted.into(), https }
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.contains(&ip.to_canonical())
    }

    /// The client of a request that came from `peer` with `headers`.
    ///
    /// Behind trusted proxies, `X-Forwarded-For` is read from the right (the
    /// hop nearest this server) and the first address that is not itself a
    /// trusted proxy is the client: what lies further left was written by
    /// the client and proves nothing.
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Client {
        let default_scheme = if self.https { "https" } else { "http" };
        let peer = peer.map(|p| p.ip().to_canonical());
        let Some(peer) = peer.filter(|ip| self.is_trusted(*ip)) else {
            return Client { address: peer, scheme: default_scheme };
        };
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut address = peer;
        for hop in forwarded.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.is_trusted(ip) => address = ip,
                Some(ip) => {
                    address = ip;
                    break;
                }
                // A hop that does not parse: nothing left of it can be trusted.
                None => break,
            }
        }
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .and_then(|proto| match proto.to_ascii_lowercase().as_str() {
                "https" => Some("https"),
                "http" => Some("http"),
                _ => None,
            })
            .unwrap_or(default_scheme);
        Client { address: Some(address), scheme }
    }
}

/// An address in `X-Forwarded-For`: a bare IP, or one with a port
/// (`1.2.3.4:5678`, `[::1]:5678`), as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Middleware: puts the request's [`Client`] into its extensions.
pub async fn identify(State(proxies): State<Proxies>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let client = proxies.client(peer, req.headers());
    req.extensions_mut().insert(client);
    next.run(req).await
}

/// The [`Client`] [`identify`] found for a request (a client with no known
/// address over plain HTTP if it did not run).
pub fn of(extensions: &axum::http::Extensions) -> Client {
    extensions.get::<Client>().copied().unwrap_or(Client { address: None, scheme: "http" })
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Client, Self::Rejection> {
        Ok(of(&parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let proxies = Proxies::new(vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()], false);
        let forged = headers(&[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")]);
        let direct = proxies.client(peer("198.51.100.7"), &forged);
        assert_eq!(direct, Client { address: ip("198.51.100.7"), scheme: "http" }, "a client's own headers");

        let via = proxies.client(peer("10.0.0.1"), &forged);
        assert_eq!(via, Client { address: ip("203.0.113.9"), scheme: "https" });
        // The client wrote the leftmost entry; the proxies appended the rest.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(proxies.client(peer("10.0.0.1"), &chain).address, ip("203.0.113.9"));
        let split = headers(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "203.0.113.9:5000")]);
        assert_eq!(proxies.client(peer("10.0.0.1"), &split).address, ip("203.0.113.9"));
        let garbage = headers(&[("x-forwarded-for", "1.1.1.1, nonsense")]);
        assert_eq!(proxies.client(peer("10.0.0.1"), &garbage).address, ip("10.0.0.1"), "the proxy itself");
        assert_eq!(proxies.client(peer("10.0.0.1"), &HeaderMap::new()).address, ip("10.0.0.1"));
        let mapped = proxies.client(peer("::ffff:10.0.0.1"), &forged);
        assert_eq!(mapped.address, ip("203.0.113.9"), "an IPv4 proxy on a dual-stack socket");
        assert_eq!(Proxies::new(vec![], true).client(peer("1.2.3.4"), &forged).scheme, "https");
    }

    #[test]
    fn the_origin_must_have_this_servers_scheme_host_and_port() {
        let http = Client { address: None, scheme: "http" };
        let https = Client { address: None, scheme: "https" };
        assert!(http.same_origin(&HeaderMap::new()), "no Origin: not a browser's cross-site request");
        let page = |origin: &'static str| headers(&[("host", "medk.example:8080"), ("origin", origin)]);
        assert!(http.same_origin(&page("http://medk.example:8080")));
        assert!(http.same_origin(&page("HTTP://MEDK.example:8080")));
        assert!(!https.same_origin(&page("http://medk.example:8080")), "a plain-HTTP page of the same host");
        assert!(https.same_origin(&page("https://medk.example:8080")));
        assert!(!http.same_origin(&page("https://medk.example:8080")));
        assert!(!http.same_origin(&page("http://evil.example")));
        assert!(!http.same_origin(&page("null")));
        assert!(!http.same_origin(&headers(&[("origin", "http://medk.example:8080")])), "no Host");
    }
}
