//! TCP: [`TcpListener`] (with [`TcpListenerBuilder`] and the multishot
//! [`Incoming`] stream), [`TcpStream`], and its owned halves
//! ([`OwnedReadHalf`], [`OwnedWriteHalf`]).

mod listener;
mod sharded;
mod split;
mod stream;

pub use listener::{Incoming, TcpListener, TcpListenerBuilder};
pub use split::{OwnedReadHalf, OwnedWriteHalf};
pub use stream::TcpStream;
