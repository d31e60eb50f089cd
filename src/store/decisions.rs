//! Decisions and the (site, comment) idempotency index; every write keeps
//! the review indexes (`index`) in step in the same transaction.

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::index::{Indexes, Layout};
use super::rule_state::RuleStateTrees;
use super::{transaction_error, Store, StoreError};
use crate::domain::{Decision, ReviewStatus};

/// What [`Store::insert_decision`] did.
// The value lives for one call; boxing the decision would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Inserted {
    /// The decision was new and is now stored.
    New,
    /// A decision for the same (site, comment) was already stored; it is
    /// returned and nothing was written.
    Existing(Decision),
}

/// The index key: the site id's length, then the site id and the comment id,
/// so that no pair of ids can produce the same key as another pair.
pub(super) fn comment_key(site_id: &str, comment_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + site_id.len() + comment_id.len());
    key.extend_from_slice(&(site_id.len() as u32).to_be_bytes());
    key.extend_from_slice(site_id.as_bytes());
    key.extend_from_slice(comment_id.as_bytes());
    key
}

/// The first byte of a decision compressed with deflate, as decisions were
/// stored before [`LZ4`]. A decision stored as plain JSON (as before any
/// compression) starts with `{`. All three read back.
const DEFLATED: u8 = 1;

/// The first byte of a decision compressed with LZ4, followed by the
/// JSON's length (4 bytes, little-endian) and the LZ4 block.
const LZ4: u8 = 2;

/// Decisions are stored as JSON compressed with LZ4: about 70% of its size
/// (970 bytes for 1,366 on average over `youtube_test` comments, where
/// deflate at level 1 stored 723).
/// sled rewrites a whole tree node (up to 16 values) when it consolidates
/// one, so the size of a value is multiplied in what each write costs the
/// disk and the page cache.
///
/// LZ4 replaced deflate (level 1), which stored a typical decision of
/// 1.2 KB of JSON in about 600 bytes but took most of the encoding's time:
/// miniz_oxide zeroes some 300 KB of tables for every value it compresses.
pub(super) fn encode(decision: &Decision) -> Result<Vec<u8>, StoreError> {
    // Room for the comment and about a kilobyte of the rest (ids, reasons,
    // author and context) from the start, so that the buffer seldom grows
    // while it is written.
    let mut json = Vec::with_capacity(decision.comment.content.len() + 1536);
    serde_json::to_writer(&mut json, decision).map_err(|error| StoreError::Corrupt {
        key: decision.decision_id.clone(),
        message: error.to_string(),
    })?;
    let mut value = vec![0; 5 + lz4_flex::block::get_maximum_output_size(json.len())];
    value[0] = LZ4;
    // A decision's JSON is far below 4 GiB: the request limits bound its
    // fields (see `limits`), and `decode` refuses more than
    // [`MAX_DECISION_BYTES`].
    value[1..5].copy_from_slice(&(json.len() as u32).to_le_bytes());
    let written = lz4_flex::block::compress_into(&json, &mut value[5..]).map_err(|error| {
        StoreError::Corrupt {
            key: decision.decision_id.clone(),
            message: format!("cannot compress the decision: {error}"),
        }
    })?;
    value.truncate(5 + written);
    Ok(value)
}

/// A decision's value is at most this large once inflated: the largest
/// comment with every field full is far below it, so a larger one is
/// corrupt, not a decision.
const MAX_DECISION_BYTES: usize = 16 * 1024 * 1024;

pub(super) fn decode(key: &[u8], bytes: &[u8]) -> Result<Decision, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message,
    };
    let inflated;
    let json = match bytes.split_first() {
        Some((&DEFLATED, deflated)) => {
            inflated =
                miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, MAX_DECISION_BYTES)
                    .map_err(|error| corrupt(format!("cannot inflate the decision: {error}")))?;
            inflated.as_slice()
        }
        Some((&LZ4, compressed)) => {
            inflated = decompress_lz4(compressed).map_err(corrupt)?;
            inflated.as_slice()
        }
        _ => bytes,
    };
    serde_json::from_slice(json).map_err(|error| corrupt(error.to_string()))
}

/// Reads back what [`encode`] compressed: the JSON's length, then the LZ4
/// block. The length is checked before anything is allocated for it, so a
/// damaged value cannot ask for gigabytes.
fn decompress_lz4(compressed: &[u8]) -> Result<Vec<u8>, String> {
    let Some((length, block)) = compressed.split_first_chunk::<4>() else {
        return Err("the compressed decision has no length".to_string());
    };
    let length = u32::from_le_bytes(*length) as usize;
    // LZ4 shortens a text at most about 255 times: a claim beyond that is
    // damage, refused before its buffer is allocated.
    if length > MAX_DECISION_BYTES || length > block.len().saturating_mul(255) + 16 {
        return Err(format!(
            "the compressed decision claims {length} bytes, more than its {} bytes of LZ4 \
             can hold or than {MAX_DECISION_BYTES}",
            block.len()
        ));
    }
    let json = lz4_flex::block::decompress(block, length)
        .map_err(|error| format!("cannot decompress the decision: {error}"))?;
    if json.len() != length {
        return Err(format!(
            "the compressed decision holds {} bytes, not the {length} it claims",
            json.len()
        ));
    }
    Ok(json)
}

