//! HTTP dates for the file server (RFC 9110 §5.6.7): the `Date` of every
//! response, formatted at most once per second per thread, and file times
//! as `Last-Modified` values.

use std::{
    cell::RefCell,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Seconds since the epoch of 10000-01-01: httpdate formats (and panics
/// past) only the years 1970 to 9999.
const YEAR_10000: u64 = 253_402_300_800;

/// `t` in whole seconds since the epoch, if it can be an HTTP date (a file
/// time may be anything `touch` set: before 1970, or far in the future).
pub(crate) fn http_secs(t: SystemTime) -> Option<u64> {
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    (secs < YEAR_10000).then_some(secs)
}

/// Whole seconds since the epoch as an IMF-fixdate (`Sun, 06 Nov 1994
/// 08:49:37 GMT`); clamped to the years httpdate can format.
pub(crate) fn format_secs(secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs.min(YEAR_10000 - 1)))
}

/// A field value holding an HTTP date (any of the three forms a recipient
/// must accept) as whole seconds since the epoch; `None` when it is not one.
pub(crate) fn parse_secs(value: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

/// The `Date` value for the current second, kept until the second changes:
/// a busy server answers many requests a second, and formatting a date
/// costs more than copying 29 bytes.
struct DateCache {
    secs: Option<u64>,
    text: String,
}

impl DateCache {
    const fn new() -> Self {
        DateCache {
            secs: None,
            text: String::new(),
        }
    }

    fn at(&mut self, now: SystemTime) -> &str {
        // A clock before 1970 (or past 9999) is broken; any valid date is
        // better than none.
        let secs = http_secs(now).unwrap_or(0);
        if self.secs != Some(secs) {
            self.text = format_secs(secs);
            self.secs = Some(secs);
        }
        &self.text
    }
}

thread_local! {
    // One per runtime thread: no sharing, no locking.
    static NOW: RefCell<DateCache> = const { RefCell::new(DateCache::new()) };
}

/// Appends the current time as an IMF-fixdate to `out`.
pub(crate) fn push_now(out: &mut String) {
    NOW.with(|cache| out.push_str(cache.borrow_mut().at(SystemTime::now())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_the_three_forms() {
        assert_eq!(format_secs(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_secs(form), Some(784111777), "{form}");
        }
        assert_eq!(parse_secs("yesterday"), None);
        assert_eq!(parse_secs(""), None);
    }

    #[test]
    fn file_times_outside_http_dates_are_none_not_a_panic() {
        assert_eq!(http_secs(UNIX_EPOCH - Duration::from_secs(1)), None);
        assert_eq!(
            http_secs(UNIX_EPOCH + Duration::from_secs(YEAR_10000)),
            None
        );
        assert_eq!(http_secs(UNIX_EPOCH + Duration::from_millis(1500)), Some(1));
        assert_eq!(format_secs(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn the_date_is_formatted_once_per_second() {
        let t = UNIX_EPOCH + Duration::from_secs(784111777);
        let mut cache = DateCache::new();
        assert_eq!(cache.at(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        // Within the same second the cached text is returned as it is.
        cache.text = "cached".into();
        assert_eq!(cache.at(t + Duration::from_millis(999)), "cached");
        assert_eq!(
            cache.at(t + Duration::from_secs(1)),
            "Sun, 06 Nov 1994 08:49:38 GMT"
        );
        let mut out = String::new();
        push_now(&mut out);
        assert_eq!(out.len(), 29, "{out}");
    }
}
