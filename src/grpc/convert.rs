//! Free functions between prost messages and domain types. Requests are
//! validated here: anything malformed becomes INVALID_ARGUMENT naming its
//! field, before the engine sees it.

use prost_types::Timestamp;

use super::pb;
use crate::domain::{
    Assessment, Author, Comment, Decision, FormSignals, Label, PostContext, Priority, Reason,
    ReasonSource, Resolution, ReviewStatus, UnixMillis, Verdict,
};
use crate::engine::{CheckOptions, CheckOutcome};
use crate::error::{Echo, Error};
use crate::limits::*;

pub(super) fn check_length(field: &'static str, value: &str, limit: usize) -> Result<(), Error> {
    if value.len() > limit {
        Err(Error::invalid_argument(
            field,
            format!("is {} bytes; the limit is {limit} bytes", value.len()),
        ))
    } else {
        Ok(())
    }
}

/// Validates a site's comment id: present, short, no control characters.
pub fn check_comment_id(comment_id: &str) -> Result<(), Error> {
    if comment_id.is_empty() {
        return Err(Error::invalid_argument("comment_id", "must not be empty"));
    }
    check_length("comment_id", comment_id, MAX_COMMENT_ID_BYTES)?;
    if comment_id.chars().any(char::is_control) {
        return Err(Error::invalid_argument(
            "comment_id",
            "must not contain control characters",
        ));
    }
    Ok(())
}

pub fn check_site_id(field: &'static str, site_id: &str) -> Result<(), Error> {
    crate::domain::check_site_id(site_id)
        .map_err(|reason| Error::invalid_argument(field, reason.to_string()))
}

/// Decision ids are the UUIDs this service hands out, in the form it hands
/// them out (lower-case, hyphenated): ids are looked up as written, so an
/// upper-case or braced spelling would name no decision. `field` is the
/// request's field that held it.
pub fn check_decision_id(field: &'static str, decision_id: &str) -> Result<(), Error> {
    if is_canonical_uuid(decision_id) {
        return Ok(());
    }
    Err(Error::invalid_argument(
        field,
        format!(
            "{} is not a decision id (a UUID in lower case with hyphens)",
            Echo(decision_id)
        ),
    ))
}

/// Whether `id` is a UUID written as this service writes them.
pub(super) fn is_canonical_uuid(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok_and(|parsed| {
        let mut buffer = uuid::Uuid::encode_buffer();
        parsed.hyphenated().encode_lower(&mut buffer) == id
    })
}

pub(super) fn time_from_proto(
    field: &'static str,
    timestamp: &Timestamp,
) -> Result<UnixMillis, Error> {
    // Year 1 to 9999, as the Timestamp documentation requires.
    const MIN_SECONDS: i64 = -62_135_596_800;
    const MAX_SECONDS: i64 = 253_402_300_799;
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&timestamp.seconds)
        || !(0..1_000_000_000).contains(&timestamp.nanos)
    {
        return Err(Error::invalid_argument(
            field,
            "is not a valid timestamp (years 1 to 9999, nanos 0 to 999999999)",
        ));
    }
    Ok(UnixMillis(
        timestamp.seconds * 1000 + i64::from(timestamp.nanos / 1_000_000),
    ))
}

