//! The panic boundary and the last-error records.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use crate::types::FoilStatus;

/// A failed call: its status and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: FoilStatus,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(status: FoilStatus, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
}

/// The last failure seen by one client or one thread.
#[derive(Debug)]
pub(crate) struct LastError {
    status: FoilStatus,
    message: String,
}

impl LastError {
    pub(crate) const fn new() -> Self {
        LastError {
            status: FoilStatus::Ok,
            message: String::new(),
        }
    }
}

thread_local! {
    static THREAD_LAST: RefCell<LastError> = const { RefCell::new(LastError::new()) };
}

/// Records `failure` as the calling thread's last failure.
pub(crate) fn set_thread_error(failure: &Failure) {
    // `try_with`: during thread teardown the slot may be gone; losing the record is fine.
    let _ = THREAD_LAST.try_with(|slot| {
        if let Ok(mut last) = slot.try_borrow_mut() {
            last.status = failure.status;
            last.message.clear();
            last.message.push_str(&failure.message);
        }
    });
}

/// Records `failure` in a client's record.
pub(crate) fn set_client_error(record: &Mutex<LastError>, failure: &Failure) {
    let mut last = record.lock().unwrap_or_else(|p| p.into_inner());
    last.status = failure.status;
    last.message.clear();
    last.message.push_str(&failure.message);
}

/// Reads the calling thread's last failure.
pub(crate) fn with_thread_error<R>(f: impl FnOnce(FoilStatus, &str) -> R) -> R {
    let mut f = Some(f);
    let result = THREAD_LAST.try_with(|slot| match slot.try_borrow() {
        Ok(last) => f.take().map(|f| f(last.status, &last.message)),
        Err(_) => None,
    });
    match (result, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => f(FoilStatus::Ok, ""),
        (_, None) => unreachable!("the closure ran or is still here"),
    }
}

/// Reads a client's last failure.
pub(crate) fn with_client_error<R>(
    record: &Mutex<LastError>,
    f: impl FnOnce(FoilStatus, &str) -> R,
) -> R {
    let last = record.lock().unwrap_or_else(|p| p.into_inner());
    f(last.status, &last.message)
}

/// Runs an exported function's body. A panic inside becomes `on_panic` (and the thread's last
/// error, status FOIL_STATUS_PANIC) instead of unwinding into the caller, which would abort
/// the game.
pub(crate) fn boundary<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            // Dropping a panic payload can itself panic (in theory); never let that escape.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            set_thread_error(&Failure::new(
                FoilStatus::Panic,
                format!("internal error (panic) in the Foil library: {what}"),
            ));
            on_panic
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_values() {
        let r = boundary(FoilStatus::Panic, || -> FoilStatus { panic!("boom") });
        assert_eq!(r, FoilStatus::Panic);
        with_thread_error(|status, message| {
            assert_eq!(status, FoilStatus::Panic);
            assert!(message.contains("boom"), "{message}");
        });
        assert_eq!(boundary(0u64, || 7u64), 7);
    }
}
