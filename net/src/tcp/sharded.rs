//! [`TcpListener::bind_sharded`]: one `SO_REUSEPORT` listener per core, all
//! on the same address, so the kernel spreads incoming connections over
//! the cores with no shared accept queue.

use super::{TcpListener, TcpListenerBuilder};
use crate::{
    error::annotate,
    resolve::{describe, resolve},
    ToSocketAddrs,
};
use std::{collections::HashMap, io, net::SocketAddr, sync::Mutex};

/// Requested address → the address the first core actually bound (they
/// differ when the port is 0).
#[derive(Default)]
struct BoundPorts(Mutex<HashMap<SocketAddr, SocketAddr>>);

impl TcpListener {
    /// Binds this core's listener of a sharded server. Every core of a
    /// launcher run calls it with the same address and gets its own
    /// `SO_REUSEPORT` listener; the kernel balances connections across
    /// them. With port 0 the first core to bind picks the port and the
    /// others bind the same one. In a single runtime this is a plain bind
    /// with `SO_REUSEPORT`.
    ///
    /// ```no_run
    /// # use coring_runtime::{Builder, Cores};
    /// Builder::new().cores(Cores::All).run(|_| async {
    ///     let listener = coring_net::TcpListener::bind_sharded("0.0.0.0:8080").await?;
    ///     loop {
    ///         let (stream, _) = listener.accept().await?;
    ///         drop(coring_runtime::spawn(async move { drop(stream) }));
    ///     }
    ///     #[allow(unreachable_code)]
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind_sharded<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let wanted = *resolve(&addr)
            .await
            .map_err(|e| annotate(e, "bind", &describe(&addr)))?
            .first()
            .ok_or_else(|| {
                let e = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
                annotate(e, "bind", &describe(&addr))
            })?;
        let mut builder = TcpListenerBuilder::default();
        builder.reuse_port(true);
        if wanted.port() != 0 {
            return builder
                .bind_one(wanted)
                .map_err(|e| annotate(e, "bind", &wanted));
        }
        let ports = coring_runtime::run_shared(BoundPorts::default);
        let mut ports = ports.0.lock().unwrap_or_else(|e| e.into_inner());
        let target = ports.get(&wanted).copied().unwrap_or(wanted);
        let listener = builder
            .bind_one(target)
            .map_err(|e| annotate(e, "bind", &target))?;
        ports.entry(wanted).or_insert(listener.local_addr()?);
        Ok(listener)
    }
}
