//! coring-fs: files, directories and splice transfer over io_uring (in progress).
#![deny(missing_docs)]
