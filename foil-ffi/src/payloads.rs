//! Payloads handed out to C, tracked so that foil_event_free() frees each exactly once: a
//! second free (of the same event or of a copy), a zeroed event or a callback's borrowed
//! event is recognised and ignored instead of corrupting the heap.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::raw::c_char;
use std::sync::Mutex;

use crate::client::QueuedEvent;
use crate::types::FoilEvent;

/// The payloads handed out, by [`key`].
static OUTSTANDING: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

/// A payload's key in [`OUTSTANDING`]: its address, bit-inverted. Leak checkers (valgrind,
/// LeakSanitizer) scan memory for values that look like pointers; storing the plain address
/// would make every payload the host forgot to free look "still reachable" instead of
/// "definitely lost", hiding the host's leak.
fn key(payload: *const c_char) -> usize {
    !(payload as usize)
}

fn lock() -> std::sync::MutexGuard<'static, BTreeSet<usize>> {
    OUTSTANDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Turns a queued event into a C event whose payload the caller owns until
/// foil_event_free().
pub(crate) fn hand_out(event: QueuedEvent) -> FoilEvent {
    let event = event.into_c();
    lock().insert(key(event.payload));
    event
}

/// Frees a payload handed out by [`hand_out`]; anything else is ignored.
pub(crate) fn release(payload: *const c_char) {
    if payload.is_null() || !lock().remove(&key(payload)) {
        return;
    }
    // SAFETY: the pointer came from `CString::into_raw` in `hand_out` and was still
    // outstanding, so this is its one and only release.
    drop(unsafe { CString::from_raw(payload.cast_mut()) });
}

/// How many payloads are handed out and not yet freed.
pub(crate) fn outstanding() -> usize {
    lock().len()
}
