//! Reading C arguments: NULL checks, length limits and UTF-8, before anything is sent.

use std::ffi::CStr;
use std::os::raw::c_char;

use foil_client::validate::MAX_STRING_BYTES;
use foil_client::{ArgumentError, ArgumentProblem, ClientError};

use crate::boundary::Failure;
use crate::types::FoilStatus;

/// A required string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid and unchanged for
/// the returned lifetime.
pub(crate) unsafe fn required<'a>(name: &str, ptr: *const c_char) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::new(
            FoilStatus::NullArgument,
            format!("{name} is NULL"),
        ));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.len() > MAX_STRING_BYTES {
        return Err(Failure::new(
            FoilStatus::ArgumentTooLong,
            format!("{name} is longer than {MAX_STRING_BYTES} bytes"),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            FoilStatus::InvalidUtf8,
            format!("{name} is not valid UTF-8 ({e})"),
        )
    })
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
/// As for [`required`].
pub(crate) unsafe fn optional<'a>(
    name: &str,
    ptr: *const c_char,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { required(name, ptr) }.map(Some)
    }
}

/// The status of an argument the client's checks refused.
pub(crate) fn argument_failure(e: ArgumentError) -> Failure {
    let status = match e.problem {
        ArgumentProblem::Empty => FoilStatus::EmptyArgument,
        ArgumentProblem::TooLong { .. } => FoilStatus::ArgumentTooLong,
        ArgumentProblem::Invalid(_) => FoilStatus::InvalidArgument,
    };
    Failure::new(status, e.to_string())
}

/// The status of a client construction error.
pub(crate) fn client_failure(e: ClientError) -> Failure {
    match e {
        ClientError::InvalidArgument(e) => argument_failure(e),
        other => Failure::new(
            FoilStatus::RuntimeError,
            format!("could not create the HTTP client: {other}"),
        ),
    }
}
