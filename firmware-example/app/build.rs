//! The build-time login and hostname, checked here so that a bad value stops the build rather
//! than the device, and written to `$OUT_DIR/build_settings.rs` for `settings.rs`.
//!
//! | variable              | meaning                                                          |
//! |-----------------------|------------------------------------------------------------------|
//! | `AUTHGATE_CREDENTIAL` | one or two htdigest lines `user:realm:HA1` (MD5 and/or SHA-256), newline-separated |
//! | `AUTHGATE_USER`       | with `AUTHGATE_PASSWORD`: the user's name (default `admin`)      |
//! | `AUTHGATE_PASSWORD`   | a plaintext password, hashed here (a warning says so)            |
//! | `AUTHGATE_REALM`      | the realm (default `authgate-pico`, or the lines' realm)         |
//! | `AUTHGATE_HOSTNAME`   | the DHCP and mDNS name (default `authgate-` + 6 hex digits of the board's unique id) |
//! | `AUTHGATE_HOSTS`      | more names the device answers to, space-separated (`*`: any `Host`) |
//! | `AUTHGATE_ORIGINS`    | origins whose pages may switch, space-separated                  |
//! | `AUTHGATE_JWT_KEY`    | HS256 secret(s) of the hub, newline-separated: Bearer JWTs accepted (feature `jwt`) |
//! | `AUTHGATE_JWT_ISSUER`, `AUTHGATE_JWT_AUDIENCE` | the `iss` / `aud` a token must carry |
//! | `AUTHGATE_JWT_USER_CLAIM` | the claim naming the user (default `sub`) |
//! | `AUTHGATE_JWT_LEEWAY_S` | clock skew allowed on `exp`, `nbf`, `iat` (default 60) |
//! | `AUTHGATE_NTP_SERVER` | the SNTP server the JWT clock is set from (default `pool.ntp.org`) |
//!
//! Without `AUTHGATE_CREDENTIAL` or `AUTHGATE_PASSWORD` the image gets the demo login
//! `admin:authgate-demo`, with a warning. Whatever the source, the image holds HA1s only,
//! never a password.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;

use authgate::HashAlgorithm;
use authgate::hash::Hasher;

/// One `AUTHGATE_CREDENTIAL` line, read with the core's own parsers. Forms today:
///
/// * an htdigest line `user:realm:HA1` with an MD5 HA1 (32 lower-case hex digits, what
///   Apache's `htdigest` writes): `authgate::Htdigest`, Apache's rules;
/// * the same with a SHA-256 HA1 (64 hex digits), which Apache has no file for:
///   `StoredCredential::ha1_hex`.
///
/// An htpasswd line (`user:$2y$…`) is one more arm here once the device's login can hold a
/// password hash besides HA1s (it would serve Basic only): `authgate::Htpasswd` reads it.
mod credential_line {
    use authgate::{HashAlgorithm, HashOutput, Htdigest, StoredCredential};

    pub struct CredentialLine {
        pub user: String,
        pub realm: String,
        pub algorithm: HashAlgorithm,
        pub ha1: HashOutput,
    }

    pub fn parse(line: &str) -> Result<CredentialLine, String> {
        let hash = line.rsplit_once(':').map_or("", |(_, h)| h);
        if hash.len() == 64 {
            let (user, rest) = line.split_once(':').ok_or("expected user:realm:HA1")?;
            let (realm, _) = rest.rsplit_once(':').ok_or("expected user:realm:HA1")?;
            if user.is_empty() || user.chars().any(char::is_control) {
                return Err("the user name is empty or has a control character".into());
            }
            let Some(StoredCredential::Ha1 { digest, .. }) =
                StoredCredential::ha1_hex(HashAlgorithm::Sha256, hash.as_bytes())
            else {
                return Err("a SHA-256 HA1 must be 64 hex digits".into());
            };
            return Ok(CredentialLine {
                user: user.into(),
                realm: realm.into(),
                algorithm: HashAlgorithm::Sha256,
                ha1: digest,
            });
        }
        let file = Htdigest::parse(line.as_bytes()).map_err(|e| e.kind.message().to_string())?;
        let (_, user, realm) = file.users().next().ok_or("expected user:realm:HA1")?;
        let ha1 = file.ha1(user, realm).ok_or("expected user:realm:HA1")?;
        Ok(CredentialLine { user: user.into(), realm: realm.into(), algorithm: HashAlgorithm::Md5, ha1 })
    }
}

const DEFAULT_USER: &str = "admin";
const DEMO_PASSWORD: &str = "authgate-demo";
const DEFAULT_REALM: &str = "authgate-pico";

