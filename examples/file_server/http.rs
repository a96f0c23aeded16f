//! HTTP/1.1 for the file server: parsing a request head (httparse), what
//! a request asks for, and the heads of simple (non-file) responses. The
//! head of a file's response is planned in plan.rs.

use crate::date;
use std::{
    io,
    path::{Component, Path},
};

/// What a request head asked for.
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) keep_alive: bool,
    /// Boxed, and only when the request has any: most have none, and the
    /// request is kept while its response is sent.
    pub(crate) conditions: Option<Box<Conditions>>,
}

/// The raw values of the fields that make a response conditional or
/// partial, parsed only when a file is answered (conditional.rs, range.rs).
/// A field sent more than once has its values joined with `, ` (RFC 9110
/// §5.3): a list for `If-None-Match`, and for the others a value that no
/// longer parses, so it is ignored (`If-Range`: does not hold).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Conditions {
    pub(crate) range: Option<Box<str>>,
    pub(crate) if_none_match: Option<Box<str>>,
    pub(crate) if_modified_since: Option<Box<str>>,
    pub(crate) if_range: Option<Box<str>>,
}

pub(crate) enum Method {
    Get,
    Head,
    Other,
}

/// How a request head parsed.
pub(crate) enum Head {
    /// More bytes are needed.
    Partial,
    /// Not HTTP, or a request with a body (refused: GET and HEAD take
    /// none, and reading past one we do not parse would treat its bytes
    /// as the next request).
    Bad,
    /// A request, and how many bytes its head took.
    Complete(Request, usize),
}

/// Parses one request head from the start of `buf` (CRLF or bare-LF line
/// ends, as httparse accepts).
pub(crate) fn parse_head(buf: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) => Head::Partial,
        Err(_) => Head::Bad,
        Ok(httparse::Status::Complete(_)) if has_body(&req) => Head::Bad,
        Ok(httparse::Status::Complete(used)) => {
            let method = match req.method {
                Some("GET") => Method::Get,
                Some("HEAD") => Method::Head,
                _ => Method::Other,
            };
            let request = Request {
                method,
                target: req.path.unwrap_or("/").to_string(),
                keep_alive: keep_alive(&req),
                conditions: conditions(req.headers),
            };
            Head::Complete(request, used)
        }
    }
}

/// Whether the request announces a body (a non-zero `Content-Length` or
/// any `Transfer-Encoding`).
fn has_body(req: &httparse::Request<'_, '_>) -> bool {
    req.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            || (h.name.eq_ignore_ascii_case("content-length")
                && h.value
                    .iter()
                    .any(|&b| b != b'0' && !b.is_ascii_whitespace()))
    })
}

/// The conditional and range fields of a head, if it has any.
fn conditions(headers: &[httparse::Header<'_>]) -> Option<Box<Conditions>> {
    let mut found: Option<Box<Conditions>> = None;
    for h in headers {
        let Some(field) = ConditionField::named(h.name) else {
            continue;
        };
        let slot = field.slot(found.get_or_insert_with(Box::default));
        // Not UTF-8: kept with replacement characters, which match no tag
        // and parse as no date or range.
        let value = String::from_utf8_lossy(h.value);
        *slot = Some(match slot.take() {
            None => value.into(),
            Some(earlier) => format!("{earlier}, {value}").into(),
        });
    }
    found
}

/// Which of [`Conditions`]' fields a header is.
#[derive(Clone, Copy)]
enum ConditionField {
    Range,
    IfNoneMatch,
    IfModifiedSince,
    IfRange,
}

impl ConditionField {
    fn named(name: &str) -> Option<ConditionField> {
        [
            ("range", ConditionField::Range),
            ("if-none-match", ConditionField::IfNoneMatch),
            ("if-modified-since", ConditionField::IfModifiedSince),
            ("if-range", ConditionField::IfRange),
        ]
        .into_iter()
        .find_map(|(n, field)| name.eq_ignore_ascii_case(n).then_some(field))
    }

    fn slot(self, c: &mut Conditions) -> &mut Option<Box<str>> {
        match self {
            ConditionField::Range => &mut c.range,
            ConditionField::IfNoneMatch => &mut c.if_none_match,
            ConditionField::IfModifiedSince => &mut c.if_modified_since,
            ConditionField::IfRange => &mut c.if_range,
        }
    }
}

fn keep_alive(req: &httparse::Request<'_, '_>) -> bool {
    let conn = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("connection"))
        .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase());
    match (req.version, conn.as_deref()) {
        (_, Some(c)) if c.contains("close") => false,
        (Some(0), Some(c)) => c.contains("keep-alive"),
        (Some(0), None) => false,
        _ => true,
    }
}

