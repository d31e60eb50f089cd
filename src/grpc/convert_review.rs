//! Free functions between prost messages and the review workflow's types
//! (`ListQueue`, `ResolveItems`, `ReportComment`, `GetStats`), with their
//! validation: anything malformed becomes INVALID_ARGUMENT naming its field.

use prost::Message;

use super::convert::{
    check_decision_id, check_length, decision_to_proto, label_to_proto, time_from_proto,
    time_to_proto, verdict_to_proto,
};
use super::{page_token, pb};
use crate::domain::{Label, Priority, ReviewStatus, UnixMillis};
use crate::error::Error;
use crate::limits::{
    DEFAULT_PAGE_SIZE, MAX_MODERATOR_NAME_BYTES, MAX_NOTE_BYTES, MAX_PAGE_SIZE,
    MAX_QUEUE_PAGE_BYTES, MAX_RESOLVE_ANSWER_COMMENT_BYTES, MAX_RESOLVE_IDS,
};
use crate::review::{Correction, CorrectionSource, QueueCursor, QueueFilter, QueuePage, SiteScope};
use crate::review_operations::Resolve;
use crate::stats::Tally;

/// A person's label: HAM or SPAM; anything else names `field`.
pub fn label_from_proto(field: &'static str, value: i32) -> Result<Label, Error> {
    match pb::Label::try_from(value) {
        Ok(pb::Label::Ham) => Ok(Label::Ham),
        Ok(pb::Label::Spam) => Ok(Label::Spam),
        Ok(pb::Label::Unspecified) | Err(_) => Err(Error::invalid_argument(
            field,
            "must be LABEL_HAM or LABEL_SPAM",
        )),
    }
}

fn status_from_proto(value: i32) -> Result<ReviewStatus, Error> {
    match pb::ReviewStatus::try_from(value) {
        Ok(pb::ReviewStatus::Unspecified) | Ok(pb::ReviewStatus::Pending) => {
            Ok(ReviewStatus::Pending)
        }
        Ok(pb::ReviewStatus::Approved) => Ok(ReviewStatus::Approved),
        Ok(pb::ReviewStatus::Rejected) => Ok(ReviewStatus::Rejected),
        Err(_) => Err(Error::invalid_argument(
            "status",
            format!("{value} is not a ReviewStatus"),
        )),
    }
}

fn min_priority_from_proto(value: i32) -> Result<Priority, Error> {
    match pb::Priority::try_from(value) {
        Ok(pb::Priority::Unspecified) | Ok(pb::Priority::Low) => Ok(Priority::Low),
        Ok(pb::Priority::Medium) => Ok(Priority::Medium),
        Ok(pb::Priority::High) => Ok(Priority::High),
        Err(_) => Err(Error::invalid_argument(
            "min_priority",
            format!("{value} is not a Priority"),
        )),
    }
}

/// A checked `ListQueue` request: the filter (over the sites `scope`
/// allows), where to start and how many items.
pub fn queue_request_from_proto(
    request: &pb::ListQueueRequest,
    scope: SiteScope,
) -> Result<(QueueFilter, Option<QueueCursor>, usize), Error> {
    // A larger page is served as the largest one, as the contract's "at
    // most 500" reads and as gRPC APIs commonly treat a page size: a
    // client asking for everything at once gets the first 500 and a token
    // for the rest, not an error.
    let page_size = match request.page_size as usize {
        0 => DEFAULT_PAGE_SIZE,
        size => size.min(MAX_PAGE_SIZE),
    };
    let filter = QueueFilter {
        scope,
        status: status_from_proto(request.status)?,
        min_priority: min_priority_from_proto(request.min_priority)?,
    };
    let cursor = page_token::decode(&filter, &request.page_token)?;
    Ok((filter, cursor, page_size))
}

/// Bytes of a `ListQueue` answer besides its items, at most: a page token
/// (under 200 bytes: 9 bytes of header, a position of 45, in hex) and the
/// total.
const PAGE_ENVELOPE_BYTES: usize = 1024;

/// A page as an answer of at most [`MAX_QUEUE_PAGE_BYTES`]: when the
/// items would take more, the page ends after the last item that fits
/// (always after one item at least) and its token continues from there.
pub fn queue_page_to_proto(filter: &QueueFilter, page: &QueuePage) -> pb::ListQueueResponse {
    let mut items = Vec::with_capacity(page.items.len());
    // Room for the token and the total, which follow the items.
    let mut bytes = PAGE_ENVELOPE_BYTES;
    let mut next = page.next.clone();
    for (index, decision) in page.items.iter().enumerate() {
        let item = decision_to_proto(decision);
        // The item's bytes inside the answer: its tag, length and body.
        let body = item.encoded_len();
        let item_bytes = 1 + prost::length_delimiter_len(body) + body;
        if index > 0 && bytes + item_bytes > MAX_QUEUE_PAGE_BYTES {
            next = Some(QueueCursor::of(&page.items[index - 1]));
            break;
        }
        bytes += item_bytes;
        items.push(item);
    }
    pb::ListQueueResponse {
        items,
        next_page_token: next
            .as_ref()
            .map(|cursor| page_token::encode(filter, cursor))
            .unwrap_or_default(),
        total: page.total,
    }
}

