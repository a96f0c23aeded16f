//! `Range: bytes=...` for the file server (RFC 9110 §14.1, §14.2): which
//! part of a file a request asks for.

/// What a `Range` field value asks of a file of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeAsk {
    /// The whole file (200): the field is malformed, not in bytes, names
    /// several ranges (a server may answer those with the whole file), or
    /// names nothing a 206 could carry.
    Whole,
    /// One satisfiable range (206): its first byte and byte count.
    Part { offset: u64, len: u64 },
    /// No range in the set is satisfiable (416).
    Unsatisfiable,
}

/// One `range-spec` as written, before it meets the file's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-last` or `first-`.
    From { first: u64, last: Option<u64> },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

/// Reads a `Range` field value against a file of `file_len` bytes.
pub(crate) fn parse_range(value: &str, file_len: u64) -> RangeAsk {
    let Some((unit, set)) = value.trim().split_once('=') else {
        return RangeAsk::Whole;
    };
    if !unit.eq_ignore_ascii_case("bytes") {
        return RangeAsk::Whole;
    }
    let mut specs = 0usize;
    let mut first_satisfiable = None;
    // A scan, not a collected list: a head may name thousands of ranges.
    for item in set.split(',') {
        let item = item.trim_matches([' ', '\t']);
        if item.is_empty() {
            // The list syntax (`1#range-spec`) allows empty elements.
            continue;
        }
        // One invalid range-spec makes the whole field invalid: ignored.
        let Some(spec) = parse_spec(item) else {
            return RangeAsk::Whole;
        };
        specs += 1;
        if first_satisfiable.is_none() {
            first_satisfiable = satisfy(spec, file_len);
        }
    }
    match (specs, first_satisfiable) {
        (0, _) => RangeAsk::Whole,
        (_, None) => RangeAsk::Unsatisfiable,
        // A suffix range of an empty file is satisfiable (§14.1.2) but
        // covers nothing, which `Content-Range` cannot say: a server may
        // ignore a Range on an empty representation (§14.2).
        (1, Some((_, 0))) => RangeAsk::Whole,
        (1, Some((offset, len))) => RangeAsk::Part { offset, len },
        _ => RangeAsk::Whole,
    }
}

fn parse_spec(item: &str) -> Option<Spec> {
    let (first, last) = item.split_once('-')?;
    if first.is_empty() {
        return Some(Spec::Suffix(digits(last)?));
    }
    let first = digits(first)?;
    let last = if last.is_empty() {
        None
    } else {
        Some(digits(last)?)
    };
    // `last-pos` before `first-pos` is invalid (§14.1.1), not empty.
    if last.is_some_and(|last| last < first) {
        return None;
    }
    Some(Spec::From { first, last })
}

/// `1*DIGIT` as a number; one too large for u64 saturates, which keeps its
/// meaning here (past the end of any file, or more than all of it).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// The bytes (offset, count) that `spec` selects of a file of `file_len`
/// bytes, or `None` when it is unsatisfiable (§14.1.2).
fn satisfy(spec: Spec, file_len: u64) -> Option<(u64, u64)> {
    match spec {
        Spec::From { first, .. } if first >= file_len => None,
        Spec::From { first, last } => {
            let last = last.map_or(file_len - 1, |last| last.min(file_len - 1));
            Some((first, last - first + 1))
        }
        Spec::Suffix(0) => None,
        Spec::Suffix(n) => {
            let n = n.min(file_len);
            Some((file_len - n, n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeAsk::*;

    fn part(offset: u64, len: u64) -> RangeAsk {
        Part { offset, len }
    }

    #[test]
    fn single_ranges_of_the_three_forms() {
        assert_eq!(parse_range("bytes=0-99", 1000), part(0, 100));
        assert_eq!(parse_range("bytes=990-", 1000), part(990, 10));
        assert_eq!(parse_range("bytes=-10", 1000), part(990, 10));
        assert_eq!(parse_range("bytes=5-5", 1000), part(5, 1));
        // Past the end is cut to the end; a suffix longer than the file
        // is all of it.
        assert_eq!(parse_range("bytes=900-5000", 1000), part(900, 100));
        assert_eq!(parse_range("bytes=-5000", 1000), part(0, 1000));
        assert_eq!(
            parse_range("bytes=0-99999999999999999999999", 10),
            part(0, 10)
        );
        // Unit case-insensitive, whitespace around list elements.
        assert_eq!(parse_range("Bytes= 0-1 ,", 10), part(0, 2));
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=1000-2000", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(
            parse_range("bytes=99999999999999999999999-", 10),
            Unsatisfiable
        );
        assert_eq!(parse_range("bytes=2000-,3000-", 1000), Unsatisfiable);
        // An empty file: only a non-zero suffix is satisfiable, and that
        // one selects nothing, so the whole (empty) file is sent.
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-5", 0), Whole);
    }

    #[test]
    fn malformed_foreign_and_multiple_ranges_are_the_whole_file() {
        for value in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes=-",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=--5",
            "bytes 0-1",
            "items=0-1",
            "bytes=0-1,x",
            "bytes=0-1,5-9",
            "bytes=0-1,2000-",
            "bytes=\u{e9}-1",
        ] {
            assert_eq!(parse_range(value, 1000), Whole, "{value:?}");
        }
    }
}
