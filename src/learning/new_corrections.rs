//! What the retrain schedule counts: the decisions labelled since the last
//! retrain started. A decision labelled again counts once, so that
//! flipping one comment's label back and forth (which a site key can do
//! with `ReportComment`) cannot start retrain after retrain.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

/// The decisions labelled since the last retrain started.
///
/// A std mutex: held to add, count or clear, never across an await.
#[derive(Debug, Default)]
pub(crate) struct NewCorrections(Mutex<HashSet<String>>);

impl NewCorrections {
    /// Counts these decisions as labelled, up to `enough` of them (what
    /// the schedule waits for: counting further would only hold memory).
    pub fn add<'a>(&self, decision_ids: impl IntoIterator<Item = &'a str>, enough: u64) {
        let mut decisions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for decision_id in decision_ids {
            if decisions.len() as u64 >= enough {
                return;
            }
            if !decisions.contains(decision_id) {
                decisions.insert(decision_id.to_string());
            }
        }
    }

    /// How many distinct decisions were labelled.
    pub fn count(&self) -> u64 {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len() as u64
    }

    /// A retrain started: it reads every correction there is.
    pub fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_labelled_again_counts_once() {
        let counted = NewCorrections::default();
        counted.add(["a", "b"], 10);
        counted.add(["a"], 10);
        counted.add(["a", "c"], 10);
        assert_eq!(counted.count(), 3);
        // Beyond what the schedule waits for, nothing more is held.
        counted.add(["d", "e", "f"], 4);
        assert_eq!(counted.count(), 4);
        counted.clear();
        assert_eq!(counted.count(), 0);
    }
}
