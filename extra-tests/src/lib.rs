//! Nothing here: this package only holds integration tests (in `tests/`)
//! whose dependencies are too heavy for the `coring` package's
//! dev-dependencies — the `#[coring::main]`/`#[coring::test]` compile-fail
//! tests (trybuild), hyper, axum and rustls over coring (features `hyper`,
//! `axum`, `client`). Its binary `axum_hello` is the example of that name.
