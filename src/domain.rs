//! The types the product is about (comments, decisions, verdicts), free of
//! any wire format or storage engine. `grpc` converts them to and from prost
//! types; `store` serialises them.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    pub fn now() -> Self {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixMillis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }

    /// Eight bytes whose byte order is time order, before 1970 too: the
    /// value big-endian with its sign bit flipped. Keys that hold a time use
    /// them, so that a range of keys is a range of time.
    pub fn sortable_bytes(self) -> [u8; 8] {
        ((self.0 as u64) ^ (1 << 63)).to_be_bytes()
    }

    /// The time that [`UnixMillis::sortable_bytes`] gave `bytes`.
    pub fn from_sortable_bytes(bytes: [u8; 8]) -> UnixMillis {
        UnixMillis((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
    }
}

/// A human judgement of a comment, or the class a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Ham,
    Spam,
}

impl Label {
    /// The class index used by the classifier: 0 for ham, 1 for spam.
    pub fn class_index(self) -> usize {
        match self {
            Label::Ham => 0,
            Label::Spam => 1,
        }
    }

    pub fn is_spam(self) -> bool {
        self == Label::Spam
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Review,
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
}

impl Decision {
    /// Whether a person's label of this (stored) decision still decides
    /// where `comment`, checked again, stands. A spam label stands
    /// whatever the comment becomes: an edit must neither publish what a
    /// person rejected (edited away and back) nor clear the author's spam
    /// mark. An approval (a ham label) stands only while readers see the
    /// comment it was given for: a comment approved and then edited into
    /// spam must not stay published on the strength of the approval.
    pub fn label_stands_for(&self, comment: &Comment) -> bool {
        match &self.resolution {
            None => false,
            Some(resolution) => {
                resolution.label == Label::Spam || self.comment.shows_the_same_as(comment)
            }
        }
    }

