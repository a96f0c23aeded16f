//! The executor: tasks, run queues, and the [`Runtime`] loop that ties them
//! to the driver.

pub(crate) mod context;
mod queue;
mod runtime;
mod task;

pub use runtime::{Runtime, RuntimeStats};
pub use task::{spawn, yield_now, JoinError, JoinHandle};

use crate::driver::DriverHandle;
use std::rc::Rc;

/// The current runtime's driver; panics naming `what` outside a runtime.
pub(crate) fn current_driver(what: &str) -> Rc<DriverHandle> {
    context::current(what).driver.clone()
}

/// The current runtime's driver, if a runtime runs on this thread.
pub(crate) fn try_current_driver() -> Option<Rc<DriverHandle>> {
    context::try_current().map(|c| c.driver.clone())
}

/// Counters of the runtime running on this thread.
///
/// Panics outside a coring runtime.
pub fn stats() -> RuntimeStats {
    runtime::stats_of(&context::current("coring::runtime::stats"))
}
