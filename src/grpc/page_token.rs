//! `ListQueue` page tokens: opaque to clients, but bound to the filter they
//! were issued for. A token is hex of a version byte, eight bytes of the
//! SHA-256 of the filter, and the queue position of the page's last item;
//! a token replayed with another filter, garbled, or holding something
//! that is not a queue position, is refused with INVALID_ARGUMENT naming
//! `page_token`. (A token is not signed: one made by hand with a
//! well-formed position only starts the page elsewhere in the same
//! filter's queue, which the caller may list anyway.)

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::review::{QueueCursor, QueueFilter, SiteScope};

const VERSION: u8 = 1;
const FINGERPRINT_BYTES: usize = 8;

fn fingerprint(filter: &QueueFilter) -> [u8; FINGERPRINT_BYTES] {
    let mut hasher = Sha256::new();
    hasher.update(format!("{:?}|{:?}|", filter.status, filter.min_priority));
    match &filter.scope {
        SiteScope::All => hasher.update(b"*"),
        SiteScope::Sites(sites) => {
            // A moderator key's sites in any order are the same scope: a
            // reload that only reorders (or repeats) them keeps its tokens.
            let mut sites: Vec<&String> = sites.iter().collect();
            sites.sort();
            sites.dedup();
            for site in sites {
                // Site ids cannot contain '|', so the sites stay apart.
                hasher.update(site.as_bytes());
                hasher.update(b"|");
            }
        }
    }
    let digest = hasher.finalize();
    let mut short = [0; FINGERPRINT_BYTES];
    short.copy_from_slice(&digest[..FINGERPRINT_BYTES]);
    short
}

pub fn encode(filter: &QueueFilter, cursor: &QueueCursor) -> String {
    let mut bytes = Vec::with_capacity(1 + FINGERPRINT_BYTES + cursor.0.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&fingerprint(filter));
    bytes.extend_from_slice(&cursor.0);
    hex::encode(bytes)
}

/// The position a token names; `None` for the empty token (the first page).
pub fn decode(filter: &QueueFilter, token: &str) -> Result<Option<QueueCursor>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let malformed = || Error::invalid_argument("page_token", "is not a token this server issued");
    let bytes = hex::decode(token).map_err(|_| malformed())?;
    match bytes.split_first() {
        Some((&VERSION, rest)) if rest.len() > FINGERPRINT_BYTES => {
            let (issued_for, position) = rest.split_at(FINGERPRINT_BYTES);
            if issued_for != fingerprint(filter) {
                return Err(Error::invalid_argument(
                    "page_token",
                    "was issued for another filter (site_id, status or min_priority)",
                ));
            }
            QueueCursor::from_bytes(position.to_vec())
                .map(Some)
                .ok_or_else(malformed)
        }
        _ => Err(malformed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Priority, ReviewStatus};

    fn filter(site: &str) -> QueueFilter {
        QueueFilter {
            scope: SiteScope::Sites(vec![site.to_string()]),
            status: ReviewStatus::Pending,
            min_priority: Priority::Low,
        }
    }

    fn cursor() -> QueueCursor {
        let mut position = vec![1, 0x80, 0, 0, 0, 0, 0, 0, 7];
        position.extend_from_slice(b"0192f3a0-7c1e-7d2a-9b1e-3f4a5b6c7d8e");
        QueueCursor::from_bytes(position).expect("a well-formed position")
    }

    #[test]
    fn tokens_round_trip_for_their_filter_only() {
        let cursor = cursor();
        let token = encode(&filter("a.example"), &cursor);
        assert_eq!(decode(&filter("a.example"), &token).unwrap(), Some(cursor));
        assert!(matches!(
            decode(&filter("b.example"), &token),
            Err(Error::InvalidArgument {
                field: "page_token",
                ..
            })
        ));
        assert_eq!(decode(&filter("a.example"), "").unwrap(), None);
    }

    /// A moderator key's sites, reordered by a reload, are the same scope;
    /// another site among them is not.
    #[test]
    fn the_order_of_a_keys_sites_does_not_change_its_tokens() {
        let sites = |names: &[&str]| QueueFilter {
            scope: SiteScope::Sites(names.iter().map(|name| name.to_string()).collect()),
            ..filter("unused")
        };
        let token = encode(&sites(&["a.example", "b.example"]), &cursor());
        for same in [
            &["b.example", "a.example"][..],
            &["a.example", "b.example", "a.example"],
        ] {
            assert_eq!(decode(&sites(same), &token).unwrap(), Some(cursor()));
        }
        assert!(decode(&sites(&["a.example", "b.example", "c.example"]), &token).is_err());
    }

    #[test]
    fn a_token_whose_position_is_not_a_queue_position_is_refused() {
        let filter = filter("a.example");
        let well_formed = cursor().0;
        let mut unknown_rank = well_formed.clone();
        unknown_rank[0] = 9;
        let mut not_an_id = well_formed.clone();
        not_an_id.truncate(QueueCursor::ID_OFFSET + 8);
        let no_id = well_formed[..QueueCursor::ID_OFFSET].to_vec();
        for position in [unknown_rank, not_an_id, no_id, vec![0]] {
            let token = encode(&filter, &QueueCursor(position.clone()));
            assert!(
                matches!(
                    decode(&filter, &token),
                    Err(Error::InvalidArgument {
                        field: "page_token",
                        ..
                    })
                ),
                "{position:?}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever a client sends as a token, the answer is a position
        /// of the right shape or INVALID_ARGUMENT naming `page_token`,
        /// never a panic.
        #[test]
        fn any_token_decodes_or_is_refused(
            token in "[0-9a-f]{0,200}|.{0,80}",
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..60),
        ) {
            let filter = filter("a.example");
            for token in [token, encode(&filter, &QueueCursor(tail))] {
                match decode(&filter, &token) {
                    Ok(None) => proptest::prop_assert!(token.is_empty()),
                    Ok(Some(cursor)) => proptest::prop_assert_eq!(
                        QueueCursor::from_bytes(cursor.0.clone()),
                        Some(cursor)
                    ),
                    Err(Error::InvalidArgument { field, .. }) => {
                        proptest::prop_assert_eq!(field, "page_token")
                    }
                    Err(other) => proptest::prop_assert!(false, "{other:?}"),
                }
            }
        }
    }

    #[test]
    fn garbage_is_refused() {
        for token in ["zz", "01", "02aabbccddeeff001122", &"0".repeat(3)] {
            assert!(
                matches!(
                    decode(&filter("a.example"), token),
                    Err(Error::InvalidArgument {
                        field: "page_token",
                        ..
                    })
                ),
                "{token}"
            );
        }
    }
}