fn var(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    env::var(name).ok().filter(|v| !v.is_empty())
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// `AUTHGATE_HOSTS` and `AUTHGATE_ORIGINS`, checked with the core's own rules, in a policy that
/// also holds what the device adds at run time (the longest hostname, with `.local`), so
/// that a bad or too long value stops the build rather than the device.
fn origin_settings() -> (String, String) {
    let hosts: Vec<String> = var("AUTHGATE_HOSTS").map_or(vec![], |v| v.split_whitespace().map(String::from).collect());
    let origins: Vec<String> =
        var("AUTHGATE_ORIGINS").map_or(vec![], |v| v.split_whitespace().map(String::from).collect());
    let longest = "h".repeat(63);
    let mut policy = authgate::OriginPolicy::new();
    let any = hosts == ["*"];
    let runtime = [longest.clone(), format!("{longest}.local")];
    for h in runtime.iter().chain(hosts.iter().filter(|_| !any)) {
        policy = policy.allow_host(h).unwrap_or_else(|e| fail(&format!("AUTHGATE_HOSTS: {h}: {e}")));
    }
    for o in &origins {
        policy = policy.allow_origin(o).unwrap_or_else(|e| fail(&format!("AUTHGATE_ORIGINS: {o}: {e}")));
    }
    drop(policy);
    (hosts.join(" "), origins.join(" "))
}

fn main() {
    let credential = var("AUTHGATE_CREDENTIAL");
    let user = var("AUTHGATE_USER");
    let password = var("AUTHGATE_PASSWORD");
    let realm = var("AUTHGATE_REALM");
    let hostname = var("AUTHGATE_HOSTNAME");

    let (user, realm, lines, source) = match (credential, password) {
        (Some(_), Some(_)) => fail("set AUTHGATE_CREDENTIAL or AUTHGATE_PASSWORD, not both"),
        (Some(text), None) => {
            let lines: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
            let (mut line_user, mut line_realm, mut families) = (None::<String>, None::<String>, Vec::new());
            for (i, l) in lines.iter().enumerate() {
                let parsed = credential_line::parse(l)
                    .unwrap_or_else(|e| fail(&format!("AUTHGATE_CREDENTIAL line {}: {e}", i + 1)));
                let family = parsed.algorithm;
                if families.contains(&family) {
                    fail(&format!("AUTHGATE_CREDENTIAL line {}: a second {family:?} HA1", i + 1));
                }
                families.push(family);
                if *line_user.get_or_insert_with(|| parsed.user.clone()) != parsed.user {
                    fail("AUTHGATE_CREDENTIAL: the lines name different users (the device has one)");
                }
                if *line_realm.get_or_insert_with(|| parsed.realm.clone()) != parsed.realm {
                    fail("AUTHGATE_CREDENTIAL: the lines name different realms");
                }
            }
            let (Some(line_user), Some(line_realm)) = (line_user, line_realm) else {
                fail("AUTHGATE_CREDENTIAL is empty")
            };
            if user.as_deref().is_some_and(|u| u != line_user) {
                fail("AUTHGATE_USER differs from the user in AUTHGATE_CREDENTIAL");
            }
            if realm.as_deref().is_some_and(|r| r != line_realm) {
                fail("AUTHGATE_REALM differs from the realm in AUTHGATE_CREDENTIAL (HA1 depends on the realm)");
            }
            (line_user, line_realm, lines, "credential")
        }
        (None, password) => {
            let user = user.unwrap_or_else(|| DEFAULT_USER.into());
            let realm = realm.unwrap_or_else(|| DEFAULT_REALM.into());
            let source = match &password {
                Some(p) => {
                    println!(
                        "cargo:warning=AUTHGATE_PASSWORD is a plaintext password (for quick tests): it was hashed \
                         into HA1s for realm \"{realm}\" and the image holds no plaintext, but it sits in your \
                         environment and shell history; give AUTHGATE_CREDENTIAL=user:realm:HA1 instead"
                    );
                    if p.chars().count() < 8 {
                        println!("cargo:warning=AUTHGATE_PASSWORD is shorter than 8 characters");
                    }
                    "password"
                }
                None => {
                    println!(
                        "cargo:warning=no AUTHGATE_CREDENTIAL or AUTHGATE_PASSWORD: the image has the demo login \
                         {user}:{DEMO_PASSWORD}; change it on the device (POST /api/password) or rebuild"
                    );
                    "demo"
                }
            };
            let password = password.unwrap_or_else(|| DEMO_PASSWORD.into());
            if password.len() > authgate::limits::MAX_SECRET_LEN {
                fail("AUTHGATE_PASSWORD is longer than authgate's limit (128 bytes)");
            }
            let lines = [HashAlgorithm::Sha256, HashAlgorithm::Md5]
                .into_iter()
                .map(|alg| {
                    let ha1 = authgate::digest::ha1(alg, user.as_bytes(), realm.as_bytes(), password.as_bytes())
                        .expect("md5 and sha256 are enabled");
                    format!("{user}:{realm}:{}", ha1.to_hex().as_str())
                })
                .collect();
            (user, realm, lines, source)
        }
    };
    if user.contains(':') || user.len() > authgate::limits::MAX_USERNAME_LEN {
        fail("the user name must not contain ':' and must be at most 128 bytes");
    }
    if realm.len() > authgate::limits::MAX_REALM_LEN
        || realm.contains(['"', '\\'])
        || realm.chars().any(char::is_control)
    {
        fail("the realm must be at most 128 bytes, without quotes, backslashes or control characters");
    }
    if let Some(h) = &hostname {
        let ok = (1..=63).contains(&h.len())
            && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !h.starts_with('-')
            && !h.ends_with('-');
        if !ok {
            fail("AUTHGATE_HOSTNAME must be one DNS label: 1-63 letters, digits and '-', not at either end");
        }
    }

    let (hosts, origins) = origin_settings();

    // Which build login a stored (changed) login was made under: flashing an image with a
    // different build login makes the device forget the changed one.
    let mut h = Hasher::new(HashAlgorithm::Sha256).expect("sha256 is enabled");
    h.update(b"authgate-fw build login v1\n");
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    let digest = h.finalize();
    let fingerprint: [u8; 8] = digest.as_bytes()[..8].try_into().unwrap();

    let mut out = String::new();
    writeln!(out, "/// The one user's name.\npub const USER: &str = {user:?};").unwrap();
    writeln!(out, "/// The realm the HA1 lines were made for.\npub const REALM: &str = {realm:?};").unwrap();
    writeln!(out, "/// `AUTHGATE_HOSTS`, one space between names.\npub const HOSTS: &str = {hosts:?};").unwrap();
    writeln!(out, "/// `AUTHGATE_ORIGINS`, one space between origins.\npub const ORIGINS: &str = {origins:?};")
        .unwrap();
    // The device gets the HA1 bytes (parsed here, once, by the core): no parser in the image.
    let (mut sha256, mut md5) = (None, None);
    for l in &lines {
        let parsed = credential_line::parse(l).expect("checked above");
        let bytes = parsed.ha1.as_bytes().to_vec();
        match parsed.algorithm {
            HashAlgorithm::Sha256 => sha256 = Some(bytes),
            _ => md5 = Some(bytes),
        }
    }
    writeln!(
        out,
        "/// The build-time login's SHA-256 HA1, if given.\npub const HA1_SHA256: Option<[u8; 32]> = {};",
        opt(&sha256)
    )
    .unwrap();
    writeln!(
        out,
        "/// The build-time login's MD5 HA1, if given.\npub const HA1_MD5: Option<[u8; 16]> = {};",
        opt(&md5)
    )
    .unwrap();
    writeln!(
        out,
        "/// Identifies the build login (see `store.rs`).\npub const FINGERPRINT: [u8; 8] = {fingerprint:?};"
    )
    .unwrap();
    writeln!(
        out,
        "/// Where the login came from: `credential`, `password` or `demo`.\npub const SOURCE: &str = {source:?};"
    )
    .unwrap();
    writeln!(out, "/// `AUTHGATE_HOSTNAME`, if set.\npub const HOSTNAME: Option<&str> = {hostname:?};").unwrap();
    jwt::settings(&mut out);
    let path = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("build_settings.rs");
    std::fs::write(path, out).unwrap();
}

fn opt(bytes: &Option<Vec<u8>>) -> String {
    bytes.as_ref().map_or_else(|| "None".into(), |b| format!("Some({b:?})"))
}

/// The JWT settings, checked by the core's own `JwtConfig` (the one the device builds), and
/// only with the `jwt` feature: a key without the feature, or the feature without a key,
/// stops the build rather than leaving JWT silently off (or on without a key).
mod jwt {
    use super::{fail, var};
    use authgate::jwt::{JwsAlgorithm, JwtConfig, JwtKey};
    use std::fmt::Write as _;

    /// RFC 7518 §3.2: an HS256 key at least as long as the hash.
    const MIN_SECRET_LEN: usize = 32;

    pub fn settings(out: &mut String) {
        let keys = var("AUTHGATE_JWT_KEY");
        let issuer = var("AUTHGATE_JWT_ISSUER");
        let audience = var("AUTHGATE_JWT_AUDIENCE");
        let user_claim = var("AUTHGATE_JWT_USER_CLAIM").unwrap_or_else(|| "sub".into());
        let leeway = var("AUTHGATE_JWT_LEEWAY_S").unwrap_or_else(|| "60".into());
        let ntp = var("AUTHGATE_NTP_SERVER").unwrap_or_else(|| "pool.ntp.org".into());
        let enabled = std::env::var_os("CARGO_FEATURE_JWT").is_some();
        let Some(keys) = keys else {
            if enabled {
                fail("the jwt feature is on but AUTHGATE_JWT_KEY is not set (the hub's HS256 secret)");
            }
            if issuer.is_some() || audience.is_some() {
                fail("AUTHGATE_JWT_ISSUER / AUTHGATE_JWT_AUDIENCE need AUTHGATE_JWT_KEY");
            }
            return;
        };
        if !enabled {
            fail("AUTHGATE_JWT_KEY is set but the jwt feature is off: build with `--features jwt` (make does)");
        }
        // The core refuses a PEM or OpenSSH public key as an HMAC secret (algorithm
        // confusion); asked of the whole value, before it is split into lines.
        if let Err(e) = JwtKey::hmac(keys.as_bytes()) {
            fail(&format!("AUTHGATE_JWT_KEY: {e} (ES256 public keys are not supported by the firmware yet)"));
        }
        let secrets: Vec<&str> = keys.lines().filter(|l| !l.is_empty()).collect();
        let mut config = JwtConfig::new().algorithms(&[JwsAlgorithm::Hs256]).expect("the jwt feature has HS256");
        for (i, secret) in secrets.iter().enumerate() {
            if secret.len() < MIN_SECRET_LEN {
                fail(&format!(
                    "AUTHGATE_JWT_KEY line {}: an HS256 secret needs at least {MIN_SECRET_LEN} bytes (RFC 7518 §3.2)",
                    i + 1
                ));
            }
            let key = JwtKey::hmac(secret.as_bytes())
                .unwrap_or_else(|e| fail(&format!("AUTHGATE_JWT_KEY line {}: {e}", i + 1)));
            config = config.key(key).unwrap_or_else(|_| fail("AUTHGATE_JWT_KEY: at most 4 secrets"));
        }
        if let Some(iss) = &issuer {
            config =
                config.issuer(iss).unwrap_or_else(|_| fail("AUTHGATE_JWT_ISSUER: 1-128 bytes, no control characters"));
        }
        if let Some(aud) = &audience {
            config = config
                .audience(aud)
                .unwrap_or_else(|_| fail("AUTHGATE_JWT_AUDIENCE: 1-128 bytes, no control characters"));
        }
        let leeway: u64 = leeway.parse().unwrap_or_else(|_| fail("AUTHGATE_JWT_LEEWAY_S must be a number of seconds"));
        config = config.leeway(leeway);
        config = config
            .identity_claim(&user_claim)
            .unwrap_or_else(|_| fail("AUTHGATE_JWT_USER_CLAIM: a claim name of 1-32 bytes"));
        config.validate().unwrap_or_else(|e| fail(&format!("AUTHGATE_JWT_*: {e}")));
        let ntp_ok = ntp.parse::<std::net::Ipv4Addr>().is_ok()
            || (ntp.len() <= 253
                && ntp.split('.').all(|l| {
                    (1..=63).contains(&l.len())
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                }));
        if !ntp_ok {
            fail("AUTHGATE_NTP_SERVER must be an IPv4 address or a host name");
        }

        let byte_strings: Vec<String> = secrets.iter().map(|s| format!("&{:?}", s.as_bytes())).collect();
        writeln!(
            out,
            "/// The hub's HS256 secrets (`AUTHGATE_JWT_KEY`).\npub const JWT_HS256_KEYS: &[&[u8]] = &[{}];",
            byte_strings.join(", ")
        )
        .unwrap();
        writeln!(out, "/// `AUTHGATE_JWT_ISSUER`.\npub const JWT_ISSUER: Option<&str> = {issuer:?};").unwrap();
        writeln!(out, "/// `AUTHGATE_JWT_AUDIENCE`.\npub const JWT_AUDIENCE: Option<&str> = {audience:?};").unwrap();
        writeln!(out, "/// `AUTHGATE_JWT_USER_CLAIM`.\npub const JWT_USER_CLAIM: &str = {user_claim:?};").unwrap();
        writeln!(out, "/// `AUTHGATE_JWT_LEEWAY_S`.\npub const JWT_LEEWAY_S: u64 = {leeway};").unwrap();
        writeln!(out, "/// `AUTHGATE_NTP_SERVER`.\npub const NTP_SERVER: &str = {ntp:?};").unwrap();
    }
}