/// The whole of a response that is only a status (an error, 405...): a
/// one-line text body naming it.
pub(crate) fn simple_response(code: u16, reason: &str, keep_alive: bool) -> String {
    let body = format!("{code} {reason}\n");
    let mut msg = format!("HTTP/1.1 {code} {reason}\r\nDate: ");
    date::push_now(&mut msg);
    msg.push_str(&format!(
        "\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: {}\r\n\r\n{body}",
        body.len(),
        connection(keep_alive)
    ));
    msg
}

/// The `Connection` field value.
pub(crate) fn connection(keep_alive: bool) -> &'static str {
    if keep_alive {
        "keep-alive"
    } else {
        "close"
    }
}

pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.contains('\0')).then_some(s)
}

pub(crate) fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") | Some("htm") => "text/html; charset=utf-8",
        Some("txt") | Some("md") | Some("rs") | Some("toml") => "text/plain; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "application/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Maps a request target to a path relative to the root ("" for the root
/// itself). A `..`, a dotfile (`.git/`, `.env`) or an undecodable target is
/// `PermissionDenied` (403). Symlinks are checked when the file is opened
/// (`open_beneath`: one that leads out of the root is `EXDEV`, also 403).
pub(crate) fn request_path(target: &str) -> io::Result<String> {
    let forbidden = || io::Error::from(io::ErrorKind::PermissionDenied);
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path).ok_or_else(forbidden)?;
    let mut rel = String::with_capacity(decoded.len());
    for comp in Path::new(&decoded).components() {
        match comp {
            Component::Normal(c) => {
                let c = c.to_str().ok_or_else(forbidden)?;
                if c.starts_with('.') {
                    return Err(forbidden());
                }
                if !rel.is_empty() {
                    rel.push('/');
                }
                rel.push_str(c);
            }
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return Err(forbidden()),
        }
    }
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(head: &str) -> Request {
        match parse_head(head.as_bytes()) {
            Head::Complete(req, used) => {
                assert_eq!(used, head.len());
                req
            }
            _ => panic!("not a complete head: {head:?}"),
        }
    }

    #[test]
    fn a_plain_request_carries_no_conditions() {
        let req = request("GET /a HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
        assert!(req.conditions.is_none());
        // The boxed fields keep the request small.
        assert!(std::mem::size_of::<Request>() <= 48);
    }

    #[test]
    fn conditional_and_range_fields_are_kept_raw() {
        let req = request(
            "GET /a HTTP/1.1\r\nrange: bytes=0-1\r\nIF-NONE-MATCH: \"a\"\r\n\
             If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-Range: \"b\"\r\n\
             If-None-Match: W/\"c\"\r\n\r\n",
        );
        let c = req.conditions.expect("conditions");
        assert_eq!(c.range.as_deref(), Some("bytes=0-1"));
        // A repeated field is one list.
        assert_eq!(c.if_none_match.as_deref(), Some("\"a\", W/\"c\""));
        assert_eq!(
            c.if_modified_since.as_deref(),
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        assert_eq!(c.if_range.as_deref(), Some("\"b\""));
    }

    #[test]
    fn a_field_that_is_not_utf8_is_kept_mangled_not_refused() {
        let mut head = b"GET /a HTTP/1.1\r\nRange: bytes=0-".to_vec();
        head.extend_from_slice(b"\xff\r\n\r\n");
        let Head::Complete(req, _) = parse_head(&head) else {
            panic!("refused");
        };
        let c = req.conditions.expect("conditions");
        assert_eq!(c.range.as_deref(), Some("bytes=0-\u{fffd}"));
    }

    #[test]
    fn simple_responses_carry_a_date() {
        let msg = simple_response(405, "Method Not Allowed", false);
        assert!(
            msg.starts_with("HTTP/1.1 405 Method Not Allowed\r\nDate: "),
            "{msg}"
        );
        let date = msg
            .split("Date: ")
            .nth(1)
            .unwrap()
            .split("\r\n")
            .next()
            .unwrap();
        assert!(date::parse_secs(date).is_some(), "{date}");
        assert!(msg.contains("\r\nConnection: close\r\n"));
        assert!(msg.ends_with("\r\n\r\n405 Method Not Allowed\n"));
    }

    #[test]
    fn request_paths_stay_under_the_root() {
        assert_eq!(request_path("/").unwrap(), "");
        assert_eq!(request_path("/a/b.txt?x=1#f").unwrap(), "a/b.txt");
        assert_eq!(request_path("//a/./b%20c").unwrap(), "a/b c");
        for bad in [
            "/../etc/passwd",
            "/a/../../x",
            "/.git/config",
            "/a/.env",
            "/%2e%2e/x",
            "/%zz",
            "/a%00b",
        ] {
            assert!(request_path(bad).is_err(), "{bad}");
        }
    }
}
