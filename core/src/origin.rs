//! Where a request comes from, and whether to serve it: cross-site request forgery (CSRF)
//! and DNS rebinding.
//!
//! Browsers keep Basic and Digest credentials per origin and send them again unasked, also
//! with a form another web site submits to the server. [`OriginPolicy::check`] refuses
//! such requests before authentication, from the headers a browser sets and a page cannot:
//!
//! 1. `Sec-Fetch-Site` (Fetch Metadata), when present: `same-origin` and `none` (the user's
//!    own navigation) are served; `same-site` and `cross-site` come from another origin.
//! 2. Otherwise `Origin`, compared with the request's own scheme, `Host` and port
//!    (`Origin: null`, an opaque origin, is another origin).
//! 3. Otherwise the origin of the `Referer`.
//! 4. None of them: a client that is not a browser (curl, scripts). Browsers send `Origin`
//!    with every unsafe request, so it is served.
//!
//! Unsafe methods (all but `GET`, `HEAD` and `OPTIONS`) from another origin are refused
//! (403) unless that origin is allowed. With a list of the server's own names, a `Host`
//! outside it is refused (421) whatever the method: a rebinding DNS name points a foreign
//! name at the server, and the browser then treats it as that name's origin.
//!
//! ```
//! use authgate::origin::{OriginHeaders, OriginPolicy};
//! use authgate::OriginRefusal;
//!
//! let policy = OriginPolicy::new().allow_host("camera.local").unwrap();
//! let evil = OriginHeaders {
//!     host: Some(b"camera.local"),
//!     origin: Some(b"http://evil.example"),
//!     ..OriginHeaders::default()
//! };
//! assert_eq!(policy.check("POST", &evil), Err(OriginRefusal::CrossOrigin));
//! assert_eq!(policy.check("GET", &evil), Ok(()));
//! let own = OriginHeaders { origin: Some(b"http://camera.local"), ..evil };
//! assert_eq!(policy.check("POST", &own), Ok(()));
//! let rebound = OriginHeaders { host: Some(b"evil.example"), origin: None, ..evil };
//! assert_eq!(policy.check("GET", &rebound), Err(OriginRefusal::ForeignHost));
//! ```
//!
//! Every value is read in place, in one bounded pass ([`MAX_HOST_LEN`], [`MAX_ORIGIN_LEN`]);
//! a malformed value that decides the answer is a 400. A field sent more than once is
//! malformed: pass its values joined with `,` (as WSGI and ASGI servers do) or an empty
//! value.

use crate::error::{ConfigError, OriginRefusal};
use crate::limits::{MAX_ALLOWED_HOSTS_LEN, MAX_ALLOWED_ORIGINS_LEN, MAX_HOST_LEN, MAX_ORIGIN_LEN};
use crate::parse::eq_ignore_case;

/// The request's fields that say where it comes from and where it was sent. `None` means the
/// field is absent. Values are as an HTTP parser gives them, without surrounding whitespace
/// (RFC 9110 §5.5); anything else in them is malformed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OriginHeaders<'a> {
    /// The request came over TLS (`https`): its own origin's scheme.
    pub secure: bool,
    /// `Host` (or HTTP/2's `:authority`).
    pub host: Option<&'a [u8]>,
    /// `Origin`.
    pub origin: Option<&'a [u8]>,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: Option<&'a [u8]>,
    /// `Referer`.
    pub referer: Option<&'a [u8]>,
}

/// Where a request comes from, as far as its headers tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// No header says: not a browser, or a browser too old to say.
    Unknown,
    /// The user's own action in the browser (`Sec-Fetch-Site: none`: the address bar, a
    /// bookmark).
    UserInitiated,
    /// A page of the server's own origin (same scheme, host and port).
    SameOrigin,
    /// Another origin, including Fetch's `same-site` (another port of the same host, a
    /// sibling subdomain) and `Origin: null`.
    CrossOrigin,
}

/// What to refuse. [`OriginPolicy::new`] refuses unsafe requests from other origins and
/// accepts any `Host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginPolicy {
    refuse_cross_origin: bool,
    /// A `Host` that is an IP address passes the Host list.
    any_address: bool,
    /// Serialized origins, separated by spaces.
    origins: heapless::Vec<u8, MAX_ALLOWED_ORIGINS_LEN>,
    /// Host names and addresses (IPv6 without brackets), separated by spaces; empty: any Host.
    hosts: heapless::Vec<u8, MAX_ALLOWED_HOSTS_LEN>,
}

