//! The HTTP side: a page, a JSON status and the LED switch, on picoserve.
//!
//! | route                         | access                                   |
//! |-------------------------------|------------------------------------------|
//! | `GET /`                       | open (a static page that calls the API)  |
//! | `GET /api/status`             | protected unless `protect_reads` is off  |
//! | `POST /api/led/{on,off,toggle}` | always protected                       |
//! | `POST /api/password`          | always protected: `password=NEW` (form)  |
//!
//! Protection is a picoserve extractor ([`Authenticated`] / [`ReadAccess`]). It first hands
//! the method and the `Host`, `Origin`, `Sec-Fetch-Site` and `Referer` fields to
//! [`crate::auth::Guard::check_origin`]: a switch sent by another site's page (riding on the
//! browser's cached login) gets 403, a request sent to a name that is not the device's (DNS
//! rebinding) 421. Then it hands the request's method, target and `Authorization` header to
//! [`crate::auth::Guard`]; when authgate refuses, the extractor's rejection is the 401 (with
//! authgate's `WWW-Authenticate` challenges) or the 400. (A router-wide picoserve layer would
//! also cover the static page, for some 2 KiB of flash the Pico W image cannot spare; the
//! page holds nothing.)

use core::fmt::Write as _;

use heapless::String;
use picoserve::extract::{FromRequest, FromRequestParts, State};
use picoserve::request::Path;
use picoserve::request::{RequestBody, RequestParts};
use picoserve::response::{File, IntoResponse, Response, StatusCode};
use picoserve::routing::{PathDescription, PathRouter, get, get_service, post};

use crate::auth::{AuthenticationInfo, Challenges, Decision, Guard};
use crate::device::Device;
use crate::login::{Login, MAX_PASSWORD_LEN};
use authgate::UserName;

/// The `WWW-Authenticate` fields of a 401: Digest SHA-256 and MD5, Basic, and with `jwt`
/// Bearer (a fixed list: a longer one costs the default image flash for a field it never has).
#[cfg(not(feature = "jwt"))]
const CHALLENGE_FIELDS: [usize; 3] = [0, 1, 2];
#[cfg(feature = "jwt")]
const CHALLENGE_FIELDS: [usize; 4] = [0, 1, 2, 3];

/// The longest request-target the device accepts (path and query as sent).
pub const TARGET_LEN: usize = 256;

/// What every handler can reach.
#[derive(Clone, Copy)]
pub struct AppState {
    pub guard: &'static Guard,
    pub device: &'static Device,
}

/// Extractor state for the device.
#[derive(Clone, Copy)]
struct Dev(&'static Device);

impl picoserve::extract::FromRef<AppState> for Dev {
    fn from_ref(state: &AppState) -> Self {
        Dev(state.device)
    }
}

/// The page, with its ETag (a SHA-1 of the body) computed at compile time: built at run time,
/// `File::html` links 4 KiB of SHA-1 code into the image.
const INDEX: File = File::html(include_str!("index.html"));

/// The whole app. It borrows a `'static` state, so the router itself needs no state type and
/// can be served by any picoserve transport (embassy-net or tokio).
pub fn router(state: &'static AppState) -> picoserve::Router<impl PathRouter> {
    picoserve::Router::<_, AppState>::new()
        .route("/", get_service(INDEX))
        .route("/api/status", get(status))
        .route(("/api/led", LedSegment), post(switch_led))
        .route("/api/password", post(change_password))
        .with_state(state)
}

/// Where the request comes from and which name it was sent to, before its credentials.
fn origin(guard: &Guard, parts: &RequestParts<'_>) -> Result<(), Refused> {
    guard.check_origin(parts.method(), parts.path().encoded(), &origin_headers(parts)).map_err(Refused::Origin)
}

/// The fields authgate reads to tell where a request comes from, in one pass over the
/// headers: `None` when absent, empty when sent more than once (authgate answers it as
/// malformed).
fn origin_headers<'a>(parts: &RequestParts<'a>) -> authgate::OriginHeaders<'a> {
    const NAMES: [&str; 4] = ["host", "origin", "sec-fetch-site", "referer"];
    let mut values: [Option<&'a [u8]>; 4] = [None; 4];
    for (name, value) in parts.headers().iter() {
        if let Some(i) = NAMES.iter().position(|n| name == *n) {
            values[i] = Some(if values[i].is_some() { b"" } else { value.as_raw() });
        }
    }
    let [host, origin, sec_fetch_site, referer] = values;
    authgate::OriginHeaders { secure: false, host, origin, sec_fetch_site, referer }
}

async fn status(access: ReadAccess, State(Dev(device)): State<Dev>) -> impl IntoResponse {
    let mut body: String<192> = String::new();
    let _ = write!(
        body,
        "{{\"led\":{},\"switches\":{},\"uptime_s\":{},\"user\":",
        device.led(),
        device.switches(),
        embassy_time::Instant::now().as_secs(),
    );
    match &access.0 {
        Some(a) => push_json_str(&mut body, &a.user),
        None => {
            let _ = body.push_str("null");
        }
    }
    let _ = body.push_str("}\n");
    json(body, access.0.and_then(|a| a.info))
}

