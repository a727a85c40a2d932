//! Small text helpers shared by the parsers and the offline provider.

use serde_json::{Map, Value};

/// Finds the first JSON object in an LLM answer. Models wrap JSON in ```json fences or add
/// prose around it despite being told not to, so this accepts any text in which a complete
/// object appears, and takes the first one. Only the first few `{` are tried, so a huge
/// hostile answer cannot make this quadratic.
pub(crate) fn first_json_object(text: &str) -> Option<Map<String, Value>> {
    const MAX_ATTEMPTS: usize = 32;
    for (start, _) in text.match_indices('{').take(MAX_ATTEMPTS) {
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        if let Some(Ok(Value::Object(map))) = stream.next() {
            return Some(map);
        }
    }
    None
}

/// At most `max` characters of `text`, with `…` when something was cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
    }
}

/// A short preview of untrusted text for error messages.
pub(crate) fn preview(text: &str) -> String {
    truncate_chars(text.trim(), 80)
}

/// Untrusted text made inert: `<` and `>` become `‹` and `›` (no tag can be closed or
/// opened), control characters other than newlines and tabs are dropped.
pub(crate) fn escape_untrusted(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .map(|c| match c {
            '<' => '‹',
            '>' => '›',
            c => c,
        })
        .collect()
}

/// [`escape_untrusted`] on one line: newlines and tabs become spaces, so the text cannot start
/// a heading or a speaker's line of its own.
pub(crate) fn one_line(text: &str) -> String {
    escape_untrusted(text)
        .split(['\n', '\t'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_complete_object() {
        let m =
            first_json_object("Sure! ```json\n{\"a\": {\"b\": 1}}\n``` and {\"c\": 2}").unwrap();
        assert_eq!(Value::Object(m), serde_json::json!({"a": {"b": 1}}));
        // A broken object first: the next complete one is used.
        let m = first_json_object("{oops {\"x\": \"}\"}").unwrap();
        assert_eq!(Value::Object(m), serde_json::json!({"x": "}"}));
        assert!(first_json_object("no json here").is_none());
        assert!(first_json_object("[1, 2]").is_none());
        assert!(first_json_object("{\"unterminated\": ").is_none());
    }

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate_chars("héllo", 5), "héllo");
        assert_eq!(truncate_chars("héllo world", 5), "héllo…");
        assert_eq!(truncate_chars("", 0), "");
    }
}