impl Default for OriginPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl OriginPolicy {
    /// Refuses unsafe requests from other origins; no origin allowed besides the server's
    /// own; any `Host`.
    pub const fn new() -> Self {
        OriginPolicy {
            refuse_cross_origin: true,
            any_address: false,
            origins: heapless::Vec::new(),
            hosts: heapless::Vec::new(),
        }
    }

    /// Whether unsafe requests from other origins are refused (default `true`). Off, only the
    /// `Host` list applies.
    pub fn refuse_cross_origin(mut self, refuse: bool) -> Self {
        self.refuse_cross_origin = refuse;
        self
    }

    /// Also serves unsafe requests from `origin`, a serialized origin such as
    /// `https://hub.example:8443` (scheme, host, optional port; no path). `null` cannot be
    /// allowed. [`ConfigError::TooMany`] when the list is full
    /// ([`MAX_ALLOWED_ORIGINS_LEN`] bytes).
    pub fn allow_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        self.add_origin(origin.as_bytes())?;
        Ok(self)
    }

    /// [`allow_origin`](Self::allow_origin) for each of a list of origins separated by spaces;
    /// on error the policy is not returned.
    pub fn allow_origins(mut self, origins: &str) -> Result<Self, ConfigError> {
        each_word(origins, |o| self.add_origin(o))?;
        Ok(self)
    }

    /// Adds one of the server's own names or addresses (`camera.local`, `192.168.1.20`,
    /// `fe80::1` or `[fe80::1]`; no port) to the `Host` list. Once the list has an entry, a
    /// request whose `Host` is not in it is refused ([`OriginRefusal::ForeignHost`]).
    /// Names compare without regard to ASCII case or a trailing dot. [`ConfigError::TooMany`]
    /// when the list is full ([`MAX_ALLOWED_HOSTS_LEN`] bytes).
    pub fn allow_host(mut self, host: &str) -> Result<Self, ConfigError> {
        self.add_host(host.as_bytes())?;
        Ok(self)
    }

    /// [`allow_host`](Self::allow_host) for each of a list of names separated by spaces (as a
    /// setting or a command line gives them); on error the policy is not returned.
    pub fn allow_hosts(mut self, hosts: &str) -> Result<Self, ConfigError> {
        each_word(hosts, |h| self.add_host(h))?;
        Ok(self)
    }

    fn add_origin(&mut self, origin: &[u8]) -> Result<(), ConfigError> {
        parse_origin(origin).ok_or(ConfigError::InvalidOrigin)?;
        push(&mut self.origins, origin)
    }

    fn add_host(&mut self, host: &[u8]) -> Result<(), ConfigError> {
        let bracketed = host.len() > 2 && host[0] == b'[' && host[host.len() - 1] == b']';
        let b = if bracketed { &host[1..host.len() - 1] } else { host };
        if !is_host(b, bracketed || has_colon(b)) {
            return Err(ConfigError::InvalidHost);
        }
        push(&mut self.hosts, b)
    }

    /// Whether a `Host` that is an IP address (IPv4, or IPv6 in brackets) passes the `Host`
    /// list whatever the address (default `false`). DNS rebinding needs a name the attacker
    /// controls, so an address cannot be one: a device whose address changes (DHCP), or that
    /// is reached through NAT, then lists only its names. The list must have an entry for
    /// the `Host` check to apply at all.
    pub fn allow_any_address(mut self, allow: bool) -> Self {
        self.any_address = allow;
        self
    }

    /// Whether unsafe requests from other origins are refused.
    pub fn refuses_cross_origin(&self) -> bool {
        self.refuse_cross_origin
    }

    /// The allowed origins, as given.
    pub fn allowed_origins(&self) -> impl Iterator<Item = &str> {
        entries(&self.origins).map(as_str)
    }

    /// The `Host` list (IPv6 addresses without brackets); empty: any `Host` is served.
    pub fn allowed_hosts(&self) -> impl Iterator<Item = &str> {
        entries(&self.hosts).map(as_str)
    }

    /// Whether to serve a request with this `method` (case-sensitive, as in HTTP) and these
    /// headers, before any authentication; the refusal says why and with which status.
    pub fn check(&self, method: &str, headers: &OriginHeaders<'_>) -> Result<(), OriginRefusal> {
        if !self.hosts.is_empty() {
            let host = headers.host.and_then(host_port).ok_or(OriginRefusal::MalformedHost)?;
            if !(self.any_address && host.address || listed(&self.hosts, |e| same_name(e, host.host))) {
                return Err(OriginRefusal::ForeignHost);
            }
        }
        if !self.refuse_cross_origin || position(method.as_bytes(), &[b"GET", b"HEAD", b"OPTIONS"]).is_some() {
            return Ok(());
        }
        match provenance(headers)? {
            (Provenance::CrossOrigin, Some(from))
                if listed(&self.origins, |e| parse_origin(e).is_some_and(|a| a.same(&from))) =>
            {
                Ok(())
            }
            (Provenance::CrossOrigin, _) => Err(OriginRefusal::CrossOrigin),
            _ => Ok(()),
        }
    }
}

