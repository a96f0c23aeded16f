//! Nothing here: this package only holds integration tests (in `tests/`)
//! whose dependencies are too heavy for the `coring` package's
//! dev-dependencies — the `#[coring::main]`/`#[coring::test]` compile-fail
//! tests (trybuild) and a hyper 1 HTTP exchange over coring's `TcpStream`.
