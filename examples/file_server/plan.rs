//! The response to a request for a file (RFC 9110 §13.2.2, §14, §15): its
//! status (200, 206, 304, 416), its head, and which bytes of the file go
//! in its body. Pure: the sender (files.rs) supplies what it knows of the
//! file and sends what the plan says.

use crate::conditional::{if_range_holds, none_match_matches, not_modified_since, Validators};
use crate::http::{connection, Method, Request};
use crate::range::{parse_range, RangeAsk};
use crate::{date, http::Conditions};
use std::{fmt::Write, time::SystemTime};

/// What the response depends on about the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileFacts {
    pub(crate) len: u64,
    /// `None` when the filesystem keeps no modification time.
    pub(crate) modified: Option<SystemTime>,
}

impl FileFacts {
    pub(crate) fn from_metadata(meta: &coring::fs::Metadata) -> FileFacts {
        FileFacts {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// Bytes of the file to send as the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyRange {
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// A response to send: the head, then the body's bytes from the file.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) status: u16,
    /// The status line and fields, through the blank line.
    pub(crate) head: Vec<u8>,
    /// `None` when the head is the whole response (HEAD, 304, 416).
    pub(crate) body: Option<BodyRange>,
}

/// What the preconditions and the Range make of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    NotModified,
    Whole,
    Part(BodyRange),
    Unsatisfiable,
}

/// Plans the response to `req` (a GET or HEAD) for a file with `facts`.
pub(crate) fn plan(req: &Request, facts: &FileFacts, content_type: &str) -> Plan {
    let validators = Validators::of(facts.len, facts.modified);
    let get = matches!(req.method, Method::Get);
    let outcome = decide(req.conditions.as_deref(), get, facts.len, &validators);
    let status = match outcome {
        Outcome::NotModified => 304,
        Outcome::Whole => 200,
        Outcome::Part(_) => 206,
        Outcome::Unsatisfiable => 416,
    };
    let body = match outcome {
        _ if !get => None,
        Outcome::Whole => Some(BodyRange {
            offset: 0,
            len: facts.len,
        }),
        Outcome::Part(part) => Some(part),
        Outcome::NotModified | Outcome::Unsatisfiable => None,
    };
    let head = head(
        outcome,
        facts.len,
        &validators,
        content_type,
        req.keep_alive,
    );
    Plan {
        status,
        head: head.into_bytes(),
        body,
    }
}

/// Evaluates the preconditions in the order of RFC 9110 §13.2.2, then the
/// Range (§14.2).
fn decide(conditions: Option<&Conditions>, get: bool, len: u64, v: &Validators) -> Outcome {
    let Some(c) = conditions else {
        return Outcome::Whole;
    };
    // If-None-Match, or only without it If-Modified-Since: the client's
    // copy is current.
    let not_modified = match (&c.if_none_match, &c.if_modified_since) {
        (Some(tags), _) => none_match_matches(tags, v.etag.as_deref()),
        (None, Some(since)) => not_modified_since(since, v.last_modified),
        (None, None) => false,
    };
    if not_modified {
        return Outcome::NotModified;
    }
    // Range is defined for GET only: a HEAD ignores it (§14.2), and so
    // does a Range whose If-Range names another version.
    let Some(range) = c.range.as_deref().filter(|_| get) else {
        return Outcome::Whole;
    };
    if c.if_range.as_deref().is_some_and(|r| !if_range_holds(r, v)) {
        return Outcome::Whole;
    }
    match parse_range(range, len) {
        RangeAsk::Whole => Outcome::Whole,
        RangeAsk::Part { offset, len } => Outcome::Part(BodyRange { offset, len }),
        RangeAsk::Unsatisfiable => Outcome::Unsatisfiable,
    }
}

/// The head for `outcome`, through the blank line.
fn head(
    outcome: Outcome,
    file_len: u64,
    v: &Validators,
    content_type: &str,
    keep_alive: bool,
) -> String {
    let status_line = match outcome {
        Outcome::NotModified => "304 Not Modified",
        Outcome::Whole => "200 OK",
        Outcome::Part(_) => "206 Partial Content",
        Outcome::Unsatisfiable => "416 Range Not Satisfiable",
    };
    let mut h = String::with_capacity(320);
    // (Writing to a String cannot fail.)
    let _ = write!(h, "HTTP/1.1 {status_line}\r\nDate: ");
    date::push_now(&mut h);
    h.push_str("\r\n");
    if let Some(secs) = v.last_modified {
        let _ = write!(h, "Last-Modified: {}\r\n", date::format_secs(secs));
    }
    if let Some(etag) = &v.etag {
        let _ = write!(h, "ETag: {etag}\r\n");
    }
    match outcome {
        // A 304 has no body and says nothing of one (§15.4.5).
        Outcome::NotModified => {}
        Outcome::Whole => {
            let _ = write!(
                h,
                "Accept-Ranges: bytes\r\nContent-Type: {content_type}\r\nContent-Length: {file_len}\r\n"
            );
        }
        Outcome::Part(BodyRange { offset, len }) => {
            let last = offset + len - 1;
            let _ = write!(
                h,
                "Accept-Ranges: bytes\r\nContent-Type: {content_type}\r\nContent-Range: bytes {offset}-{last}/{file_len}\r\nContent-Length: {len}\r\n"
            );
        }
        Outcome::Unsatisfiable => {
            let _ = write!(
                h,
                "Accept-Ranges: bytes\r\nContent-Range: bytes */{file_len}\r\nContent-Length: 0\r\n"
            );
        }
    }
    let _ = write!(h, "Connection: {}\r\n\r\n", connection(keep_alive));
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const LEN: u64 = 1000;
    /// Sun, 06 Nov 1994 08:49:37 GMT.
    const MTIME: u64 = 784111777;
    const LAST_MODIFIED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn facts() -> FileFacts {
        FileFacts {
            len: LEN,
            modified: Some(UNIX_EPOCH + Duration::new(MTIME, 42)),
        }
    }

    fn etag() -> String {
        Validators::of(LEN, facts().modified).etag.unwrap()
    }

    /// A request with these fields (name, value).
    fn req(method: Method, fields: &[(&str, &str)]) -> Request {
        let mut c = Conditions::default();
        for &(name, value) in fields {
            let slot = match name {
                "range" => &mut c.range,
                "if-none-match" => &mut c.if_none_match,
                "if-modified-since" => &mut c.if_modified_since,
                "if-range" => &mut c.if_range,
                _ => panic!("{name}"),
            };
            *slot = Some(value.into());
        }
        Request {
            method,
            target: "/f".into(),
            keep_alive: true,
            conditions: (!fields.is_empty()).then(|| Box::new(c)),
        }
    }

    fn get(fields: &[(&str, &str)]) -> Plan {
        plan(&req(Method::Get, fields), &facts(), "text/plain")
    }

    fn head_text(p: &Plan) -> &str {
        std::str::from_utf8(&p.head).unwrap()
    }

    /// The value of field `name` in the plan's head.
    fn field<'p>(p: &'p Plan, name: &str) -> Option<&'p str> {
        head_text(p)
            .split("\r\n")
            .filter_map(|l| l.split_once(": "))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn whole() -> Option<BodyRange> {
        Some(BodyRange {
            offset: 0,
            len: LEN,
        })
    }