pub fn check_note(note: &str) -> Result<(), Error> {
    check_length("note", note, MAX_NOTE_BYTES)
}

/// A checked `ResolveItems` request: 1 to `MAX_RESOLVE_IDS` well-formed
/// ids (repeats are resolved once), a label, a short name and note.
pub fn resolve_from_proto(request: pb::ResolveItemsRequest) -> Result<Resolve, Error> {
    if request.decision_ids.is_empty() {
        return Err(Error::invalid_argument(
            "decision_ids",
            "must name at least one decision",
        ));
    }
    if request.decision_ids.len() > MAX_RESOLVE_IDS {
        return Err(Error::invalid_argument(
            "decision_ids",
            format!(
                "has {} ids; the limit is {MAX_RESOLVE_IDS}",
                request.decision_ids.len()
            ),
        ));
    }
    let mut decision_ids: Vec<String> = Vec::with_capacity(request.decision_ids.len());
    for decision_id in request.decision_ids {
        check_decision_id("decision_ids", &decision_id)?;
        if !decision_ids.contains(&decision_id) {
            decision_ids.push(decision_id);
        }
    }
    let label = label_from_proto("label", request.label)?;
    check_length("moderator", &request.moderator, MAX_MODERATOR_NAME_BYTES)?;
    if request.moderator.chars().any(char::is_control) {
        return Err(Error::invalid_argument(
            "moderator",
            "must not contain control characters",
        ));
    }
    check_note(&request.note)?;
    Ok(Resolve {
        decision_ids,
        label,
        moderator: request.moderator,
        note: request.note,
        // The API carries no revisions: a client labels the comment as it is.
        shown: Default::default(),
    })
}

/// The resolved decisions: each in full while the answer stays within
/// [`MAX_RESOLVE_ANSWER_COMMENT_BYTES`], else without its stored comment,
/// else without its reasons too (the labels are applied either way; an
/// answer the client refuses would look like a failure).
pub fn resolve_response_to_proto(
    decisions: &[crate::domain::Decision],
) -> pb::ResolveItemsResponse {
    let mut bytes = 0;
    let decisions = decisions
        .iter()
        .map(|decision| {
            let fits = |item: &pb::Decision, bytes: usize| {
                bytes + item.encoded_len() <= MAX_RESOLVE_ANSWER_COMMENT_BYTES
            };
            let mut item = decision_to_proto(decision);
            if !fits(&item, bytes) {
                item.content = String::new();
                item.author = None;
                item.context = None;
                item.form = None;
                item.comment_omitted = true;
                if !fits(&item, bytes) {
                    item.reasons.clear();
                }
            }
            bytes += item.encoded_len();
            item
        })
        .collect();
    pb::ResolveItemsResponse { decisions }
}

/// `since` of a `GetStats` request; unset means from the beginning.
pub fn since_from_proto(
    since: Option<&prost_types::Timestamp>,
) -> Result<Option<UnixMillis>, Error> {
    since.map(|time| time_from_proto("since", time)).transpose()
}

pub fn stats_to_proto(site_id: &str, since: Option<UnixMillis>, tally: &Tally) -> pb::Stats {
    pb::Stats {
        site_id: site_id.to_string(),
        since: since.map(time_to_proto),
        total: tally.total,
        verdicts: Some(pb::VerdictCounts {
            allow: tally.allow,
            review: tally.review,
            reject: tally.reject,
        }),
        statuses: Some(pb::StatusCounts {
            pending: tally.pending,
            approved: tally.approved,
            rejected: tally.rejected,
        }),
        missed_spam: tally.missed_spam,
        false_positives: tally.false_positives,
        precision: tally.precision(),
        recall: tally.recall(),
    }
}

