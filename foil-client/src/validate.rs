//! Argument checks made before anything is sent, like the official SDKs make them.
//!
//! [`Client`](crate::Client) runs these itself; they are public so that layers above it (the
//! C functions of the native plugin, engine bindings) can refuse bad input synchronously,
//! before they hand a request to a background task.
//!
//! Rules:
//! - required strings must not be empty or only whitespace;
//! - every string is at most [`MAX_STRING_BYTES`] bytes, and a player message at most
//!   [`MAX_MESSAGE_CHARS`] characters (Unicode scalar values, as Python's `len` counts);
//! - `persona_id` and `machine_id` must be UUIDs (the API's ids are UUIDs, and they become
//!   URL path segments);
//! - optional strings that are `None`, empty or blank count as not given.

use crate::error::ArgumentError;

/// The longest accepted string argument, in bytes (the server's default body limit).
pub const MAX_STRING_BYTES: usize = 64 * 1024;
/// The longest accepted player message, in characters (the server's default).
pub const MAX_MESSAGE_CHARS: usize = 2000;

fn length(name: &'static str, value: &str) -> Result<(), ArgumentError> {
    if value.len() > MAX_STRING_BYTES {
        return Err(ArgumentError::too_long(name, MAX_STRING_BYTES, "bytes"));
    }
    Ok(())
}

/// A required string: at most [`MAX_STRING_BYTES`] bytes, not blank.
pub fn required(name: &'static str, value: &str) -> Result<(), ArgumentError> {
    length(name, value)?;
    if value.trim().is_empty() {
        return Err(ArgumentError::empty(name));
    }
    Ok(())
}

/// An optional string: `None`, empty and blank mean "not given"; otherwise at most
/// [`MAX_STRING_BYTES`] bytes. Returns the value to use.
pub fn optional<'a>(
    name: &'static str,
    value: Option<&'a str>,
) -> Result<Option<&'a str>, ArgumentError> {
    match value {
        Some(v) => {
            length(name, v)?;
            Ok(Some(v.trim()).filter(|v| !v.is_empty()))
        }
        None => Ok(None),
    }
}

/// A required id: a UUID.
pub fn id(name: &'static str, value: &str) -> Result<(), ArgumentError> {
    required(name, value)?;
    uuid::Uuid::parse_str(value.trim())
        .map_err(|_| ArgumentError::invalid(name, "must be a UUID"))?;
    Ok(())
}

/// An optional id: not given, or a UUID. Returns the value to use.
pub fn optional_id<'a>(
    name: &'static str,
    value: Option<&'a str>,
) -> Result<Option<&'a str>, ArgumentError> {
    match optional(name, value)? {
        Some(v) => {
            id(name, v)?;
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

/// A player message: required, at most [`MAX_MESSAGE_CHARS`] characters.
pub fn message(value: &str) -> Result<(), ArgumentError> {
    required("message", value)?;
    if value.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ArgumentError::too_long(
            "message",
            MAX_MESSAGE_CHARS,
            "characters",
        ));
    }
    Ok(())
}

/// Arguments of `list_machines`.
pub fn list_machines(persona_id: &str, user_session_id: &str) -> Result<(), ArgumentError> {
    id("persona_id", persona_id)?;
    required("user_session_id", user_session_id)
}

/// Arguments of `init_session`.
pub fn init_session(
    persona_id: &str,
    user_session_id: &str,
    player_name: &str,
    player_gender: &str,
    machine_id: Option<&str>,
) -> Result<(), ArgumentError> {
    id("persona_id", persona_id)?;
    required("user_session_id", user_session_id)?;
    required("player_name", player_name)?;
    required("player_gender", player_gender)?;
    optional_id("machine_id", machine_id)?;
    Ok(())
}

/// Arguments of `send_message` and `send_message_stream`.
pub fn send_message(
    persona_id: &str,
    user_session_id: &str,
    message: &str,
    machine_id: Option<&str>,
) -> Result<(), ArgumentError> {
    id("persona_id", persona_id)?;
    required("user_session_id", user_session_id)?;
    self::message(message)?;
    optional_id("machine_id", machine_id)?;
    Ok(())
}

/// Arguments of `get_session`, `get_history` and `reset`.
pub fn session(
    persona_id: &str,
    user_session_id: &str,
    machine_id: Option<&str>,
) -> Result<(), ArgumentError> {
    id("persona_id", persona_id)?;
    required("user_session_id", user_session_id)?;
    optional_id("machine_id", machine_id)?;
    Ok(())
}

/// Arguments of `validate_llm_key`.
pub fn validate_llm_key(model: Option<&str>) -> Result<(), ArgumentError> {
    optional("model", model).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ArgumentProblem;

    const ID: &str = "6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11";

    #[test]
    fn rules() {
        assert_eq!(
            required("x", " \t\n").unwrap_err().problem,
            ArgumentProblem::Empty
        );
        assert_eq!(
            required("x", "").unwrap_err().problem,
            ArgumentProblem::Empty
        );
        assert!(required("x", "a").is_ok());
        let huge = "a".repeat(MAX_STRING_BYTES + 1);
        assert!(matches!(
            required("x", &huge).unwrap_err().problem,
            ArgumentProblem::TooLong { .. }
        ));
        assert!(required("x", &huge[1..]).is_ok());
        // Characters, not bytes: 2000 two-byte characters are fine, 2001 are not.
        assert!(message(&"é".repeat(2000)).is_ok());
        assert!(matches!(
            message(&"é".repeat(2001)).unwrap_err().problem,
            ArgumentProblem::TooLong { max: 2000, .. }
        ));
        assert!(id("persona_id", ID).is_ok());
        assert!(matches!(
            id("persona_id", "../../admin").unwrap_err().problem,
            ArgumentProblem::Invalid(_)
        ));
        assert_eq!(optional_id("machine_id", None).unwrap(), None);
        assert_eq!(optional_id("machine_id", Some("  ")).unwrap(), None);
        assert_eq!(optional_id("machine_id", Some(ID)).unwrap(), Some(ID));
        assert!(optional_id("machine_id", Some("nope")).is_err());
        assert!(send_message(ID, "p1", "hi", None).is_ok());
        assert_eq!(
            send_message(ID, "p1", " ", None).unwrap_err().argument,
            "message"
        );
        assert_eq!(
            init_session(ID, "p1", "Ada", "", None)
                .unwrap_err()
                .argument,
            "player_gender"
        );
    }
}