/// The trees a decision write touches: the decision, its comment index
/// entry and its review index entries.
pub(super) struct DecisionTrees<'a> {
    pub layout: Layout,
    /// Decisions, comments, queue, queue counts, timeline, statistics.
    pub trees: (
        &'a sled::Tree,
        &'a sled::Tree,
        &'a sled::Tree,
        &'a sled::Tree,
        &'a sled::Tree,
        &'a sled::Tree,
    ),
}

/// A decision ready to be stored: its comment index key and its value.
pub(super) struct Encoded {
    comment_key: Vec<u8>,
    value: Vec<u8>,
}

/// Encodes a decision for [`insert_encoded`]; the caller's thread does this
/// work, not the writer's.
pub(super) fn encode_for_insert(decision: &Decision) -> Result<Encoded, StoreError> {
    Ok(Encoded {
        comment_key: comment_key(&decision.comment.site_id, &decision.comment.comment_id),
        value: encode(decision)?,
    })
}

/// Stores each decision unless one exists for its (site, comment), in one
/// transaction with its comment index entry and review index entries; one
/// answer per decision, in order. A comment that appears twice in the batch
/// is stored once: the transaction reads its own writes. The outer error
/// means nothing was stored; an inner one that the transaction committed
/// but the decision stored before for that comment could not be read.
pub(super) fn insert_encoded(
    trees: DecisionTrees<'_>,
    batch: &[(&Decision, &Encoded)],
) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
    let layout = trees.layout;
    let existing_ids = trees
        .trees
        .transaction(
            |(decisions, comments, queue, counts, timeline, statistics)| {
                let indexes = Indexes::of(layout, (queue, counts, timeline, statistics));
                let mut existing_ids = Vec::with_capacity(batch.len());
                for (decision, encoded) in batch {
                    if let Some(existing) = comments.get(&encoded.comment_key)? {
                        // The stored decision is read in the same
                        // transaction as its index entry: read after it, a
                        // `ForgetComment` in between would make a retry
                        // look like a broken index.
                        let stored = decisions.get(&existing)?;
                        existing_ids.push(Some((existing, stored)));
                        continue;
                    }
                    let id = decision.decision_id.as_bytes();
                    comments.insert(encoded.comment_key.as_slice(), id)?;
                    decisions.insert(id, encoded.value.as_slice())?;
                    indexes.add(decision)?;
                    existing_ids.push(None);
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(existing_ids)
            },
        )
        .map_err(transaction_error)?;
    Ok(existing_ids
        .into_iter()
        .map(|existing| match existing {
            None => Ok(Inserted::New),
            Some((existing_id, Some(bytes))) => {
                Ok(Inserted::Existing(decode(&existing_id, &bytes)?))
            }
            Some((existing_id, None)) => Err(StoreError::Corrupt {
                key: String::from_utf8_lossy(&existing_id).into_owned(),
                message: "the comment index points at a missing decision".to_string(),
            }),
        })
        .collect())
}

fn decision_by_id(
    decisions: &sled::Tree,
    decision_id: &str,
) -> Result<Option<Decision>, StoreError> {
    decisions
        .get(decision_id.as_bytes())?
        .map(|bytes| decode(decision_id.as_bytes(), &bytes))
        .transpose()
}

