//! `{{player_name}}`, `{{player_gender}}` and `{{var.KEY}}` templates (personas.md §2 step 5).

use std::collections::BTreeMap;

use foil_types::persona::PersonaDocument;

/// The values templates are filled with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateVars {
    /// `{{player_name}}`.
    pub player_name: String,
    /// `{{player_gender}}` (`female`, `male` or `non-binary`).
    pub player_gender: String,
    /// `{{var.KEY}}`: persona variables and the player's extracted output variables.
    pub vars: BTreeMap<String, String>,
}

impl TemplateVars {
    /// Values for a player, with no variables yet.
    pub fn new(player_name: impl Into<String>, player_gender: impl Into<String>) -> Self {
        TemplateVars {
            player_name: player_name.into(),
            player_gender: player_gender.into(),
            vars: BTreeMap::new(),
        }
    }

    /// Adds the persona variables' default values (variables without one are left out, so they
    /// fill as empty). Call before [`TemplateVars::with_vars`] so the player's own values win.
    pub fn with_persona_defaults(mut self, doc: &PersonaDocument) -> Self {
        for v in &doc.variables {
            if let Some(value) = &v.default_value {
                self.vars.insert(v.key.clone(), value.clone());
            }
        }
        self
    }

    /// Adds (or overrides) variables, e.g. the output variables extracted for this player.
    pub fn with_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.vars
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }
}

/// Fills the templates in `text`: `{{player_name}}`, `{{player_gender}}` and `{{var.KEY}}`
/// (an unknown variable fills as the empty string). Spaces inside the braces are allowed
/// (`{{ var.town }}`). Anything else between double braces is left as written, so authors can
/// use braces for their own purposes.
///
/// One pass, no recursion: a value that itself contains `{{...}}` (say, a player who calls
/// themselves `{{var.secret}}`) is inserted literally, never expanded.
pub fn fill_template(text: &str, vars: &TemplateVars) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            // No closing braces anywhere after this point: the rest is plain text.
            rest = &rest[open..];
            break;
        };
        let name = after[..close].trim();
        let value = match name {
            "player_name" => Some(vars.player_name.as_str()),
            "player_gender" => Some(vars.player_gender.as_str()),
            _ => name
                .strip_prefix("var.")
                .map(|key| vars.vars.get(key.trim()).map_or("", String::as_str)),
        };
        match value {
            Some(v) => {
                // Values may come from the player (the name, extracted variables): inserted
                // on one line and escaped, never as structure.
                out.push_str(&crate::text::one_line(v));
                rest = &after[close + 2..];
            }
            None => {
                // Not ours: keep the braces and look for a template after them.
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::document;

    fn vars() -> TemplateVars {
        TemplateVars::new("Ada", "female").with_vars([("town", "Riverside"), ("drink", "mocha")])
    }

    #[test]
    fn fills_player_fields_and_variables() {
        assert_eq!(
            fill_template(
                "Hello {{player_name}} ({{player_gender}}) from {{var.town}}, one {{var.drink}}?",
                &vars()
            ),
            "Hello Ada (female) from Riverside, one mocha?"
        );
    }

    #[test]
    fn tolerates_spaces_inside_braces() {
        assert_eq!(
            fill_template("{{ player_name }}|{{  var.town}}|{{var. drink }}", &vars()),
            "Ada|Riverside|mocha"
        );
    }

    #[test]
    fn unknown_variables_fill_empty() {
        assert_eq!(fill_template("[{{var.nothing}}]", &vars()), "[]");
    }

    #[test]
    fn other_braces_are_left_alone() {
        assert_eq!(
            fill_template("{{weather}} and {{player_name}}", &vars()),
            "{{weather}} and Ada"
        );
        assert_eq!(fill_template("a {{ b", &vars()), "a {{ b");
        assert_eq!(fill_template("}} {{", &vars()), "}} {{");
        assert_eq!(
            fill_template("{{{{player_name}}}}", &vars()),
            "{{Ada}}",
            "the innermost complete template is filled"
        );
        assert_eq!(fill_template("", &vars()), "");
    }

    #[test]
    fn values_are_not_expanded_again() {
        let v = TemplateVars::new("{{var.secret}}", "male").with_vars([("secret", "hunter2")]);
        assert_eq!(
            fill_template("I am {{player_name}}", &v),
            "I am {{var.secret}}"
        );
    }

    #[test]
    fn handles_non_ascii_text() {
        assert_eq!(
            fill_template(
                "Bienvenue, {{player_name}} — café? ☕ {{var.town}}",
                &vars()
            ),
            "Bienvenue, Ada — café? ☕ Riverside"
        );
    }

    #[test]
    fn persona_defaults_are_overridden_by_player_values() {
        let doc = document();
        let v = TemplateVars::new("Ada", "female").with_persona_defaults(&doc);
        assert_eq!(fill_template("{{var.town}}", &v), "Riverside");
        let v = v.with_vars([("town".to_string(), "Hollowmere".to_string())]);
        assert_eq!(fill_template("{{var.town}}", &v), "Hollowmere");
    }
}
