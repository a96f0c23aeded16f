//! coring-net: TCP, UDP and Unix sockets over io_uring (in progress).
#![deny(missing_docs)]
