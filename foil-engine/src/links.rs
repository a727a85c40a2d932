//! Machine links and availability (personas.md §2 step 4 and §4).

use foil_types::persona::{Machine, MachineLink, Outcome, PersonaDocument};

/// The links leaving `machine_key` whose condition holds for a machine that finished with
/// `outcome` and `score`, in document order. Their targets are what the session unlocks.
pub fn fired_links<'d>(
    doc: &'d PersonaDocument,
    machine_key: &str,
    outcome: Outcome,
    score: i64,
) -> Vec<&'d MachineLink> {
    doc.machine_links
        .iter()
        .filter(|l| l.from_machine_key == machine_key && l.fires(outcome, score))
        .collect()
}

/// Whether `machine_key` is the target of some link (`MachineInfo.is_linked`).
pub fn is_linked(doc: &PersonaDocument, machine_key: &str) -> bool {
    doc.machine_links
        .iter()
        .any(|l| l.to_machine_key == machine_key)
}

/// The machines a player can play now, in document order: entry machines, machines no link
/// leads to, and the machines this player has unlocked (`unlocked_keys`, in any order; keys of
/// machines that no longer exist are ignored).
pub fn available_machines<'d, S: AsRef<str>>(
    doc: &'d PersonaDocument,
    unlocked_keys: &[S],
) -> Vec<&'d Machine> {
    doc.machines
        .iter()
        .filter(|m| {
            m.is_entry
                || !is_linked(doc, &m.machine_key)
                || unlocked_keys.iter().any(|k| k.as_ref() == m.machine_key)
        })
        .collect()
}

/// The persona's primary machine, used when a request names none: its first entry machine.
pub fn primary_machine(doc: &PersonaDocument) -> Option<&Machine> {
    doc.machines.iter().find(|m| m.is_entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use foil_types::persona::Limits;

    fn targets(links: &[&MachineLink]) -> Vec<String> {
        links
            .iter()
            .map(|l| format!("{}:{:?}", l.to_machine_key, l.condition_type))
            .collect()
    }

    #[test]
    fn fixture_is_valid() {
        assert_eq!(document().validate(&Limits::default()), vec![]);
    }

    #[test]
    fn outcome_and_always_links() {
        let doc = document();
        assert_eq!(
            targets(&fired_links(&doc, "order_coffee", Outcome::Accept, 3)),
            ["vip_entry:Outcome", "regular:Always"]
        );
        assert!(fired_links(&doc, "order_coffee", Outcome::Accept, 3)[0].is_auto_advance);
        assert_eq!(
            targets(&fired_links(&doc, "order_coffee", Outcome::KickOut, 0)),
            ["regular:Always"]
        );
    }

    #[test]
    fn score_links_include_their_bound() {
        let doc = document();
        // score ≥ 4
        assert_eq!(
            targets(&fired_links(&doc, "order_coffee", Outcome::Accept, 4)),
            ["vip_entry:Outcome", "regular:ScoreGte", "regular:Always"]
        );
        assert_eq!(
            targets(&fired_links(&doc, "order_coffee", Outcome::Reject, 5)),
            ["regular:ScoreGte", "regular:Always"]
        );
        // score ≤ -1 (given as the string "-1")
        assert_eq!(
            targets(&fired_links(&doc, "order_coffee", Outcome::Reject, -1)),
            ["vip_entry:ScoreLte", "regular:Always"]
        );
        assert_eq!(
            targets(&fired_links(&doc, "order_coffee", Outcome::Reject, 0)),
            ["regular:Always"]
        );
    }

    #[test]
    fn only_links_leaving_the_machine_fire() {
        let doc = document();
        assert!(fired_links(&doc, "regular", Outcome::Accept, 10).is_empty());
        assert!(fired_links(&doc, "missing", Outcome::Accept, 10).is_empty());
    }

    #[test]
    fn linked_machines() {
        let doc = document();
        assert!(is_linked(&doc, "vip_entry"));
        assert!(is_linked(&doc, "regular"));
        assert!(!is_linked(&doc, "order_coffee"));
        assert!(!is_linked(&doc, "loner"));
    }

    #[test]
    fn availability() {
        let doc = document();
        let keys = |list: Vec<&Machine>| -> Vec<String> {
            list.iter().map(|m| m.machine_key.clone()).collect()
        };
        // Entry + no incoming link.
        assert_eq!(
            keys(available_machines::<&str>(&doc, &[])),
            ["order_coffee", "loner"]
        );
        // Unlocked ones join, in document order; unknown keys are ignored.
        assert_eq!(
            keys(available_machines(&doc, &["regular", "ghost"])),
            ["order_coffee", "regular", "loner"]
        );
        assert_eq!(
            keys(available_machines(
                &doc,
                &["regular".to_string(), "vip_entry".to_string()]
            )),
            ["order_coffee", "vip_entry", "regular", "loner"]
        );
        // An entry machine stays available even when a link also leads to it.
        let mut doc = document();
        doc.machines[1].is_entry = true;
        assert_eq!(
            keys(available_machines::<&str>(&doc, &[])),
            ["order_coffee", "vip_entry", "loner"]
        );
    }

    #[test]
    fn primary_is_the_first_entry_machine() {
        let mut doc = document();
        assert_eq!(primary_machine(&doc).unwrap().machine_key, "order_coffee");
        doc.machines[0].is_entry = false;
        doc.machines[3].is_entry = true;
        assert_eq!(primary_machine(&doc).unwrap().machine_key, "loner");
        doc.machines[3].is_entry = false;
        assert!(primary_machine(&doc).is_none());
    }
}
