//! HTTP/1.1 for the file server: parsing a request head (httparse), and
//! what a request asks for.

use std::path::Path;

/// What a request head asked for.
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) keep_alive: bool,
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