impl Store {
    pub(super) fn decision_trees(&self) -> DecisionTrees<'_> {
        let inner = &self.inner;
        DecisionTrees {
            layout: inner.layout,
            trees: (
                &inner.decisions,
                &inner.comments,
                &inner.queue,
                &inner.queue_counts,
                &inner.timeline,
                &inner.statistics,
            ),
        }
    }

    /// Stores a new decision unless one exists for its (site, comment); the
    /// decision, its comment index entry and its review index entries are
    /// written in one transaction. Call [`Store::durable`] before
    /// acknowledging. Checks use [`Store::write_decision`] instead, which
    /// shares a transaction with concurrent checks.
    pub fn insert_decision(&self, decision: &Decision) -> Result<Inserted, StoreError> {
        let mut results = self.insert_decisions(std::slice::from_ref(decision))?;
        Ok(results
            .pop()
            .expect("insert_decisions answers once per decision"))
    }

    /// [`Store::insert_decision`] for many decisions in one transaction (an
    /// import, or filling a benchmark database); one answer per decision, in
    /// order.
    pub fn insert_decisions(&self, batch: &[Decision]) -> Result<Vec<Inserted>, StoreError> {
        let encoded = batch
            .iter()
            .map(encode_for_insert)
            .collect::<Result<Vec<_>, StoreError>>()?;
        let pairs: Vec<(&Decision, &Encoded)> = batch.iter().zip(&encoded).collect();
        insert_encoded(self.decision_trees(), &pairs)?
            .into_iter()
            .collect()
    }

    /// Overwrites a stored decision (same id), points its (site, comment)
    /// at it and moves its review index entries, in one transaction, and
    /// returns the decision as stored. Call [`Store::durable`] before
    /// acknowledging.
    ///
    /// A person's label outranks the model's: when the stored decision has
    /// a label that stands for `decision`'s comment (see
    /// `Decision::label_stands_for`), its status and resolution are kept,
    /// whatever `decision` says. A recheck reads the decision long before
    /// it writes (it scores in between), and a resolution committed in that
    /// window must not be undone by the recheck's older copy. Nor may that
    /// copy bring back a label the stored decision no longer has (another
    /// recheck withdrew it) or one that does not stand for the comment: a
    /// `decision` with a resolution that the stored one does not confirm is
    /// stored with none, and its verdict's status.
    /// The comment is moved in its authors' histories in the same
    /// transaction (see `RuleStateTrees::move_author_comment`).
    /// Gives the decision it replaced and the decision as stored; when no
    /// decision has `decision`'s id (its comment was forgotten since it was
    /// read), nothing is written, and it gives `None` and `decision`.
    pub fn replace_decision(
        &self,
        decision: &Decision,
    ) -> Result<(Option<Decision>, Decision), StoreError> {
        let key = comment_key(&decision.comment.site_id, &decision.comment.comment_id);
        let id = decision.decision_id.as_bytes();
        let layout = self.inner.layout;
        let (decisions, comments, queue, counts, timeline, statistics) =
            self.decision_trees().trees;
        (
            decisions,
            comments,
            queue,
            counts,
            timeline,
            statistics,
            &self.inner.rule_state.authors,
        )
            .transaction(
                |(decisions, comments, queue, counts, timeline, statistics, authors)| {
                    let old = decisions
                        .get(id)?
                        .map(|bytes| decode(id, &bytes))
                        .transpose()
                        .map_err(ConflictableTransactionError::Abort)?;
                    // Forgotten since the caller read it: nothing to
                    // replace, and nothing is written.
                    if old.is_none() {
                        return Ok((None, decision.clone()));
                    }
                    let mut stored = decision.clone();
                    // A recheck sets no label: the count of those people
                    // set stays, whatever happens to the resolution.
                    if let Some(old) = &old {
                        stored.labels_set = old.labels_set;
                    }
                    match &old {
                        Some(resolved) if resolved.label_stands_for(&decision.comment) => {
                            stored.status = resolved.status;
                            stored.resolution = resolved.resolution.clone();
                        }
                        _ if stored.resolution.is_some() => {
                            stored.status = ReviewStatus::initial_for(stored.assessment.verdict);
                            stored.resolution = None;
                        }
                        _ => {}
                    }
                    let value = encode(&stored).map_err(ConflictableTransactionError::Abort)?;
                    comments.insert(key.as_slice(), id)?;
                    decisions.insert(id, value.as_slice())?;
                    Indexes::of(layout, (queue, counts, timeline, statistics))
                        .replace(old.as_ref(), &stored)?;
                    if let Some(replaced) = &old {
                        let (from, to) = (
                            crate::rules::counted_as(replaced),
                            crate::rules::counted_as(&stored),
                        );
                        RuleStateTrees::move_author_comment(
                            authors,
                            &stored.comment.site_id,
                            (&from.0, from.1, from.2),
                            (&to.0, to.1, to.2),
                        )?;
                    }
                    Ok((old, stored))
                },
            )
            .map_err(transaction_error)
    }

    pub fn decision(&self, decision_id: &str) -> Result<Option<Decision>, StoreError> {
        decision_by_id(&self.inner.decisions, decision_id)
    }

    pub fn decision_for_comment(
        &self,
        site_id: &str,
        comment_id: &str,
    ) -> Result<Option<Decision>, StoreError> {
        match self.inner.comments.get(comment_key(site_id, comment_id))? {
            Some(id) => self.decision(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// How many decisions are stored.
    pub fn decision_count(&self) -> usize {
        self.inner.decisions.len()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::store) use crate::domain::test_support::decision;

    #[test]
    fn a_decision_is_stored_compressed_and_reads_back() {
        let mut original = decision("d1", "news", "c1");
        original.comment.content = "A comment that repeats itself. ".repeat(20);
        let value = encode(&original).unwrap();
        assert_eq!(value[0], LZ4);
        let json = serde_json::to_vec(&original).unwrap();
        assert!(
            value.len() * 2 < json.len(),
            "{} against {}",
            value.len(),
            json.len()
        );
        assert_eq!(decode(b"d1", &value).unwrap(), original);
    }

    #[test]
    fn an_incompressible_decision_reads_back() {
        // Text that LZ4 cannot shorten: the value is then a little larger
        // than the JSON, and must still come back whole.
        let mut noisy = decision("d1", "news", "c1");
        noisy.comment.content = (0..20_000u32)
            .map(|index| char::from(b'a' + (index.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
            .collect();
        let small = decision("d2", "news", "c2");
        for original in [&noisy, &small] {
            let value = encode(original).unwrap();
            assert_eq!(&decode(b"d", &value).unwrap(), original);
        }
    }

    #[test]
    fn a_decision_stored_as_plain_json_still_reads() {
        let original = decision("d1", "news", "c1");
        let json = serde_json::to_vec(&original).unwrap();
        assert_eq!(decode(b"d1", &json).unwrap(), original);
    }

    #[test]
    fn a_decision_stored_with_deflate_still_reads() {
        // Databases written before LZ4 hold raw deflate after the tag.
        let original = decision("d1", "news", "c1");
        let json = serde_json::to_vec(&original).unwrap();
        let mut value = vec![DEFLATED];
        value.extend(miniz_oxide::deflate::compress_to_vec(&json, 1));
        assert_eq!(decode(b"d1", &value).unwrap(), original);
    }

    #[test]
    fn a_damaged_compressed_decision_is_corrupt_not_a_panic() {
        let value = encode(&decision("d1", "news", "c1")).unwrap();
        let corrupt =
            |value: &[u8]| matches!(decode(b"d1", value), Err(StoreError::Corrupt { .. }));
        assert!(corrupt(&value[..value.len() / 2]), "a truncated block");
        assert!(corrupt(&value[..3]), "a truncated length");
        let mut claims_too_much = value.clone();
        claims_too_much[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(corrupt(&claims_too_much), "a length beyond the limit");
        let mut claims_more = value.clone();
        let length = u32::from_le_bytes(value[1..5].try_into().unwrap());
        claims_more[1..5].copy_from_slice(&(length + 1).to_le_bytes());
        assert!(corrupt(&claims_more), "a length the block does not fill");
        let mut deflated = vec![DEFLATED];
        deflated.extend(miniz_oxide::deflate::compress_to_vec(
            b"{\"decision_id\"",
            1,
        ));
        deflated.truncate(deflated.len() / 2);
        assert!(corrupt(&deflated), "a truncated deflate stream");
    }

    #[tokio::test]
    async fn decisions_are_found_by_id_and_comment_after_reopening() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = Store::open(directory.path()).unwrap();
            assert!(matches!(
                store.insert_decision(&decision("d1", "s", "c1")).unwrap(),
                Inserted::New
            ));
            store.durable().await.unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        assert_eq!(
            store.decision("d1").unwrap().unwrap().comment.comment_id,
            "c1"
        );
        assert_eq!(
            store
                .decision_for_comment("s", "c1")
                .unwrap()
                .unwrap()
                .decision_id,
            "d1"
        );
        assert!(store.decision("d2").unwrap().is_none());
        assert!(store.decision_for_comment("s", "c2").unwrap().is_none());
    }

    #[tokio::test]
    async fn the_same_comment_is_stored_once() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        store.insert_decision(&decision("d1", "s", "c1")).unwrap();
        match store.insert_decision(&decision("d2", "s", "c1")).unwrap() {
            Inserted::Existing(existing) => assert_eq!(existing.decision_id, "d1"),
            Inserted::New => panic!("a second decision was stored for the same comment"),
        }
        assert!(store.decision("d2").unwrap().is_none());
        assert_eq!(store.decision_count(), 1);
    }

    #[test]
    fn index_keys_of_different_pairs_differ() {
        assert_ne!(comment_key("ab", "c"), comment_key("a", "bc"));
    }

    #[tokio::test]
    async fn many_concurrent_writers_are_all_made_durable() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let mut tasks = Vec::new();
        for index in 0..64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("d{index}");
                store.insert_decision(&decision(&id, "s", &id)).unwrap();
                store.durable().await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(store.decision_count(), 64);
        // The open store counts what it holds in memory too; only a fresh
        // open of the directory shows what the acknowledged writes left on
        // disk.
        drop(store);
        let store = Store::reopen(directory.path()).unwrap();
        assert_eq!(store.decision_count(), 64);
        for index in 0..64 {
            let id = format!("d{index}");
            assert!(
                store.decision(&id).unwrap().is_some(),
                "decision {id} is lost after reopening"
            );
        }
    }
}