/// Where a request comes from ([`Sec-Fetch-Site`, then `Origin`, then `Referer`](self)).
/// A malformed value that would decide it is an error (400), as is a malformed `Host` when
/// `Origin` or `Referer` is compared with it.
pub fn classify(headers: &OriginHeaders<'_>) -> Result<Provenance, OriginRefusal> {
    provenance(headers).map(|(p, _)| p)
}

/// The provenance, and for another origin the origin it claims (none for `null`, or when
/// only `Sec-Fetch-Site` says).
fn provenance<'a>(h: &OriginHeaders<'a>) -> Result<(Provenance, Option<Origin<'a>>), OriginRefusal> {
    // The values of Sec-Fetch-Site: the first two decide alone, the others say "another origin".
    const SITES: [&[u8]; 4] = [b"none", b"same-origin", b"same-site", b"cross-site"];
    let site = match h.sec_fetch_site.map(|v| position(v, &SITES)) {
        None => None,
        Some(Some(0)) => return Ok((Provenance::UserInitiated, None)),
        Some(Some(1)) => return Ok((Provenance::SameOrigin, None)),
        Some(Some(_)) => Some(()),
        Some(None) => return Err(OriginRefusal::MalformedFetchSite),
    };
    let claimed = match (h.origin, h.referer) {
        (Some(b"null"), _) => return Ok((Provenance::CrossOrigin, None)),
        (Some(o), _) => parse_origin(o).ok_or(OriginRefusal::MalformedOrigin)?,
        (None, Some(r)) => referer_origin(r).ok_or(OriginRefusal::MalformedReferer)?,
        (None, None) if site.is_some() => return Ok((Provenance::CrossOrigin, None)),
        (None, None) => return Ok((Provenance::Unknown, None)),
    };
    if site.is_some() {
        return Ok((Provenance::CrossOrigin, Some(claimed)));
    }
    let same = match h.host {
        Some(host) => {
            let host = host_port(host).ok_or(OriginRefusal::MalformedHost)?;
            let scheme: &[u8] = if h.secure { b"https" } else { b"http" };
            claimed.same(&Origin { scheme, host })
        }
        None => false,
    };
    Ok((if same { Provenance::SameOrigin } else { Provenance::CrossOrigin }, Some(claimed)))
}

/// `host[:port]`, as in `Host` and in an origin.
#[derive(Clone, Copy, Debug)]
struct HostPort<'a> {
    /// A name or IPv4 address, or an IPv6 address (without its brackets).
    host: &'a [u8],
    port: Option<u16>,
    /// An IP address, not a name: IPv6, or only digits and dots (a host a URL parser reads as
    /// IPv4: a name's last label is never numeric).
    address: bool,
}

/// A serialized origin: `scheme://host[:port]`.
#[derive(Clone, Copy, Debug)]
struct Origin<'a> {
    scheme: &'a [u8],
    host: HostPort<'a>,
}

impl Origin<'_> {
    /// The port, the scheme's default when absent.
    fn port(&self) -> Option<u16> {
        self.host.port.or(if eq_ignore_case(self.scheme, b"http") {
            Some(80)
        } else if eq_ignore_case(self.scheme, b"https") {
            Some(443)
        } else {
            None
        })
    }

    fn same(&self, other: &Origin<'_>) -> bool {
        eq_ignore_case(self.scheme, other.scheme)
            && eq_ignore_case(self.host.host, other.host.host)
            && self.port() == other.port()
    }
}

/// Where `v` is in `table` (a loop of slice comparisons: small on microcontrollers, where a
/// `match` on byte strings is unrolled byte by byte).
fn position(v: &[u8], table: &[&[u8]]) -> Option<usize> {
    table.iter().position(|t| *t == v)
}

/// Whether `b` holds a `:` (a plain loop: `contains` brings in memchr's word-at-a-time code,
/// 140 bytes on a Cortex-M0+).
#[allow(clippy::manual_contains)]
fn has_colon(b: &[u8]) -> bool {
    b.iter().any(|&c| c == b':')
}