    #[test]
    fn a_plain_get_is_200_with_every_field() {
        let p = get(&[]);
        assert_eq!((p.status, p.body), (200, whole()));
        let text = head_text(&p);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(
            text.ends_with("\r\nConnection: keep-alive\r\n\r\n"),
            "{text}"
        );
        assert!(date::parse_secs(field(&p, "Date").unwrap()).is_some());
        assert_eq!(field(&p, "Last-Modified"), Some(LAST_MODIFIED));
        assert_eq!(field(&p, "ETag"), Some(etag().as_str()));
        assert_eq!(field(&p, "Accept-Ranges"), Some("bytes"));
        assert_eq!(field(&p, "Content-Length"), Some("1000"));
        assert_eq!(field(&p, "Content-Type"), Some("text/plain"));
        assert_eq!(field(&p, "Content-Range"), None);
    }

    #[test]
    fn head_sends_no_body_and_ignores_a_range() {
        let p = plan(&req(Method::Head, &[]), &facts(), "text/plain");
        assert_eq!((p.status, p.body), (200, None));
        assert_eq!(field(&p, "Content-Length"), Some("1000"));
        let p = plan(
            &req(Method::Head, &[("range", "bytes=0-9")]),
            &facts(),
            "text/plain",
        );
        assert_eq!((p.status, p.body), (200, None));
        assert_eq!(field(&p, "Content-Range"), None);
        let p = plan(
            &req(Method::Head, &[("if-none-match", "*")]),
            &facts(),
            "text/plain",
        );
        assert_eq!(p.status, 304);
    }