    /// Where `comment`, checked again with `verdict`, stands after this
    /// stored decision: as its person's label left it while that stands,
    /// else as the verdict says, with no resolution.
    pub fn standing_for(
        &self,
        comment: &Comment,
        verdict: Verdict,
    ) -> (ReviewStatus, Option<Resolution>) {
        if self.label_stands_for(comment) {
            (self.status, self.resolution.clone())
        } else {
            (ReviewStatus::initial_for(verdict), None)
        }
    }
}

impl ReviewStatus {
    /// Where a fresh decision starts: allowed comments are approved,
    /// rejected ones rejected, and the rest wait for a moderator.
    pub fn initial_for(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Allow => ReviewStatus::Approved,
            Verdict::Review => ReviewStatus::Pending,
            Verdict::Reject => ReviewStatus::Rejected,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonSource {
    Rule,
    Model,
}

/// One piece of evidence behind a verdict. `weight` is in log-odds; the
/// weights of all reasons of an assessment add up to the logit of its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub source: ReasonSource,
    pub code: String,
    pub message: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Author {
    pub name: String,
    pub email: String,
    pub url: String,
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostContext {
    pub permalink: String,
    pub referrer: String,
    pub post_title: String,
    pub post_text: String,
    pub post_published_at: Option<UnixMillis>,
    pub parent_comment_id: String,
    pub language: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormSignals {
    pub honeypot: String,
    pub seconds_on_page: Option<f64>,
}

/// A comment as a website submitted it, after validation at the edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub site_id: String,
    pub comment_id: String,
    pub content: String,
    #[serde(default)]
    pub author: Author,
    #[serde(default)]
    pub context: PostContext,
    pub submitted_at: UnixMillis,
    #[serde(default)]
    pub form: FormSignals,
}

impl Comment {
    /// Whether readers would see the same comment: the same text under
    /// the same name and website. A person's approval is for what they
    /// saw, so an edit of any of these withdraws it (see
    /// [`Decision::label_stands_for`]). What no reader sees is no edit:
    /// line endings written `\r\n` or `\n`, and whitespace at the end of
    /// a line or of a text, name or address (see [`as_shown`]); a site whose
    /// content system saves `\r\n` as `\n` sent every approved comment
    /// back to the queue when it checked it again.
    pub fn shows_the_same_as(&self, other: &Comment) -> bool {
        self.shown_parts() == other.shown_parts()
    }

    /// The parts [`Comment::shows_the_same_as`] compares, as shown.
    fn shown_parts(&self) -> [std::borrow::Cow<'_, str>; 3] {
        [
            as_shown(&self.content),
            as_shown(&self.author.name),
            as_shown(&self.author.url),
        ]
    }

    /// A short fingerprint of what readers would see (the fields
    /// [`Comment::shows_the_same_as`] compares): two comments that show
    /// the same have the same revision, and an edit gives another. The
    /// console sends it back with a label, so that a label is refused for
    /// a comment edited since it was shown. (SHA-256, so that it stays
    /// the same across restarts and versions of the service; except once,
    /// in the version that began to read comments as shown, for a comment
    /// holding `\r` or whitespace at a line's end: a console page loaded
    /// before that upgrade gets one 409 for it, and a reload settles it.)
    pub fn revision(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for part in self.shown_parts() {
            // Each part's length first, so that no two sets of parts give
            // the same bytes.
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hex::encode(&hasher.finalize()[..8])
    }
}

/// `text` as readers see it, for telling an edit from a resave: line
/// endings as `\n`, and no whitespace at the end of a line or of the text.
/// Borrowed when the text is so already, which keeps the revisions of such
/// comments what they were before this reading existed.
pub fn as_shown(text: &str) -> std::borrow::Cow<'_, str> {
    let at_line_end = |line: &str| line.ends_with(char::is_whitespace);
    if !text.contains('\r')
        && !text.ends_with(char::is_whitespace)
        && !text.split('\n').any(at_line_end)
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.split('\n').map(str::trim_end).collect();
    std::borrow::Cow::Owned(lines.join("\n").trim_end().to_string())
}

/// What the pipeline concluded about one comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub verdict: Verdict,
    /// The classifier's calibrated spam probability.
    pub spam_probability: f64,
    /// The combined score the thresholds apply to.
    pub score: f64,
    pub priority: Priority,
    pub reasons: Vec<Reason>,
    pub model_version: String,
}

/// How a person settled a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    pub label: Label,
    pub by: String,
    pub note: String,
    pub at: UnixMillis,
}

/// A stored decision: the comment, the assessment, and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub decision_id: String,
    pub comment: Comment,
    pub assessment: Assessment,
    pub created_at: UnixMillis,
    pub status: ReviewStatus,
    pub resolution: Option<Resolution>,
    /// How many labels people have set on this decision: 1 after the
    /// first, one more for each change of mind (at most
    /// [`crate::review::MAX_LABEL_CHANGES`]). Kept by the decision, not its
    /// resolution, since an edit that withdraws an approval takes the
    /// resolution away and the count must stay. Decisions stored before
    /// the count existed read as 0; 0 is not written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub labels_set: u32,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// The longest site id accepted (a DNS name's limit).
pub const MAX_SITE_ID_BYTES: usize = 253;

/// Why a site id was refused; the text completes a sentence that starts
/// with the field's name ("site_id must not be empty").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteIdError {
    #[error("must not be empty")]
    Empty,
    #[error("is longer than {MAX_SITE_ID_BYTES} bytes")]
    TooLong,
    #[error("{site_id:?} contains {character:?}; use letters, digits, '.', '-', '_' or ':'")]
    Character { site_id: String, character: char },
}

/// Site ids are short ASCII names such as `news.example.com`: letters,
/// digits, `.`, `-`, `_` and `:`.
pub fn check_site_id(site_id: &str) -> Result<(), SiteIdError> {
    if site_id.is_empty() {
        return Err(SiteIdError::Empty);
    }
    if site_id.len() > MAX_SITE_ID_BYTES {
        return Err(SiteIdError::TooLong);
    }
    if let Some(character) = site_id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
    {
        return Err(SiteIdError::Character {
            site_id: site_id.to_string(),
            character,
        });
    }
    Ok(())
}

/// Host names one site may list (`hosts` in its rules table, or in a
/// labelled row): a site's own domains, short-link domains and mirrors,
/// not a list of the web.
pub const MAX_HOSTS_PER_SITE: usize = 64;

/// `entry` read as links are read (trimmed, lower-cased, without a
/// trailing `.` or a leading `www.`), when it is then a host name (see
/// [`is_host_name`]). What a site's `hosts`, a labelled row's `hosts` and
/// the model's [`crate::classifier::SiteHosts`] keep.
pub fn host_name(entry: &str) -> Option<String> {
    let lowered = entry.trim().trim_end_matches('.').to_lowercase();
    let name = lowered.strip_prefix("www.").unwrap_or(&lowered);
    is_host_name(name).then(|| name.to_string())
}

/// Whether `host` looks like a host name: letters (any script), digits,
/// `-` and at least one inner `.`.
pub fn is_host_name(host: &str) -> bool {
    host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && !host.contains("..")
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

/// Values for the unit tests of several modules.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A small allowed decision.
    pub fn decision(id: &str, site: &str, comment: &str) -> Decision {
        Decision {
            decision_id: id.to_string(),
            comment: Comment {
                site_id: site.to_string(),
                comment_id: comment.to_string(),
                content: "hello".to_string(),
                author: Author::default(),
                context: PostContext::default(),
                submitted_at: UnixMillis(1),
                form: FormSignals::default(),
            },
            assessment: Assessment {
                verdict: Verdict::Allow,
                spam_probability: 0.1,
                score: 0.1,
                priority: Priority::Low,
                reasons: vec![],
                model_version: "m".to_string(),
            },
            created_at: UnixMillis(2),
            status: ReviewStatus::Approved,
            resolution: None,
            labels_set: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resave that changes no character a reader sees (line endings,
    /// whitespace at a line's end) keeps the comment's revision and its
    /// person's approval; any visible change does not. A comment already
    /// written as shown keeps the revision it had before this reading.
    #[test]
    fn a_resave_readers_cannot_see_is_no_edit() {
        let with = |content: &str, name: &str| Comment {
            site_id: "news.example".to_string(),
            comment_id: "c1".to_string(),
            content: content.to_string(),
            author: Author {
                name: name.to_string(),
                ..Default::default()
            },
            context: PostContext::default(),
            submitted_at: UnixMillis(0),
            form: FormSignals::default(),
        };
        let stored = with("First line\r\nsecond line \r\n", "Ann ");
        let resaved = with("First line\nsecond line", "Ann");
        assert!(stored.shows_the_same_as(&resaved));
        assert_eq!(stored.revision(), resaved.revision());
        for edited in [
            with("First line\nsecond  line", "Ann"),
            with("First line second line", "Ann"),
            with("First line\nsecond line", "Anna"),
            with(" First line\nsecond line", "Ann"),
        ] {
            assert!(!stored.shows_the_same_as(&edited), "{:?}", edited.content);
            assert_ne!(stored.revision(), edited.revision());
        }
        assert_eq!(as_shown("a\rb\t\n\n"), "a\nb");
        assert!(matches!(as_shown("a\nb"), std::borrow::Cow::Borrowed(_)));
        // The revision as computed before: each part's length, then it.
        let plain = with("Plain text", "Ann");
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        for part in ["Plain text", "Ann", ""] {
            sha2::Digest::update(&mut hasher, (part.len() as u64).to_le_bytes());
            sha2::Digest::update(&mut hasher, part.as_bytes());
        }
        let before = hex::encode(&sha2::Digest::finalize(hasher)[..8]);
        assert_eq!(plain.revision(), before);
    }

    #[test]
    fn sortable_bytes_read_back_and_sort_as_time_does() {
        let times = [i64::MIN, -1_000, -1, 0, 1, 1_796_036_184_000, i64::MAX];
        for time in times {
            let bytes = UnixMillis(time).sortable_bytes();
            assert_eq!(UnixMillis::from_sortable_bytes(bytes), UnixMillis(time));
        }
        let bytes: Vec<[u8; 8]> = times
            .iter()
            .map(|time| UnixMillis(*time).sortable_bytes())
            .collect();
        assert!(bytes.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn site_ids_are_short_ascii_names() {
        for accepted in ["news.example.com", "blog-2_eu:8080", "a"] {
            assert_eq!(check_site_id(accepted), Ok(()), "{accepted}");
        }
        assert_eq!(check_site_id(""), Err(SiteIdError::Empty));
        assert_eq!(
            check_site_id(&"a".repeat(MAX_SITE_ID_BYTES + 1)),
            Err(SiteIdError::TooLong)
        );
        assert_eq!(check_site_id(&"a".repeat(MAX_SITE_ID_BYTES)), Ok(()));
        let refused = check_site_id("news site").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "\"news site\" contains ' '; use letters, digits, '.', '-', '_' or ':'"
        );
    }
}