pub fn time_to_proto(time: UnixMillis) -> Timestamp {
    Timestamp {
        seconds: time.0.div_euclid(1000),
        nanos: (time.0.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn author_from_proto(author: pb::Author) -> Result<Author, Error> {
    check_length("author.name", &author.name, MAX_AUTHOR_FIELD_BYTES)?;
    check_length("author.email", &author.email, MAX_AUTHOR_FIELD_BYTES)?;
    check_length("author.url", &author.url, MAX_AUTHOR_FIELD_BYTES)?;
    check_length(
        "author.user_agent",
        &author.user_agent,
        MAX_AUTHOR_FIELD_BYTES,
    )?;
    check_length("author.ip", &author.ip, MAX_AUTHOR_FIELD_BYTES)?;
    let ip = match author.ip.trim() {
        "" => None,
        // An IPv4 address written as IPv4-mapped IPv6 (`::ffff:a.b.c.d`, as
        // dual-stack servers report IPv4 clients) is the IPv4 address: the
        // blocklists and the flood rule must see the same address for it.
        text => Some(
            text.parse::<std::net::IpAddr>()
                .map_err(|_| {
                    Error::invalid_argument(
                        "author.ip",
                        format!("{} is not an IPv4 or IPv6 address", Echo(text)),
                    )
                })?
                .to_canonical(),
        ),
    };
    Ok(Author {
        name: author.name,
        email: author.email,
        url: author.url,
        ip,
        user_agent: author.user_agent,
    })
}

fn context_from_proto(context: pb::PostContext) -> Result<PostContext, Error> {
    check_length(
        "context.permalink",
        &context.permalink,
        MAX_SHORT_FIELD_BYTES,
    )?;
    check_length("context.referrer", &context.referrer, MAX_SHORT_FIELD_BYTES)?;
    check_length(
        "context.post_title",
        &context.post_title,
        MAX_SHORT_FIELD_BYTES,
    )?;
    check_length("context.post_text", &context.post_text, MAX_POST_TEXT_BYTES)?;
    check_length(
        "context.parent_comment_id",
        &context.parent_comment_id,
        MAX_COMMENT_ID_BYTES,
    )?;
    check_length(
        "context.language",
        &context.language,
        MAX_LANGUAGE_TAG_BYTES,
    )?;
    let post_published_at = context
        .post_published_at
        .as_ref()
        .map(|time| time_from_proto("context.post_published_at", time))
        .transpose()?;
    Ok(PostContext {
        permalink: context.permalink,
        referrer: context.referrer,
        post_title: context.post_title,
        post_text: context.post_text,
        post_published_at,
        parent_comment_id: context.parent_comment_id,
        language: context.language,
    })
}

fn form_from_proto(form: pb::FormSignals) -> Result<FormSignals, Error> {
    check_length("form.honeypot", &form.honeypot, MAX_SHORT_FIELD_BYTES)?;
    if let Some(seconds) = form.seconds_on_page {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(Error::invalid_argument(
                "form.seconds_on_page",
                "must be a finite number of seconds, at least 0",
            ));
        }
    }
    Ok(FormSignals {
        honeypot: form.honeypot,
        seconds_on_page: form.seconds_on_page,
    })
}

/// A checked comment and options from a request; `site_id` is the site the
/// caller's key was allowed to act for.
pub fn check_request_from_proto(
    request: pb::CheckCommentRequest,
    site_id: String,
) -> Result<(Comment, CheckOptions), Error> {
    check_site_id("site_id", &site_id)?;
    check_comment_id(&request.comment_id)?;
    // A comment form does not post an empty comment; a site that sends one
    // has mapped the wrong field, and would get a verdict on nothing
    // (ALLOW, stored) instead of a word about its mistake.
    if let Some(refusal) = content_refusal(&request.content) {
        let hint = match refusal {
            ContentRefusal::ShowsNothing => ": send the text the reader wrote",
            ContentRefusal::TooLong(_) => "",
        };
        return Err(Error::invalid_argument(
            "content",
            format!("{refusal}{hint}"),
        ));
    }
    let submitted_at = match &request.submitted_at {
        Some(time) => time_from_proto("submitted_at", time)?,
        None => UnixMillis::now(),
    };
    let comment = Comment {
        site_id,
        comment_id: request.comment_id,
        content: request.content,
        author: request
            .author
            .map(author_from_proto)
            .transpose()?
            .unwrap_or_default(),
        context: request
            .context
            .map(context_from_proto)
            .transpose()?
            .unwrap_or_default(),
        submitted_at,
        form: request
            .form
            .map(form_from_proto)
            .transpose()?
            .unwrap_or_default(),
    };
    let options = CheckOptions {
        recheck: request.recheck,
        dry_run: request.dry_run,
    };
    Ok((comment, options))
}

pub fn verdict_to_proto(verdict: Verdict) -> pb::Verdict {
    match verdict {
        Verdict::Allow => pb::Verdict::Allow,
        Verdict::Review => pb::Verdict::Review,
        Verdict::Reject => pb::Verdict::Reject,
    }
}

pub fn priority_to_proto(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Low => pb::Priority::Low,
        Priority::Medium => pb::Priority::Medium,
        Priority::High => pb::Priority::High,
    }
}

pub fn status_to_proto(status: ReviewStatus) -> pb::ReviewStatus {
    match status {
        ReviewStatus::Pending => pb::ReviewStatus::Pending,
        ReviewStatus::Approved => pb::ReviewStatus::Approved,
        ReviewStatus::Rejected => pb::ReviewStatus::Rejected,
    }
}

pub fn label_to_proto(label: Label) -> pb::Label {
    match label {
        Label::Ham => pb::Label::Ham,
        Label::Spam => pb::Label::Spam,
    }
}

fn reason_to_proto(reason: &Reason) -> pb::Reason {
    let source = match reason.source {
        ReasonSource::Rule => pb::ReasonSource::Rule,
        ReasonSource::Model => pb::ReasonSource::Model,
    };
    pb::Reason {
        source: source as i32,
        code: reason.code.clone(),
        message: reason.message.clone(),
        weight: reason.weight,
    }
}

pub fn check_response_to_proto(outcome: &CheckOutcome) -> pb::CheckCommentResponse {
    let decision = &outcome.decision;
    let assessment: &Assessment = &decision.assessment;
    pb::CheckCommentResponse {
        decision_id: decision.decision_id.clone(),
        verdict: verdict_to_proto(assessment.verdict) as i32,
        spam_probability: assessment.spam_probability,
        score: assessment.score,
        priority: priority_to_proto(assessment.priority) as i32,
        reasons: assessment.reasons.iter().map(reason_to_proto).collect(),
        model_version: assessment.model_version.clone(),
        stored: outcome.stored,
        status: status_to_proto(decision.status) as i32,
        resolution: decision.resolution.as_ref().map(resolution_to_proto),
    }
}

fn resolution_to_proto(resolution: &Resolution) -> pb::Resolution {
    pb::Resolution {
        label: label_to_proto(resolution.label) as i32,
        by: resolution.by.clone(),
        note: resolution.note.clone(),
        at: Some(time_to_proto(resolution.at)),
    }
}

/// A stored decision as the API shows it (`stored` is true: it came from storage).
pub fn decision_to_proto(decision: &Decision) -> pb::Decision {
    let comment = &decision.comment;
    let assessment = &decision.assessment;
    pb::Decision {
        decision_id: decision.decision_id.clone(),
        verdict: verdict_to_proto(assessment.verdict) as i32,
        spam_probability: assessment.spam_probability,
        score: assessment.score,
        priority: priority_to_proto(assessment.priority) as i32,
        reasons: assessment.reasons.iter().map(reason_to_proto).collect(),
        model_version: assessment.model_version.clone(),
        stored: true,
        site_id: comment.site_id.clone(),
        comment_id: comment.comment_id.clone(),
        content: comment.content.clone(),
        author: Some(pb::Author {
            name: comment.author.name.clone(),
            email: comment.author.email.clone(),
            url: comment.author.url.clone(),
            ip: comment
                .author
                .ip
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            user_agent: comment.author.user_agent.clone(),
        }),
        context: Some(pb::PostContext {
            permalink: comment.context.permalink.clone(),
            referrer: comment.context.referrer.clone(),
            post_title: comment.context.post_title.clone(),
            post_text: comment.context.post_text.clone(),
            post_published_at: comment.context.post_published_at.map(time_to_proto),
            parent_comment_id: comment.context.parent_comment_id.clone(),
            language: comment.context.language.clone(),
        }),
        created_at: Some(time_to_proto(decision.created_at)),
        status: status_to_proto(decision.status) as i32,
        resolution: decision.resolution.as_ref().map(resolution_to_proto),
        comment_omitted: false,
        submitted_at: Some(time_to_proto(comment.submitted_at)),
        form: Some(pb::FormSignals {
            honeypot: comment.form.honeypot.clone(),
            seconds_on_page: comment.form.seconds_on_page,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> pb::CheckCommentRequest {
        pb::CheckCommentRequest {
            comment_id: "c1".into(),
            content: "hello".into(),
            ..Default::default()
        }
    }

    fn refused_field(request: pb::CheckCommentRequest) -> &'static str {
        match check_request_from_proto(request, "site.example".into()) {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_request_is_accepted() {
        let (comment, options) =
            check_request_from_proto(request(), "site.example".into()).unwrap();
        assert_eq!(comment.site_id, "site.example");
        assert_eq!(options, CheckOptions::default());
    }

    #[test]
    fn malformed_fields_are_named() {
        let mut too_long = request();
        too_long.content = "x".repeat(MAX_CONTENT_BYTES + 1);
        assert_eq!(refused_field(too_long), "content");
        for nothing in ["", " \n\t\u{3000}", "\u{200b}\u{feff} \u{ad}"] {
            let mut empty = request();
            empty.content = nothing.into();
            match check_request_from_proto(empty, "site.example".into()) {
                Err(Error::InvalidArgument { field, reason }) => {
                    assert_eq!(field, "content");
                    assert_eq!(
                        reason,
                        "is empty or only whitespace: send the text the reader wrote"
                    );
                }
                other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
            }
        }

        let mut no_id = request();
        no_id.comment_id.clear();
        assert_eq!(refused_field(no_id), "comment_id");

        let mut bad_ip = request();
        bad_ip.author = Some(pb::Author {
            ip: "300.1.1.1".into(),
            ..Default::default()
        });
        assert_eq!(refused_field(bad_ip), "author.ip");

        let mut bad_time = request();
        bad_time.submitted_at = Some(Timestamp {
            seconds: 0,
            nanos: -1,
        });
        assert_eq!(refused_field(bad_time), "submitted_at");

        let mut bad_seconds = request();
        bad_seconds.form = Some(pb::FormSignals {
            honeypot: String::new(),
            seconds_on_page: Some(f64::NAN),
        });
        assert_eq!(refused_field(bad_seconds), "form.seconds_on_page");
    }

    /// Every field limit of the README's table, just inside (accepted) and
    /// just beyond (refused, naming the field).
    #[test]
    fn each_field_limit_holds_at_its_edge() {
        type Change = Box<dyn Fn(&mut pb::CheckCommentRequest, bool)>;
        let text = |bytes: usize, over: bool| "x".repeat(bytes + usize::from(over));
        let author = |set: fn(&mut pb::Author, String), bytes: usize| -> Change {
            Box::new(move |request, over| {
                let mut author = pb::Author::default();
                set(&mut author, text(bytes, over));
                request.author = Some(author);
            })
        };
        let context = |set: fn(&mut pb::PostContext, String), bytes: usize| -> Change {
            Box::new(move |request, over| {
                let mut context = pb::PostContext::default();
                set(&mut context, text(bytes, over));
                request.context = Some(context);
            })
        };
        let cases: Vec<(&str, Change)> = vec![
            (
                "content",
                Box::new(move |request, over| request.content = text(MAX_CONTENT_BYTES, over)),
            ),
            (
                "comment_id",
                Box::new(move |request, over| {
                    request.comment_id = text(MAX_COMMENT_ID_BYTES, over)
                }),
            ),
            (
                "comment_id",
                Box::new(|request, over| {
                    request.comment_id = if over { "a\u{7}b" } else { "a-b" }.into()
                }),
            ),
            (
                "author.name",
                author(|a, v| a.name = v, MAX_AUTHOR_FIELD_BYTES),
            ),
            (
                "author.email",
                author(|a, v| a.email = v, MAX_AUTHOR_FIELD_BYTES),
            ),
            (
                "author.url",
                author(|a, v| a.url = v, MAX_AUTHOR_FIELD_BYTES),
            ),
            (
                "author.user_agent",
                author(|a, v| a.user_agent = v, MAX_AUTHOR_FIELD_BYTES),
            ),
            (
                "context.post_text",
                context(|c, v| c.post_text = v, MAX_POST_TEXT_BYTES),
            ),
            (
                "context.post_title",
                context(|c, v| c.post_title = v, MAX_SHORT_FIELD_BYTES),
            ),
            (
                "context.permalink",
                context(|c, v| c.permalink = v, MAX_SHORT_FIELD_BYTES),
            ),
            (
                "context.referrer",
                context(|c, v| c.referrer = v, MAX_SHORT_FIELD_BYTES),
            ),
            (
                "context.parent_comment_id",
                context(|c, v| c.parent_comment_id = v, MAX_COMMENT_ID_BYTES),
            ),
            (
                "context.language",
                context(|c, v| c.language = v, MAX_LANGUAGE_TAG_BYTES),
            ),
            (
                "form.honeypot",
                Box::new(move |request, over| {
                    request.form = Some(pb::FormSignals {
                        honeypot: text(MAX_SHORT_FIELD_BYTES, over),
                        seconds_on_page: None,
                    })
                }),
            ),
            (
                "form.seconds_on_page",
                Box::new(|request, over| {
                    request.form = Some(pb::FormSignals {
                        honeypot: String::new(),
                        seconds_on_page: Some(if over { -0.5 } else { 0.0 }),
                    })
                }),
            ),
            (
                "submitted_at",
                Box::new(|request, over| {
                    // The last second of year 9999, and the one after it.
                    let seconds = 253_402_300_799 + i64::from(over);
                    request.submitted_at = Some(Timestamp { seconds, nanos: 0 });
                }),
            ),
            (
                "submitted_at",
                Box::new(|request, over| {
                    // The first second of year 1, and the one before it.
                    let seconds = -62_135_596_800 - i64::from(over);
                    request.submitted_at = Some(Timestamp { seconds, nanos: 0 });
                }),
            ),
            (
                "context.post_published_at",
                Box::new(|request, over| {
                    let seconds = 253_402_300_799 + i64::from(over);
                    request.context = Some(pb::PostContext {
                        post_published_at: Some(Timestamp { seconds, nanos: 0 }),
                        ..Default::default()
                    });
                }),
            ),
            (
                "author.ip",
                // An address padded with spaces (which are trimmed) to the
                // limit, and one byte beyond: only the length refuses it.
                author(
                    |a, v| a.ip = format!("{:>width$}", "10.0.0.1", width = v.len()),
                    MAX_AUTHOR_FIELD_BYTES,
                ),
            ),
        ];
        for (field, change) in &cases {
            let mut inside = request();
            change(&mut inside, false);
            assert!(
                check_request_from_proto(inside, "site.example".into()).is_ok(),
                "{field} at its limit"
            );
            let mut beyond = request();
            change(&mut beyond, true);
            assert_eq!(refused_field(beyond), *field);
        }
        // The site id comes from the caller's key or the request.
        for (site, accepted) in [
            ("a".repeat(253), true),
            ("a".repeat(254), false),
            ("news.example:fr_2".to_string(), true),
            ("news example".to_string(), false),
            (String::new(), false),
        ] {
            let result = check_request_from_proto(request(), site.clone());
            match (accepted, result) {
                (true, Ok(_)) => {}
                (false, Err(Error::InvalidArgument { field, .. })) => assert_eq!(field, "site_id"),
                (_, other) => panic!("site {site:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_huge_invalid_value_is_not_echoed_whole() {
        let huge = "x".repeat(400_000);
        let message = check_decision_id("decision_id", &huge)
            .unwrap_err()
            .to_string();
        assert!(message.len() < 200, "{} bytes", message.len());
        assert!(message.contains("400000 bytes"), "{message}");
        let mut huge_ip = request();
        huge_ip.author = Some(pb::Author {
            ip: huge,
            ..Default::default()
        });
        assert_eq!(refused_field(huge_ip), "author.ip");
    }

    #[test]
    fn an_ipv4_mapped_address_is_the_ipv4_address() {
        let ip_of = |text: &str| {
            let mut with_ip = request();
            with_ip.author = Some(pb::Author {
                ip: text.into(),
                ..Default::default()
            });
            check_request_from_proto(with_ip, "site.example".into())
                .unwrap()
                .0
                .author
                .ip
        };
        let ipv4: std::net::IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(ip_of("::ffff:203.0.113.5"), Some(ipv4));
        assert_eq!(ip_of(" 203.0.113.5 "), Some(ipv4));
        assert_eq!(ip_of("2001:db8::5"), "2001:db8::5".parse().ok());
    }

    #[test]
    fn timestamps_round_trip_including_before_1970() {
        for millis in [0, 1, 1_700_000_000_123, -1, -1_500] {
            let proto = time_to_proto(UnixMillis(millis));
            assert_eq!(time_from_proto("t", &proto).unwrap(), UnixMillis(millis));
        }
    }
}
