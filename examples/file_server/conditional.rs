//! Validators and preconditions for the file server (RFC 9110 §8.8,
//! §13.1): a file's `ETag` and `Last-Modified`, and whether
//! `If-None-Match`, `If-Modified-Since` and `If-Range` hold against them.

use crate::date;
use std::time::{SystemTime, UNIX_EPOCH};

/// What identifies the current version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validators {
    /// A strong entity tag, quotes included.
    pub(crate) etag: Option<String>,
    /// The modification time in whole seconds since the epoch.
    pub(crate) last_modified: Option<u64>,
}

impl Validators {
    /// Both from the file's length and modification time (none when the
    /// filesystem gives no time, or one no HTTP date can carry).
    pub(crate) fn of(len: u64, modified: Option<SystemTime>) -> Validators {
        let Some((secs, nanos)) = modified.and_then(|t| {
            let secs = date::http_secs(t)?;
            Some((secs, t.duration_since(UNIX_EPOCH).ok()?.subsec_nanos()))
        }) else {
            return Validators {
                etag: None,
                last_modified: None,
            };
        };
        // nginx's `"<mtime hex>-<length hex>"`, with the mtime to the
        // nanosecond: a file rewritten within one second with the same
        // length still gets a new tag, as a strong validator must.
        let mtime_nanos = u128::from(secs) * 1_000_000_000 + u128::from(nanos);
        Validators {
            etag: Some(format!("\"{mtime_nanos:x}-{len:x}\"")),
            last_modified: Some(secs),
        }
    }
}

/// One entity tag of a field value: `"opaque"` or `W/"opaque"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    /// Between the quotes.
    opaque: &'a str,
}

/// Splits off the entity tag at the start of `s` (after whitespace);
/// `None` when `s` does not start with one.
fn split_entity_tag(s: &str) -> Option<(EntityTag<'_>, &str)> {
    let s = s.trim_start_matches([' ', '\t']);
    let (weak, s) = match s.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('"')?;
    let end = s.find('"')?;
    Some((
        EntityTag {
            weak,
            opaque: &s[..end],
        },
        &s[end + 1..],
    ))
}

/// `If-None-Match` (§13.1.2): whether the value, `*` or a list of entity
/// tags, matches the file's tag by weak comparison (the `W/` ignored). A
/// malformed list matches only through the tags before the fault.
pub(crate) fn none_match_matches(value: &str, etag: Option<&str>) -> bool {
    if value.trim() == "*" {
        // Any current representation, and the file exists.
        return true;
    }
    let Some((current, _)) = etag.and_then(split_entity_tag) else {
        return false;
    };
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let Some((tag, after)) = split_entity_tag(rest) else {
            return false;
        };
        if tag.opaque == current.opaque {
            return true;
        }
        rest = after;
    }
}

/// `If-Modified-Since` (§13.1.3): true when the file was not modified
/// after the date (compared in whole seconds, as `Last-Modified` says). An
/// invalid date, or a file without a time, is ignored: false.
pub(crate) fn not_modified_since(value: &str, last_modified: Option<u64>) -> bool {
    match (date::parse_secs(value), last_modified) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

/// `If-Range` (§13.1.5): whether the Range still applies. An entity tag
/// must equal the file's by strong comparison (a weak tag never does); a
/// date must equal `Last-Modified` exactly. Anything else (malformed, or a
/// file without validators) does not hold: the whole file is sent, never
/// a part of a different version.
pub(crate) fn if_range_holds(value: &str, validators: &Validators) -> bool {
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        let Some((tag, rest)) = split_entity_tag(value) else {
            return false;
        };
        let current = validators.etag.as_deref().and_then(split_entity_tag);
        return !tag.weak
            && rest.trim().is_empty()
            && current.is_some_and(|(current, _)| current.opaque == tag.opaque);
    }
    date::parse_secs(value).is_some_and(|since| validators.last_modified == Some(since))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::new(secs, nanos))
    }

    #[test]
    fn etag_is_mtime_and_length_in_hex() {
        let v = Validators::of(0x2a, at(1, 5));
        assert_eq!(v.etag.as_deref(), Some("\"3b9aca05-2a\""));
        assert_eq!(v.last_modified, Some(1));
        // A rewrite within the same second changes the tag, not the date.
        let w = Validators::of(0x2a, at(1, 6));
        assert_ne!(v.etag, w.etag);
        assert_eq!(v.last_modified, w.last_modified);
        let none = Validators {
            etag: None,
            last_modified: None,
        };
        assert_eq!(Validators::of(1, None), none);
        assert_eq!(
            Validators::of(1, Some(UNIX_EPOCH - Duration::from_secs(9))),
            none
        );
    }

    #[test]
    fn if_none_match_compares_weakly_through_lists() {
        let etag = Some("\"abc-1\"");
        for value in [
            "\"abc-1\"",
            "W/\"abc-1\"",
            "\"x\", \"abc-1\"",
            "\"x\",W/\"abc-1\" , \"y\"",
            "*",
            " * ",
            "\"a,b\", \"abc-1\"",
        ] {
            assert!(none_match_matches(value, etag), "{value:?}");
        }
        for value in [
            "\"abc-2\"",
            "abc-1",
            "\"abc-1",
            "",
            "\"x\" junk \"abc-1\"",
            "w/\"abc-1\"",
        ] {
            assert!(!none_match_matches(value, etag), "{value:?}");
        }
        assert!(!none_match_matches("\"abc-1\"", None));
        assert!(none_match_matches("*", None));
    }

    #[test]
    fn if_modified_since_in_whole_seconds_invalid_dates_ignored() {
        let lm = Some(784111777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert!(not_modified_since("Sun, 06 Nov 1994 08:49:37 GMT", lm));
        assert!(not_modified_since("Sun, 06 Nov 1994 08:49:38 GMT", lm));
        assert!(!not_modified_since("Sun, 06 Nov 1994 08:49:36 GMT", lm));
        assert!(!not_modified_since("not a date", lm));
        assert!(!not_modified_since("Sun, 06 Nov 1994 08:49:37 GMT", None));
    }

    #[test]
    fn if_range_needs_a_strong_tag_or_the_exact_date() {
        let v = Validators::of(0x2a, at(784111777, 0));
        let etag = v.etag.clone().unwrap();
        assert!(if_range_holds(&etag, &v));
        assert!(if_range_holds(&format!(" {etag} "), &v));
        assert!(if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", &v));
        for value in [
            format!("W/{etag}"),
            "\"other\"".to_string(),
            format!("{etag}, {etag}"),
            "Sun, 06 Nov 1994 08:49:38 GMT".to_string(),
            "Sun, 06 Nov 1994 08:49:36 GMT".to_string(),
            "garbage".to_string(),
            String::new(),
        ] {
            assert!(!if_range_holds(&value, &v), "{value:?}");
        }
        let none = Validators::of(1, None);
        assert!(!if_range_holds("\"x\"", &none));
        assert!(!if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", &none));
    }
}
