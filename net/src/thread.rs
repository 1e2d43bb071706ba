//! The node's threads (port of `util/thread.cpp`): each body runs under [`trace_thread`], which
//! logs the thread's start and exit and turns a panic into a log line and a call of the node's
//! [`ThreadPanicHook`] (the node then shuts down), so no thread dies unnoticed while the node
//! runs on.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Not in Core: the function inside a [`ThreadPanicHook`]: thread name, panic message.
pub type ThreadPanicFn = dyn Fn(&str, &str) + Send + Sync;

/// Not in Core: what a thread run by [`trace_thread`] calls after its body panicked, with the
/// thread's name and the panic message. The node's hook asks for a shutdown (Core's
/// `AbortNode`).
#[derive(Clone)]
pub struct ThreadPanicHook(pub Arc<ThreadPanicFn>);

impl std::fmt::Debug for ThreadPanicHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadPanicHook")
    }
}

/// Not in Core: the message of a panic payload (`panic!` with a literal or a formatted string).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Not in Core: runs `f` on this thread; if it panics, logs
/// `EXCEPTION: <message> in <name> thread; shutting down` (the form of Core's
/// `PrintExceptionContinue`) and calls `on_panic`. Returns false if `f` panicked. For threads
/// that are not Core's (one per RPC connection), which log no start and exit.
pub fn catch_thread_panic(
    name: &str,
    f: impl FnOnce(),
    on_panic: Option<&ThreadPanicHook>,
) -> bool {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => true,
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            match on_panic {
                Some(hook) => {
                    log::error!("EXCEPTION: {msg} in {name} thread; shutting down");
                    (hook.0)(name, &msg);
                }
                None => log::error!("EXCEPTION: {msg} in {name} thread; the thread stopped"),
            }
            false
        }
    }
}

/// Port of util::TraceThread (util/thread.cpp): runs `f` between `<name> thread start` and
/// `<name> thread exit` log lines. Where Core rethrows an exception (`std::terminate`: the
/// process dies), a panic is caught ([`catch_thread_panic`]): logged, then `on_panic` asks the
/// node to shut down in order.
pub fn trace_thread(name: &str, f: impl FnOnce(), on_panic: Option<&ThreadPanicHook>) {
    log::info!("{name} thread start");
    if catch_thread_panic(name, f, on_panic) {
        log::info!("{name} thread exit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A panicking body is caught on its own thread, the hook gets the thread's name and the
    /// message; a body that returns calls no hook.
    #[test]
    fn trace_thread_catches_panics() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hook = {
            let seen = seen.clone();
            ThreadPanicHook(Arc::new(move |name: &str, msg: &str| {
                seen.lock().unwrap().push(format!("{name}: {msg}"));
            }))
        };
        let h = hook.clone();
        std::thread::spawn(move || trace_thread("boom", || panic!("bad {}", 7), Some(&h)))
            .join()
            .expect("the panic did not escape the thread");
        trace_thread("calm", || {}, Some(&hook));
        assert!(!catch_thread_panic(
            "other",
            || panic!("literal"),
            Some(&hook)
        ));
        assert_eq!(
            *seen.lock().unwrap(),
            vec!["boom: bad 7".to_string(), "other: literal".to_string()]
        );
    }
}
