//! [`ShutdownHandle`]: stops every core of a launcher run. Each core's main
//! future races a [`StopSignal`]; when it fires the main future is dropped
//! (cancelling its ops), the core's runtime drains its completions, and the
//! thread ends.

use futures::task::AtomicWaker;
use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

/// Stops all cores of a launcher run (cloneable, `Send`).
#[derive(Clone)]
pub struct ShutdownHandle {
    pub(crate) state: Arc<StopState>,
}

pub(crate) struct StopState {
    stopped: AtomicBool,
    wakers: Vec<AtomicWaker>,
}

impl StopState {
    pub(crate) fn new(cores: usize) -> Arc<Self> {
        Arc::new(StopState {
            stopped: AtomicBool::new(false),
            wakers: (0..cores).map(|_| AtomicWaker::new()).collect(),
        })
    }
}

impl ShutdownHandle {
    /// Asks every core to stop. Returns at once; the launcher's `run`
    /// returns when all cores have drained and their threads ended.
    pub fn shutdown(&self) {
        if !self.state.stopped.swap(true, Ordering::SeqCst) {
            tracing::info!("shutdown requested; stopping all cores");
        }
        for w in &self.state.wakers {
            w.wake();
        }
    }

    /// Whether shutdown was requested.
    pub fn is_shutdown(&self) -> bool {
        self.state.stopped.load(Ordering::SeqCst)
    }

    /// Resolves when shutdown is requested (wakes the core at `index`).
    pub(crate) fn signal(&self, index: usize) -> StopSignal {
        StopSignal {
            state: self.state.clone(),
            index,
        }
    }
}

/// Resolves once shutdown was requested.
pub(crate) struct StopSignal {
    state: Arc<StopState>,
    index: usize,
}

impl Future for StopSignal {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.stopped.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        self.state.wakers[self.index].register(cx.waker());
        if self.state.stopped.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
