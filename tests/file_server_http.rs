//! The `file_server` example's HTTP semantics, against the real process
//! and real clients (curl, Python's http.client): Date, Last-Modified and
//! ETag; 304 from If-None-Match and If-Modified-Since; 206 and 416 for
//! byte ranges, If-Range; keep-alive across all of them. These tests fail,
//! saying what to install, when curl or python3 is missing.

mod common;
mod file_server_support;

use file_server_support::{curl, python, Reply, Server};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Length of the `big.bin` every server root has.
const BIG_LEN: u64 = (1 << 20) + 7;

/// Whether `v` is an IMF-fixdate (the one form a server sends).
fn is_imf_fixdate(v: &str) -> bool {
    httpdate::parse_http_date(v).is_ok_and(|t| httpdate::fmt_http_date(t) == v)
}

/// A file's mtime as an HTTP date (whole seconds).
fn mtime_date(path: &std::path::Path) -> String {
    httpdate::fmt_http_date(std::fs::metadata(path).unwrap().modified().unwrap())
}

fn set_mtime(path: &std::path::Path, t: SystemTime) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

fn big(s: &Server) -> Vec<u8> {
    std::fs::read(s.root.join("big.bin")).unwrap()
}

/// `-H "Range: bytes=<spec>"`.
fn range(spec: &str) -> String {
    format!("Range: bytes={spec}")
}

fn etag_of(r: &Reply) -> String {
    r.header("etag").expect("an ETag").to_string()
}

#[test]
fn responses_carry_date_last_modified_and_etag() {
    let s = Server::start("http-validators");
    let r = curl(&s, "/hello.txt", &[]);
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, b"hello coring\n".as_slice())
    );
    let date = r.header("date").expect("Date");
    assert!(is_imf_fixdate(date), "Date {date:?}");
    let age = SystemTime::now()
        .duration_since(httpdate::parse_http_date(date).unwrap())
        .unwrap_or_default();
    assert!(age < Duration::from_secs(5), "Date {date:?} is {age:?} old");
    assert_eq!(
        r.header("last-modified"),
        Some(mtime_date(&s.root.join("hello.txt")).as_str())
    );
    // nginx-style: "<mtime hex>-<length hex>".
    let etag = etag_of(&r);
    let inner = etag
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or_else(|| panic!("ETag {etag:?} is not a strong quoted tag"));
    let (mtime, len) = inner.split_once('-').expect("<mtime>-<len>");
    assert!(u128::from_str_radix(mtime, 16).is_ok(), "ETag {etag:?}");
    assert_eq!(len, "d", "length 13 in hex");
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        etag_of(&curl(&s, "/hello.txt", &[])),
        etag,
        "ETag not stable"
    );
    // Error responses carry a Date too.
    let r = curl(&s, "/missing", &[]);
    assert_eq!(r.status, 404);
    assert!(r.header("date").is_some_and(is_imf_fixdate), "{r:?}");
}

#[test]
fn if_none_match_answers_304_weakly_and_through_lists() {
    let s = Server::start("http-inm");
    let saved = s.root.join("etag-saved");
    let saved = saved.to_str().unwrap();
    let first = curl(&s, "/hello.txt", &["--etag-save", saved]);
    let etag = etag_of(&first);
    // curl's own conditional GET: the tag it saved, as If-None-Match.
    let r = curl(&s, "/hello.txt", &["--etag-compare", saved]);
    assert_eq!(r.status, 304, "{r:?}");
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("last-modified"), first.header("last-modified"));
    assert!(r.header("date").is_some_and(is_imf_fixdate));
    for value in [
        format!("W/{etag}"),
        format!("\"nope\", {etag}"),
        format!("W/\"nope\",W/{etag}"),
        "*".to_string(),
    ] {
        let r = curl(
            &s,
            "/hello.txt",
            &["-H", &format!("If-None-Match: {value}")],
        );
        assert_eq!(r.status, 304, "If-None-Match: {value}");
    }
    let r = curl(&s, "/hello.txt", &["-H", "If-None-Match: \"nope\""]);
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, b"hello coring\n".as_slice())
    );
}

