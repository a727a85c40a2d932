//! Why a draft could not be made (its own file so `error.rs` can convert it without depending
//! on the generation code).

use foil_llm::LlmError;

/// Why a draft could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GenerateError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The model's answer was unusable twice.
    #[error("the model did not produce a usable {0}")]
    Unusable(&'static str),
}