/// A correction as `ExportCorrections` sends it, with the host names its
/// site's rules table lists (`site_hosts`).
pub fn correction_to_proto(correction: Correction, site_hosts: Vec<String>) -> pb::Correction {
    pb::Correction {
        site_hosts,
        decision_id: correction.decision_id,
        site_id: correction.site_id,
        comment_id: correction.comment_id,
        text: correction.content,
        label: label_to_proto(correction.label) as i32,
        verdict: verdict_to_proto(correction.verdict) as i32,
        model_version: correction.model_version,
        source: match correction.source {
            CorrectionSource::Moderator => "moderator",
            CorrectionSource::Site => "site",
        }
        .to_string(),
        labelled_by: correction.by,
        labelled_at: Some(time_to_proto(correction.at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::decision;
    use crate::limits::MAX_CONTENT_BYTES;

    /// A queue page of `count` decisions, each with the longest comment.
    fn page_of_long_comments(count: usize) -> (QueueFilter, QueuePage) {
        let items: Vec<_> = (0..count)
            .map(|index| {
                let id = uuid::Uuid::now_v7().to_string();
                let mut decision = decision(&id, "news.example", &format!("c{index}"));
                decision.comment.content = "x".repeat(MAX_CONTENT_BYTES);
                decision.status = ReviewStatus::Pending;
                decision
            })
            .collect();
        let filter = QueueFilter {
            scope: SiteScope::All,
            status: ReviewStatus::Pending,
            min_priority: Priority::Low,
        };
        let page = QueuePage {
            items,
            next: None,
            total: count as u64,
        };
        (filter, page)
    }

    #[test]
    fn a_page_ends_early_rather_than_pass_its_byte_limit() {
        let (filter, page) = page_of_long_comments(100);
        let answer = queue_page_to_proto(&filter, &page);
        let fits = answer.items.len();
        assert!(answer.encoded_len() <= MAX_QUEUE_PAGE_BYTES);
        assert!((40..100).contains(&fits), "{fits} items");
        // The next page starts right after the last item sent.
        let next = page_token::decode(&filter, &answer.next_page_token).unwrap();
        assert_eq!(next, Some(QueueCursor::of(&page.items[fits - 1])));
        assert_eq!(answer.total, 100);

        // A page that fits is sent whole, ending where the store said.
        let (filter, page) = page_of_long_comments(fits);
        let answer = queue_page_to_proto(&filter, &page);
        assert_eq!(answer.items.len(), fits);
        assert_eq!(answer.next_page_token, "");
    }

    #[test]
    fn a_resolve_answer_for_many_long_comments_stays_under_four_mib() {
        // 500 of the largest decisions, each with a 2 KB note: the labels
        // are applied, and the answer must be one a client accepts.
        let (_, mut page) = page_of_long_comments(MAX_RESOLVE_IDS);
        for decision in &mut page.items {
            decision.comment.context.post_text = "y".repeat(MAX_CONTENT_BYTES);
            // Reasons as long as a rule or the model could write them.
            decision.assessment.reasons = (0..20)
                .map(|index| crate::domain::Reason {
                    source: crate::domain::ReasonSource::Rule,
                    code: format!("rule_{index}"),
                    message: "r".repeat(400),
                    weight: 1.0,
                })
                .collect();
            decision.resolution = Some(crate::domain::Resolution {
                label: Label::Spam,
                by: "m".repeat(MAX_MODERATOR_NAME_BYTES),
                note: "n".repeat(MAX_NOTE_BYTES),
                at: UnixMillis(1),
            });
        }
        let answer = resolve_response_to_proto(&page.items);
        assert!(
            answer.encoded_len() < 4 * 1024 * 1024,
            "{}",
            answer.encoded_len()
        );
        assert_eq!(answer.decisions.len(), MAX_RESOLVE_IDS);
        // The first ones in full, the rest without their comment, each
        // with its id and resolution.
        let full = answer
            .decisions
            .iter()
            .take_while(|decision| !decision.comment_omitted)
            .count();
        assert!((5..10).contains(&full), "{full} in full");
        for (item, decision) in answer.decisions.iter().zip(&page.items) {
            assert_eq!(item.decision_id, decision.decision_id);
            assert!(item.resolution.is_some());
            assert_eq!(item.content.is_empty(), item.comment_omitted);
            assert_eq!(item.context.is_none(), item.comment_omitted);
        }
        assert!(answer.decisions[full..]
            .iter()
            .all(|item| item.comment_omitted));
        // Past the budget, the reasons are left out too.
        assert!(answer.decisions.last().unwrap().reasons.is_empty());

        // A small batch comes back whole.
        let answer = resolve_response_to_proto(&page.items[..3]);
        assert!(answer.decisions.iter().all(|item| !item.comment_omitted));
        assert_eq!(answer.decisions[0].content, page.items[0].comment.content);
    }

    #[test]
    fn a_page_holds_one_item_whatever_its_size() {
        let (filter, mut page) = page_of_long_comments(2);
        for item in &mut page.items {
            item.comment.context.post_text = "y".repeat(MAX_QUEUE_PAGE_BYTES);
        }
        let answer = queue_page_to_proto(&filter, &page);
        assert_eq!(answer.items.len(), 1);
        assert_eq!(
            page_token::decode(&filter, &answer.next_page_token).unwrap(),
            Some(QueueCursor::of(&page.items[0]))
        );
    }

    fn field_of(result: Result<Resolve, Error>) -> &'static str {
        match result {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    fn resolve(ids: Vec<String>) -> pb::ResolveItemsRequest {
        pb::ResolveItemsRequest {
            decision_ids: ids,
            label: pb::Label::Spam as i32,
            moderator: "ann".to_string(),
            note: String::new(),
        }
    }

    #[test]
    fn resolve_requests_are_bounded_and_checked() {
        let id = uuid::Uuid::now_v7().to_string();
        assert_eq!(
            field_of(resolve_from_proto(resolve(vec![]))),
            "decision_ids"
        );
        assert_eq!(
            field_of(resolve_from_proto(resolve(vec![
                id.clone();
                MAX_RESOLVE_IDS + 1
            ]))),
            "decision_ids"
        );
        assert_eq!(
            field_of(resolve_from_proto(resolve(vec!["nope".to_string()]))),
            "decision_ids"
        );
        // Ids are looked up as written: another spelling of a UUID is
        // refused rather than answered NOT_FOUND.
        for spelling in [
            id.to_uppercase(),
            format!("{{{id}}}"),
            id.replace('-', ""),
            format!("urn:uuid:{id}"),
        ] {
            assert_eq!(
                field_of(resolve_from_proto(resolve(vec![spelling]))),
                "decision_ids"
            );
        }
        let mut unlabelled = resolve(vec![id.clone()]);
        unlabelled.label = pb::Label::Unspecified as i32;
        assert_eq!(field_of(resolve_from_proto(unlabelled)), "label");
        let checked = resolve_from_proto(resolve(vec![id.clone(), id.clone()])).unwrap();
        assert_eq!(checked.decision_ids, vec![id.clone()]);
        assert_eq!(checked.label, Label::Spam);

        // The moderator's name and the note, at their limits and beyond.
        let with = |moderator: String, note: String| {
            resolve_from_proto(pb::ResolveItemsRequest {
                moderator,
                note,
                ..resolve(vec![id.clone()])
            })
        };
        let name = |bytes: usize| "m".repeat(bytes);
        assert!(with(name(MAX_MODERATOR_NAME_BYTES), name(MAX_NOTE_BYTES)).is_ok());
        assert_eq!(
            field_of(with(name(MAX_MODERATOR_NAME_BYTES + 1), String::new())),
            "moderator"
        );
        assert_eq!(
            field_of(with("ann\nbob".to_string(), String::new())),
            "moderator"
        );
        assert_eq!(
            field_of(with("ann".to_string(), name(MAX_NOTE_BYTES + 1))),
            "note"
        );
    }

    #[test]
    fn queue_requests_default_and_bound_the_page() {
        let (filter, cursor, size) =
            queue_request_from_proto(&pb::ListQueueRequest::default(), SiteScope::All).unwrap();
        assert_eq!(filter.status, ReviewStatus::Pending);
        assert_eq!(filter.min_priority, Priority::Low);
        assert_eq!(cursor, None);
        assert_eq!(size, DEFAULT_PAGE_SIZE);
        for (asked, served) in [
            (1, 1),
            (MAX_PAGE_SIZE, MAX_PAGE_SIZE),
            (MAX_PAGE_SIZE + 1, MAX_PAGE_SIZE),
            (u32::MAX as usize, MAX_PAGE_SIZE),
        ] {
            let request = pb::ListQueueRequest {
                page_size: asked as u32,
                ..Default::default()
            };
            let (_, _, size) = queue_request_from_proto(&request, SiteScope::All).unwrap();
            assert_eq!(size, served, "page_size {asked}");
        }
        // `GetStats.since` holds to the years of a Timestamp, as every
        // other time does.
        let year_10000 = prost_types::Timestamp {
            seconds: 253_402_300_800,
            nanos: 0,
        };
        assert!(matches!(
            since_from_proto(Some(&year_10000)),
            Err(Error::InvalidArgument { field: "since", .. })
        ));
        let last_second = prost_types::Timestamp {
            seconds: 253_402_300_799,
            nanos: 999_999_999,
        };
        assert!(since_from_proto(Some(&last_second)).unwrap().is_some());
        let bad_status = pb::ListQueueRequest {
            status: 42,
            ..Default::default()
        };
        assert!(matches!(
            queue_request_from_proto(&bad_status, SiteScope::All),
            Err(Error::InvalidArgument {
                field: "status",
                ..
            })
        ));
    }
}