#[test]
fn if_modified_since_answers_304_until_the_file_changes() {
    let s = Server::start("http-ims");
    let path = s.root.join("hello.txt");
    let first = curl(&s, "/hello.txt", &[]);
    let last_modified = first.header("last-modified").unwrap().to_string();
    let r = curl(&s, "/hello.txt", &["-z", &last_modified]);
    assert_eq!(r.status, 304, "{r:?}");
    assert!(r.body.is_empty());
    let hour_before = httpdate::fmt_http_date(
        httpdate::parse_http_date(&last_modified).unwrap() - Duration::from_secs(3600),
    );
    assert_eq!(curl(&s, "/hello.txt", &["-z", &hour_before]).status, 200);
    let garbage = ["-H", "If-Modified-Since: last tuesday"];
    assert_eq!(curl(&s, "/hello.txt", &garbage).status, 200);
    // If-None-Match decides alone when present.
    let both = [
        "-H",
        "If-None-Match: \"nope\"",
        "-H",
        &format!("If-Modified-Since: {last_modified}"),
    ];
    assert_eq!(curl(&s, "/hello.txt", &both).status, 200);

    // The file changes (a new mtime): the old validators no longer match.
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    set_mtime(&path, modified + Duration::from_secs(10));
    let r = curl(&s, "/hello.txt", &["-z", &last_modified]);
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, b"hello coring\n".as_slice())
    );
    assert_eq!(r.header("last-modified"), Some(mtime_date(&path).as_str()));
    assert_ne!(r.header("last-modified"), Some(last_modified.as_str()));
    assert_ne!(etag_of(&r), etag_of(&first));
    let old_tag = format!("If-None-Match: {}", etag_of(&first));
    assert_eq!(curl(&s, "/hello.txt", &["-H", &old_tag]).status, 200);
}

#[test]
fn ranges_answer_206_with_the_right_bytes() {
    let s = Server::start("http-range");
    let want = big(&s);
    let last = BIG_LEN - 1;
    let cases: [(String, u64, u64); 6] = [
        ("0-99".into(), 0, 100),
        ("1000-".into(), 1000, BIG_LEN - 1000),
        ("-500".into(), BIG_LEN - 500, 500),
        ("5-5".into(), 5, 1),
        (format!("{}-99999999", last - 6), last - 6, 7),
        ("-99999999".into(), 0, BIG_LEN),
    ];
    for (spec, offset, len) in cases {
        let r = curl(&s, "/big.bin", &["-H", &range(&spec)]);
        assert_eq!(r.status, 206, "bytes={spec}: {:?}", r.headers);
        let end = offset + len - 1;
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {offset}-{end}/{BIG_LEN}").as_str()),
            "bytes={spec}"
        );
        assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
        let (offset, len) = (offset as usize, len as usize);
        assert!(
            r.body == want[offset..offset + len],
            "bytes={spec}: wrong bytes"
        );
    }
    // curl's own -r says the same.
    let r = curl(&s, "/big.bin", &["-r", "10-19"]);
    assert_eq!((r.status, r.body.as_slice()), (206, &want[10..20]));
}

#[test]
fn unsatisfiable_ranges_are_416_and_multiple_or_malformed_ones_200() {
    let s = Server::start("http-416");
    for spec in [
        format!("{BIG_LEN}-"),
        "-0".to_string(),
        format!("{BIG_LEN}-,{}-", BIG_LEN + 9),
    ] {
        let r = curl(&s, "/big.bin", &["-H", &range(&spec)]);
        assert_eq!(r.status, 416, "bytes={spec}");
        let want = format!("bytes */{BIG_LEN}");
        assert_eq!(r.header("content-range"), Some(want.as_str()));
        assert!(r.body.is_empty());
    }
    let whole = big(&s);
    for value in ["bytes=0-1,5-9", "bytes=9-1", "items=0-1", "bytes=x-"] {
        let r = curl(&s, "/big.bin", &["-H", &format!("Range: {value}")]);
        assert_eq!(r.status, 200, "Range: {value}");
        assert_eq!(r.header("content-range"), None);
        assert!(r.body == whole, "Range: {value}: not the whole file");
    }
    // An empty file (RFC 9110 §14.1.2): `0-` cannot be satisfied; a
    // suffix can, selects nothing, and the (empty) whole is sent.
    std::fs::write(s.root.join("empty.txt"), b"").unwrap();
    let r = curl(&s, "/empty.txt", &["-H", &range("0-")]);
    assert_eq!(
        (r.status, r.header("content-range")),
        (416, Some("bytes */0"))
    );
    let r = curl(&s, "/empty.txt", &["-H", &range("-5")]);
    assert_eq!((r.status, r.header("content-length")), (200, Some("0")));
}

