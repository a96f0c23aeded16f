//! The socket ops, one io_uring operation per file. Each owns everything
//! the kernel touches (fd handle, buffers, address storage on the heap) and
//! implements `OpCode` (or `MultishotCode`) from the runtime.
//!
//! Sends always pass `MSG_NOSIGNAL`: writing to a closed peer is an `EPIPE`
//! error, never a `SIGPIPE`.

mod accept;
mod accept_multi;
mod connect;
mod recv;
mod recv_from;
mod recv_multi;
mod recv_select;
mod send_to;
mod send_vectored;
mod shutdown;

pub(crate) use accept::Accept;
pub(crate) use accept_multi::AcceptMulti;
pub(crate) use connect::Connect;
pub(crate) use coring_runtime::op::Send;
pub(crate) use recv::Recv;
pub(crate) use recv_from::RecvFrom;
pub(crate) use recv_multi::RecvMulti;
pub(crate) use recv_select::RecvSelect;
pub(crate) use send_to::SendTo;
pub(crate) use send_vectored::SendVectored;
pub(crate) use shutdown::Shutdown;