async fn switch_led(command: LedCommand, auth: Authenticated, State(Dev(device)): State<Dev>) -> impl IntoResponse {
    let on = match command {
        LedCommand::On => true,
        LedCommand::Off => false,
        LedCommand::Toggle => !device.led(),
    };
    device.set_led(on);
    info!("LED {} by {}", if on { "on" } else { "off" }, auth.user.as_str());
    let mut body: String<192> = String::new();
    let _ = write!(body, "{{\"led\":{},\"switches\":{},\"user\":", on, device.switches());
    push_json_str(&mut body, &auth.user);
    let _ = body.push_str("}\n");
    json(body, auth.info)
}

/// `password=NEW` (`application/x-www-form-urlencoded`, as the page's form or
/// `curl --digest -u user:old --data-urlencode password=NEW` sends it): the device keeps only
/// the new password's HA1s, writes them to flash, and from then on refuses the old password.
/// The password crosses the network as Basic's does: change it from the local network.
async fn change_password(auth: Authenticated, NewLogin(login): NewLogin) -> Result<impl IntoResponse, Refused> {
    match crate::store::change_login(login).await {
        Ok(()) => {
            info!("password changed by {}; the new login is in flash", auth.user.as_str());
            let mut body: String<192> = String::new();
            let _ = body.push_str("{\"changed\":true,\"user\":");
            push_json_str(&mut body, &auth.user);
            let _ = body.push_str("}\n");
            Ok(json(body, auth.info))
        }
        Err(e) => {
            warn!("password change by {} failed: {}", auth.user.as_str(), e.message());
            Err(Refused::Unavailable("the new password could not be stored; the old one stays"))
        }
    }
}

/// The new login from a `password=NEW` form body, read in place in the request buffer; the
/// extractor runs after [`Authenticated`], so only a logged-in user gets this far.
pub struct NewLogin(Login);

impl<'r> FromRequest<'r, AppState> for NewLogin {
    type Rejection = Refused;

    async fn from_request<R: picoserve::io::Read>(
        state: &'r AppState,
        _parts: RequestParts<'r>,
        body: RequestBody<'r, R>,
    ) -> Result<Self, Refused> {
        let result = match body.read_all().await {
            Ok(form) => new_login(state.guard.settings().realm, form),
            Err(_) => Err("the form could not be read (longer than the request buffer?)"),
        };
        result.map(NewLogin).map_err(|reason| {
            warn!("password change refused: {}", reason);
            Refused::Invalid(reason)
        })
    }
}

fn new_login(realm: &str, form: &[u8]) -> Result<Login, &'static str> {
    const MISSING: &str = "expected password=NEW (application/x-www-form-urlencoded)";
    let form = core::str::from_utf8(form).map_err(|_| MISSING)?;
    let value = form.split('&').find_map(|pair| pair.strip_prefix("password=")).ok_or(MISSING)?;
    // picoserve decodes the %XX escapes and HTML forms' '+' for a space.
    let password: String<MAX_PASSWORD_LEN> = picoserve::url_encoded::UrlEncodedString(value)
        .try_into_string()
        .map_err(|_| "the password is not valid url-encoded UTF-8, or longer than 128 bytes")?;
    Login::from_password(realm, &password).map_err(|e| e.message())
}

/// A JSON answer, with `Authentication-Info` when Digest produced one.
fn json(body: String<192>, info: Option<AuthenticationInfo>) -> impl IntoResponse {
    Response::ok(body)
        .with_content_type("application/json")
        .with_header("Cache-Control", "no-store")
        .with_headers(info.map(|i| ("Authentication-Info", i)))
}

/// JSON string with the escapes a user name could need.
fn push_json_str<const N: usize>(out: &mut String<N>, s: &str) {
    let _ = out.push('"');
    for c in s.chars() {
        let _ = match c {
            '"' => out.write_str("\\\""),
            '\\' => out.write_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32),
            c => out.write_char(c),
        };
    }
    let _ = out.push('"');
}

/// The `/{on,off,toggle}` after `/api/led`, matched whole. picoserve's `parse_path_segment`
/// splits a `str` at a character index, which links core's char-boundary panic message
/// (`<char as Debug>` and its formatting, 1.9 KiB of flash the Pico W image cannot spare).
#[derive(Clone, Copy, Debug)]
struct LedSegment;

impl PathDescription<()> for LedSegment {
    type NewPathParameters = (LedCommand,);