#[test]
fn a_range_whose_if_range_does_not_match_sends_the_whole_file() {
    let s = Server::start("http-ifrange");
    let first = curl(&s, "/big.bin", &["-r", "0-0"]);
    assert_eq!(first.status, 206);
    let etag = etag_of(&first);
    let last_modified = first.header("last-modified").unwrap().to_string();
    let want = big(&s);
    for (if_range, status) in [
        (etag.clone(), 206),
        (last_modified.clone(), 206),
        ("\"other\"".to_string(), 200),
        (format!("W/{etag}"), 200),
        ("Thu, 01 Jan 1970 00:00:00 GMT".to_string(), 200),
        ("garbage".to_string(), 200),
    ] {
        let args = ["-H", &range("0-9"), "-H", &format!("If-Range: {if_range}")];
        let r = curl(&s, "/big.bin", &args);
        assert_eq!(r.status, status, "If-Range: {if_range}");
        let body: &[u8] = if status == 206 { &want[..10] } else { &want };
        assert!(r.body == body, "If-Range: {if_range}: wrong body");
    }
}

/// Python's http.client keeps one connection for all its requests, so
/// this also checks the server frames each kind of response (a 304 with no
/// body, a 206, a HEAD that ignores a Range, a 416) so the next one reads.
const KEEP_ALIVE_SCRIPT: &str = r#"
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
def ask(method, path, **headers):
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    body = r.read()
    port = conn.sock.getsockname()[1] if conn.sock else 0
    print(r.status, port, r.getheader("Content-Range", "-"),
          r.getheader("Content-Length", "-"), body[:32].hex() or "-", sep="|")
    return r
first = ask("GET", "/hello.txt")
etag, last_modified = first.getheader("ETag"), first.getheader("Last-Modified")
ask("GET", "/hello.txt", **{"If-None-Match": etag})
ask("GET", "/big.bin", Range="bytes=10-19")
ask("HEAD", "/big.bin", Range="bytes=0-9")
ask("GET", "/big.bin", Range="bytes=99999999-")
ask("GET", "/hello.txt", **{"If-Modified-Since": last_modified})
ask("GET", "/hello.txt", Range="bytes=-6")
"#;

#[test]
fn python_http_client_keeps_one_connection_across_304_206_head_and_416() {
    let s = Server::start("http-python");
    let out = python(KEEP_ALIVE_SCRIPT, &[&s.port.to_string()]);
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('|').collect()).collect();
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let want = big(&s);
    let expected = [
        ["200", "-", "13", &hex(b"hello coring\n")],
        ["304", "-", "-", "-"],
        [
            "206",
            &format!("bytes 10-19/{BIG_LEN}"),
            "10",
            &hex(&want[10..20]),
        ],
        // RFC 9110 §14.2: a Range is for GET only; HEAD answers as for
        // the whole file.
        ["200", "-", &BIG_LEN.to_string(), "-"],
        ["416", &format!("bytes */{BIG_LEN}"), "0", "-"],
        ["304", "-", "-", "-"],
        ["206", "bytes 7-12/13", "6", &hex(b"oring\n")],
    ];
    assert_eq!(lines.len(), expected.len(), "{out}");
    for (got, want) in lines.iter().zip(&expected) {
        let fields = [got[0], got[2], got[3], got[4]];
        assert_eq!(fields, *want, "{out}");
    }
    let port = lines[0][1];
    assert_ne!(port, "0", "{out}");
    assert!(
        lines.iter().all(|l| l[1] == port),
        "http.client had to reconnect:\n{out}"
    );
}

/// A file dated before 1970 (which no HTTP date can say) is served without
/// validators, not with a panic.
#[test]
fn a_file_dated_before_1970_is_served_without_validators() {
    let s = Server::start("http-oldfile");
    let path = s.root.join("hello.txt");
    set_mtime(&path, UNIX_EPOCH - Duration::from_secs(86400));
    let r = curl(&s, "/hello.txt", &["-H", "If-None-Match: \"x\""]);
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, b"hello coring\n".as_slice())
    );
    assert_eq!((r.header("etag"), r.header("last-modified")), (None, None));
    assert!(r.header("date").is_some_and(is_imf_fixdate));
}
