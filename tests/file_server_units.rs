//! The `file_server` example's HTTP logic, unit-tested: request heads and
//! paths (http.rs), conditional requests (conditional.rs), ranges
//! (range.rs), dates (date.rs) and the response plan (plan.rs). The
//! example's modules are compiled into this test crate, because `cargo
//! test` runs an example's own `#[cfg(test)]` tests only when the example
//! is built as a test harness, and then does not build the example binary
//! that tests/file_server.rs and tests/file_server_http.rs run.
#![allow(dead_code, unreachable_pub)]

#[path = "../examples/file_server/conditional.rs"]
mod conditional;
#[path = "../examples/file_server/date.rs"]
mod date;
#[path = "../examples/file_server/http.rs"]
mod http;
#[path = "../examples/file_server/plan.rs"]
mod plan;
#[path = "../examples/file_server/range.rs"]
mod range;