/// A DNS name or IPv4 address (letters, digits, `-._~`), or an IPv6 address (hex digits,
/// `:` and `.`, with at least one `:`, so that no name is also an address).
fn is_host(h: &[u8], ipv6: bool) -> bool {
    let ok = |c: &u8| match ipv6 {
        true => c.is_ascii_hexdigit() || *c == b':' || *c == b'.',
        false => c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~'),
    };
    !h.is_empty() && h.iter().all(ok) && has_colon(h) == ipv6
}

/// Parses `host[:port]`: a name or IPv4 address, or an IPv6 address in brackets; a port of
/// at most 5 digits up to 65535 (empty: none). Anything else (a comma of a repeated field,
/// `@`, `%`, spaces) is malformed.
fn host_port(b: &[u8]) -> Option<HostPort<'_>> {
    if b.len() > MAX_HOST_LEN {
        return None;
    }
    let (host, rest, ipv6) = match b.strip_prefix(b"[") {
        Some(inner) => {
            let end = inner.iter().position(|&c| c == b']')?;
            (&inner[..end], &inner[end + 1..], true)
        }
        None => {
            let end = b.iter().position(|&c| c == b':').unwrap_or(b.len());
            (&b[..end], &b[end..], false)
        }
    };
    if !is_host(host, ipv6) {
        return None;
    }
    let port = match rest {
        [] | [b':'] => None,
        [b':', digits @ ..] if digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit) => {
            let n = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            Some(u16::try_from(n).ok()?)
        }
        _ => return None,
    };
    let address = ipv6 || host.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    Some(HostPort { host, port, address })
}

/// Parses a serialized origin, `scheme://host[:port]` (not `null`).
fn parse_origin(b: &[u8]) -> Option<Origin<'_>> {
    if b.len() > MAX_ORIGIN_LEN {
        return None;
    }
    let colon = b.iter().position(|&c| c == b':')?;
    let (scheme, rest) = b.split_at(colon);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    let authority = rest.strip_prefix(b"://").filter(|_| scheme_ok)?;
    Some(Origin { scheme, host: host_port(authority)? })
}

/// The origin of a `Referer` URL: its scheme and authority (the rest is not read).
fn referer_origin(b: &[u8]) -> Option<Origin<'_>> {
    let head = &b[..b.len().min(MAX_ORIGIN_LEN + 1)];
    let start = head.iter().position(|&c| c == b':')? + 3;
    let end = head.get(start..)?.iter().position(|c| matches!(c, b'/' | b'?' | b'#')).map_or(b.len(), |e| start + e);
    parse_origin(&b[..end])
}

/// Host names compare without regard to ASCII case or one trailing dot.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    fn strip(n: &[u8]) -> &[u8] {
        match n {
            [name @ .., b'.'] => name,
            _ => n,
        }
    }
    eq_ignore_case(strip(a), strip(b))
}

/// `add` for each space-separated word of `list`.
fn each_word(list: &str, add: impl FnMut(&[u8]) -> Result<(), ConfigError>) -> Result<(), ConfigError> {
    list.as_bytes().split(|&b| b == b' ').filter(|w| !w.is_empty()).try_for_each(add)
}

/// Appends a validated entry to a space-separated list.
fn push<const N: usize>(list: &mut heapless::Vec<u8, N>, entry: &[u8]) -> Result<(), ConfigError> {
    let separator: &[u8] = if list.is_empty() { b"" } else { b" " };
    if list.len() + separator.len() + entry.len() > N {
        return Err(ConfigError::TooMany);
    }
    let _ = list.extend_from_slice(separator);
    let _ = list.extend_from_slice(entry);
    Ok(())
}

/// Whether an entry of a space-separated list matches (a plain loop: small on
/// microcontrollers).
fn listed(list: &[u8], matches: impl Fn(&[u8]) -> bool) -> bool {
    let mut rest = list;
    loop {
        let end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
        if matches(&rest[..end]) {
            return true;
        }
        match rest.get(end + 1..) {
            Some(tail) => rest = tail,
            None => return false,
        }
    }
}

/// The entries of a space-separated list.
fn entries(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&c| c == b' ').filter(|e| !e.is_empty())
}

/// An entry as text (each was validated as ASCII when added).
fn as_str(entry: &[u8]) -> &str {
    core::str::from_utf8(entry).unwrap_or("")
}

#[cfg(test)]
mod tests;
