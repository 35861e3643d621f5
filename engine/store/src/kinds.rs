//! The ids of step kinds a writer has kept or read (both backends' writers), so that a turn's
//! steps name their kinds without asking the database: a flow has tens of kinds, and nearly
//! every step is of one the writer knows.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// A step's kind: its node, message ids and outcome (the flow's words, the same in every call).
pub(crate) type KindKey = (String, String, String);

/// A kind's words however they are held, so that a lookup by borrowed words allocates nothing.
pub(crate) trait Words {
    fn words(&self) -> (&str, &str, &str);
}

impl Words for KindKey {
    fn words(&self) -> (&str, &str, &str) {
        (&self.0, &self.1, &self.2)
    }
}

impl Words for (&str, &str, &str) {
    fn words(&self) -> (&str, &str, &str) {
        *self
    }
}

impl<'a> Borrow<dyn Words + 'a> for KindKey {
    fn borrow(&self) -> &(dyn Words + 'a) {
        self
    }
}

// A tuple of `String`s and one of `&str`s hash alike: each field as its `str`.
impl Hash for dyn Words + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.words().hash(state)
    }
}

impl PartialEq for dyn Words + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.words() == other.words()
    }
}

impl Eq for dyn Words + '_ {}

/// The ids of the step kinds this writer has kept or read. Liza never deletes a kind, and
/// both databases refuse to delete one a step names: SQLite by its foreign key (on a
/// connection with foreign keys on, as Liza's are; the `sqlite3` shell has them off),
/// PostgreSQL by a trigger (the migration `steps_unchecked`). Should one be gone all the same,
/// or its id be another kind's (a clean-up by hand, a database restored under a running
/// server; SQLite reuses the ids of deleted rows):
/// - SQLite's writer forgets every id when another connection has committed since its last
///   transaction (`PRAGMA data_version`); its foreign key catches only an id that names no
///   kind;
/// - PostgreSQL's statement that writes steps checks each step's id against its words and
///   leaves the step out, and the writer keeps the kind again.
///
/// Ids learnt in a transaction count only once it commits (it may have kept them itself); a
/// rollback forgets every id.
#[derive(Default)]
pub(crate) struct KindIds {
    committed: HashMap<KindKey, i64>,
    this_transaction: HashMap<KindKey, i64>,
}

impl KindIds {
    /// Kinds known at most: a flow has tens, and each version of a flow may add a few.
    const MOST: usize = 4096;

    pub(crate) fn get(&self, kind: &dyn Words) -> Option<i64> {
        self.this_transaction
            .get(kind)
            .or_else(|| self.committed.get(kind))
            .copied()
    }

    /// `id` is `kind`'s, from this transaction on.
    pub(crate) fn learnt(&mut self, kind: KindKey, id: i64) {
        self.this_transaction.insert(kind, id);
    }

    /// The transaction committed: what it learnt holds for the next ones.
    pub(crate) fn committed(&mut self) {
        if self.committed.len() + self.this_transaction.len() > Self::MOST {
            self.committed.clear();
        }
        self.committed.extend(self.this_transaction.drain());
    }

    pub(crate) fn forget(&mut self) {
        self.committed.clear();
        self.this_transaction.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(node: &str) -> KindKey {
        (node.to_owned(), "m".to_owned(), "ok".to_owned())
    }

    #[test]
    fn an_id_learnt_counts_in_its_transaction_and_after_it_only_once_committed() {
        let mut kinds = KindIds::default();
        kinds.learnt(key("start"), 1);
        assert_eq!(kinds.get(&("start", "m", "ok")), Some(1));
        assert_eq!(kinds.get(&("start", "m", "no")), None);
        kinds.committed();
        kinds.learnt(key("order"), 2);
        assert_eq!(kinds.get(&key("order")), Some(2));
        // A rollback: nothing learnt is trusted any more, not even what committed.
        kinds.forget();
        assert_eq!(kinds.get(&("start", "m", "ok")), None);
        assert_eq!(kinds.get(&("order", "m", "ok")), None);
    }

    #[test]
    fn the_words_are_told_apart_field_by_field() {
        let mut kinds = KindIds::default();
        kinds.learnt(("a,b".to_owned(), "c".to_owned(), "d".to_owned()), 1);
        assert_eq!(kinds.get(&("a", "b,c", "d")), None);
        assert_eq!(kinds.get(&("a,b", "c", "d")), Some(1));
    }
}
