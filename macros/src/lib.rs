//! `#[coring::main]` and `#[coring::test]`: turn an `async fn` into a sync
//! fn that builds a coring runtime on the current thread and `block_on`s
//! the body.
//!
//! This file holds only the two entry points; `options.rs` parses the
//! attribute arguments and `expand.rs` checks the function and generates
//! the code.
//!
//! Both attributes take the same options, `key = value` separated by
//! commas, all optional:
//!
//! | option | value | effect |
//! |---|---|---|
//! | `entries` | integer literal > 0 | `Builder::entries` (submission queue size) |
//! | `cq_entries` | integer literal > 0 | `Builder::cq_entries` (completion queue size) |
//! | `start_entries`, `start_cq_entries` | integer literal > 0 | `Builder::start_size` (the size an adaptive ring starts at; a missing one keeps its default, SQ 256 / CQ 1024) |
//! | `adaptive` | `true` or `false` | `Builder::adaptive` (rings grow and shrink with load; default on) |
//! | `cores` | `"all"` or `"N"` | run the body once per core, one pinned thread and ring each (`Builder::cores(..).run(..)`); SIGINT/SIGTERM shut all cores down — the first drains, the second stops at once, see `ShutdownHandle` — (under `#[coring::test]` signals are left alone); the function must return `()` or `Result<(), E>` with `E: From<io::Error> + Send` |
//! | `crate` | string path | the module exposing `Builder`, default `::coring::runtime` |
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod expand;
mod options;

use proc_macro::TokenStream;

/// Runs an `async fn main` on a coring runtime.
///
/// ```rust,ignore
/// #[coring::main(entries = 256)]
/// async fn main() -> std::io::Result<()> {
///     let n = coring::spawn(async { 40 + 2 }).await?;
///     assert_eq!(n, 42);
///     Ok(())
/// }
/// ```
///
/// expands to a sync fn with the same name, visibility, attributes and
/// return type:
///
/// ```text
/// fn main() -> std::io::Result<()> {
///     let __coring_body = async move { /* the body */ };
///     ::coring::runtime::Builder::new()
///         .entries(256)
///         .build()
///         .expect("coring: failed to build the runtime")
///         .block_on(__coring_body)
/// }
/// ```
///
/// The function may have any name but must be `async`, take no arguments
/// and not be generic. See the crate docs for the options.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(expand::Kind::Main, attr.into(), item.into()).into()
}

/// Runs an `async fn` test on its own coring runtime.
///
/// ```rust,ignore
/// #[coring::test]
/// #[should_panic(expected = "boom")]
/// async fn panics() {
///     coring::time::sleep(std::time::Duration::from_millis(1)).await;
///     panic!("boom");
/// }
/// ```
///
/// Like [`macro@main`], plus `#[test]`; other attributes (`#[should_panic]`,
/// `#[ignore]`, ...) are kept. Do not add `#[test]` yourself: that is an
/// error ("second #[test] attribute"). Takes the same options as
/// [`macro@main`].
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(expand::Kind::Test, attr.into(), item.into()).into()
}