    fn parse_and_validate<'r, T, F: FnOnce((LedCommand,), Path<'r>) -> Result<T, (LedCommand,)>>(
        &self,
        current_path_parameters: (),
        path: Path<'r>,
        validate: F,
    ) -> Result<T, ()> {
        for (segment, command) in [("/on", LedCommand::On), ("/off", LedCommand::Off), ("/toggle", LedCommand::Toggle)]
        {
            if path == segment {
                return segment.parse_and_validate((), path, |(), rest| validate((command,), rest).map_err(|_| ()));
            }
        }
        Err(current_path_parameters)
    }
}

/// `/api/led/{on,off,toggle}`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedCommand {
    On,
    Off,
    Toggle,
}

/// A request authgate let in.
pub struct Authenticated {
    pub user: UserName,
    /// `Authentication-Info` for a Digest success.
    pub info: Option<AuthenticationInfo>,
}

/// Read access: authenticated, or anonymous when reads are open (`None`).
pub struct ReadAccess(pub Option<Authenticated>);

/// Why a request was refused: the 401 or 400 authgate asked for, where it came from (403,
/// 421, 400), or a bad form (400), or a store that failed (503).
pub enum Refused {
    Challenge(Challenges),
    BadRequest(&'static str),
    Origin(authgate::OriginRefusal),
    Invalid(&'static str),
    Unavailable(&'static str),
}

impl IntoResponse for Refused {
    async fn write_to<R: picoserve::io::Read, W: picoserve::response::ResponseWriter<Error = R::Error>>(
        self,
        connection: picoserve::response::Connection<'_, R>,
        response_writer: W,
    ) -> Result<picoserve::ResponseSent, W::Error> {
        match self {
            Refused::Challenge(challenges) => {
                Response::new(StatusCode::UNAUTHORIZED, "authentication required\n")
                    .with_header("Cache-Control", "no-store")
                    .with_headers(CHALLENGE_FIELDS.map(|i| challenges.value(i).map(|v| ("WWW-Authenticate", v))))
                    .write_to(connection, response_writer)
                    .await
            }
            // One response type for the texts: one copy of picoserve's writer.
            _ => {
                let (status, prefix, reason) = match self {
                    Refused::BadRequest(r) => (StatusCode::BAD_REQUEST, "bad Authorization header: ", r),
                    Refused::Origin(r) => (StatusCode::new(r.status()), "", r.message()),
                    Refused::Invalid(r) => (StatusCode::BAD_REQUEST, "", r),
                    Refused::Unavailable(r) => (StatusCode::SERVICE_UNAVAILABLE, "", r),
                    // Answered above.
                    Refused::Challenge(_) => (StatusCode::UNAUTHORIZED, "", ""),
                };
                (status, format_args!("{prefix}{reason}\n")).write_to(connection, response_writer).await
            }
        }
    }
}

/// The one `Authorization` field. Two or more are a 400: the field is not a list (RFC 9110
/// §5.3), and a proxy reading the first while the server reads the last is header smuggling.
fn authorization<'a>(parts: &RequestParts<'a>) -> Result<Option<&'a [u8]>, Refused> {
    let mut fields = parts.headers().iter().filter(|(name, _)| *name == "authorization");
    let first = fields.next().map(|(_, value)| value.as_raw());
    match fields.next() {
        Some(_) => Err(Refused::BadRequest("more than one Authorization field")),
        None => Ok(first),
    }
}

/// Hand the request to authgate through the guard.
fn check(guard: &'static Guard, parts: &RequestParts<'_>) -> Result<Authenticated, Refused> {
    // The request-target as the client sent it: Digest's `uri` must match it.
    let mut target: String<TARGET_LEN> = String::new();
    let fits = target.push_str(parts.path().encoded()).is_ok()
        && match parts.query() {
            Some(q) => target.push('?').is_ok() && target.push_str(q.0).is_ok(),
            None => true,
        };
    if !fits {
        return Err(Refused::BadRequest("request-target too long"));
    }
    origin(guard, parts)?;
    let authorization = authorization(parts)?;
    match guard.check(parts.method(), &target, authorization) {
        Decision::Allow { user, info } => Ok(Authenticated { user, info }),
        Decision::Challenge(challenges) => Err(Refused::Challenge(challenges)),
        Decision::BadRequest { reason } => Err(Refused::BadRequest(reason)),
    }
}

impl<'r> FromRequestParts<'r, AppState> for Authenticated {
    type Rejection = Refused;

    async fn from_request_parts(state: &'r AppState, parts: &RequestParts<'r>) -> Result<Self, Refused> {
        check(state.guard, parts)
    }
}

impl<'r> FromRequestParts<'r, AppState> for ReadAccess {
    type Rejection = Refused;

    async fn from_request_parts(state: &'r AppState, parts: &RequestParts<'r>) -> Result<Self, Refused> {
        if !state.guard.settings().protect_reads && authorization(parts)?.is_none() {
            origin(state.guard, parts)?;
            return Ok(ReadAccess(None));
        }
        check(state.guard, parts).map(|a| ReadAccess(Some(a)))
    }
}