    #[test]
    fn if_none_match_gives_304_without_a_body() {
        for tags in [
            etag(),
            format!("W/{}", etag()),
            format!("\"x\", {}", etag()),
        ] {
            let p = get(&[("if-none-match", &tags)]);
            assert_eq!((p.status, p.body), (304, None), "{tags}");
            assert!(head_text(&p).starts_with("HTTP/1.1 304 Not Modified\r\n"));
            assert_eq!(field(&p, "ETag"), Some(etag().as_str()));
            assert_eq!(field(&p, "Last-Modified"), Some(LAST_MODIFIED));
            assert!(field(&p, "Date").is_some());
            assert_eq!(field(&p, "Content-Length"), None);
        }
        assert_eq!(get(&[("if-none-match", "\"other\"")]).status, 200);
    }

    #[test]
    fn if_modified_since_only_without_if_none_match() {
        assert_eq!(get(&[("if-modified-since", LAST_MODIFIED)]).status, 304);
        let later = "Sun, 06 Nov 1994 08:49:38 GMT";
        assert_eq!(get(&[("if-modified-since", later)]).status, 304);
        let earlier = "Sun, 06 Nov 1994 08:49:36 GMT";
        assert_eq!(get(&[("if-modified-since", earlier)]).status, 200);
        assert_eq!(get(&[("if-modified-since", "garbage")]).status, 200);
        let p = get(&[
            ("if-none-match", "\"other\""),
            ("if-modified-since", LAST_MODIFIED),
        ]);
        assert_eq!(
            p.status, 200,
            "If-Modified-Since used despite If-None-Match"
        );
    }

    #[test]
    fn a_range_is_206_with_content_range() {
        let p = get(&[("range", "bytes=10-19")]);
        assert_eq!(p.status, 206);
        assert_eq!(
            p.body,
            Some(BodyRange {
                offset: 10,
                len: 10
            })
        );
        assert!(head_text(&p).starts_with("HTTP/1.1 206 Partial Content\r\n"));
        assert_eq!(field(&p, "Content-Range"), Some("bytes 10-19/1000"));
        assert_eq!(field(&p, "Content-Length"), Some("10"));
        let p = get(&[("range", "bytes=-1")]);
        assert_eq!(field(&p, "Content-Range"), Some("bytes 999-999/1000"));
    }

    #[test]
    fn an_unsatisfiable_range_is_416_without_a_body() {
        let p = get(&[("range", "bytes=1000-")]);
        assert_eq!((p.status, p.body), (416, None));
        assert!(head_text(&p).starts_with("HTTP/1.1 416 Range Not Satisfiable\r\n"));
        assert_eq!(field(&p, "Content-Range"), Some("bytes */1000"));
        assert_eq!(field(&p, "Content-Length"), Some("0"));
        let empty = FileFacts { len: 0, ..facts() };
        let p = plan(&req(Method::Get, &[("range", "bytes=0-")]), &empty, "x");
        assert_eq!(
            (p.status, field(&p, "Content-Range")),
            (416, Some("bytes */0"))
        );
    }

    #[test]
    fn if_range_must_match_for_the_range_to_apply() {
        let part = Some(BodyRange { offset: 0, len: 2 });
        let p = get(&[("range", "bytes=0-1"), ("if-range", &etag())]);
        assert_eq!((p.status, p.body), (206, part));
        let p = get(&[("range", "bytes=0-1"), ("if-range", LAST_MODIFIED)]);
        assert_eq!((p.status, p.body), (206, part));
        let weak = format!("W/{}", etag());
        for other in [
            "\"other\"",
            weak.as_str(),
            "Mon, 07 Nov 1994 08:49:37 GMT",
            "?",
        ] {
            let p = get(&[("range", "bytes=0-1"), ("if-range", other)]);
            assert_eq!((p.status, p.body), (200, whole()), "{other}");
        }
        // A 304 still comes first.
        let p = get(&[("range", "bytes=0-1"), ("if-none-match", "*")]);
        assert_eq!(p.status, 304);
    }

    #[test]
    fn a_file_without_a_time_has_no_validators() {
        let facts = FileFacts {
            len: 3,
            modified: None,
        };
        let p = plan(
            &req(Method::Get, &[("if-modified-since", LAST_MODIFIED)]),
            &facts,
            "x",
        );
        assert_eq!(p.status, 200);
        assert_eq!(
            (field(&p, "ETag"), field(&p, "Last-Modified")),
            (None, None)
        );
        let p = plan(
            &req(
                Method::Get,
                &[("range", "bytes=0-0"), ("if-range", "\"x\"")],
            ),
            &facts,
            "x",
        );
        assert_eq!(p.status, 200);
    }

    #[test]
    fn connection_close_is_said() {
        let mut r = req(Method::Get, &[("range", "bytes=0-0")]);
        r.keep_alive = false;
        let p = plan(&r, &facts(), "x");
        assert_eq!(field(&p, "Connection"), Some("close"));
    }
}
