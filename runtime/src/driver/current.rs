//! Which driver (if any) serves this thread: the thread-local that ops and
//! fd handles use to find their ring. The executor makes its driver current
//! when it enters a runtime; the driver layer owns the slot, so ops never
//! reach up into the executor.

use super::DriverHandle;
use std::{cell::RefCell, rc::Rc};

thread_local! {
    static CURRENT: RefCell<Option<Rc<DriverHandle>>> = const { RefCell::new(None) };
}

/// Makes `driver` current on this thread until the guard drops; the
/// previous one (a runtime dropped inside another's task) comes back then.
pub(crate) fn enter(driver: &Rc<DriverHandle>) -> CurrentGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(driver.clone()));
    CurrentGuard { previous }
}

/// Restores the previous current driver when dropped.
pub(crate) struct CurrentGuard {
    previous: Option<Rc<DriverHandle>>,
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// The driver serving this thread, if a runtime runs on it.
pub(crate) fn try_current() -> Option<Rc<DriverHandle>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// The driver serving this thread; panics with a clear message naming
/// `what` outside a runtime.
pub(crate) fn current(what: &str) -> Rc<DriverHandle> {
    try_current().unwrap_or_else(|| outside(what))
}

/// The panic for runtime-only calls made outside a runtime.
#[cold]
#[inline(never)]
pub(crate) fn outside(what: &str) -> ! {
    panic!(
        "coring: {what} was used outside a coring runtime; run it inside \
         Runtime::block_on, #[coring::main] or #[coring::test]"
    )
}
