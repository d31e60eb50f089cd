//! `duplicate_content` and `flood`: what a comment has in common with the
//! site's recent comments. Spam campaigns post one text many times with
//! small changes, under many names; bots post faster than people.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use super::settings::RuleSettings;
use super::similarity::Fingerprint;
use super::state::{AuthorKey, Context, RecentComment};

/// The most characters of a site's comment id a reason quotes.
const QUOTED_COMMENT_ID_CHARACTERS: usize = 40;

/// The recent comments within `window_seconds` of the check. The context
/// lists them newest first, so the scan stops at the first older one.
/// Callers skip the comment itself (a recheck finds its own earlier entry)
/// only among the matches, where the comparison is rare.
fn within_window<'a>(
    context: &'a Context,
    window_seconds: u64,
) -> impl Iterator<Item = &'a RecentComment> {
    let window_millis = i64::try_from(window_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let since = context.now.0.saturating_sub(window_millis);
    context
        .recent
        .iter()
        .take_while(move |recent| recent.at.0 >= since)
}

/// Fires when earlier comments within the window are at least `threshold`
/// similar (estimated Jaccard similarity of their shingles).
pub fn duplicate_content(
    settings: &RuleSettings,
    fingerprint: Option<&Fingerprint>,
    comment_id: &str,
    context: &Context,
) -> Option<String> {
    let fingerprint = fingerprint?;
    let mut copies = 0usize;
    let mut closest: f64 = 0.0;
    let mut closest_id = "";
    for recent in within_window(context, settings.window_seconds) {
        let Some(other) = &recent.fingerprint else {
            continue;
        };
        // Unrelated texts agree on no slot, and a similarity of 0 is below
        // any threshold a configuration accepts: most comparisons end here,
        // without counting.
        if settings.threshold > 0.0 && !fingerprint.shares_a_slot(other) {
            continue;
        }
        let similarity = fingerprint.similarity(other);
        if similarity >= settings.threshold && recent.comment_id != comment_id {
            copies += 1;
            // The newest of equally close copies is named: the list runs
            // newest first.
            if similarity > closest || closest_id.is_empty() {
                closest = similarity;
                closest_id = &recent.comment_id;
            }
        }
    }
    (copies > 0).then(|| {
        // The percentage is the closest match's alone: the others are only
        // known to reach the threshold. The closest is named by the site's
        // own comment id, so that a moderator can look it up: a copy of a
        // campaign, or a second reader quoting the same line.
        let named = format!(
            "comment \"{}\"",
            crate::text::quoted(closest_id, QUOTED_COMMENT_ID_CHARACTERS)
        );
        let percent = closest * 100.0;
        let closest = if copies == 1 {
            format!("{named}, {percent:.0}% the same")
        } else {
            format!("the closest, {named}, is {percent:.0}% the same")
        };
        format!(
            "The text matches {} posted in the last {} ({closest}).",
            comments(copies),
            describe_window(settings.window_seconds),
        )
    })
}

/// "1 comment", "3 comments": a count of comments as a reader says it,
/// since a threshold of 1 makes a single comment enough to fire on.
fn comments(count: usize) -> String {
    if count == 1 {
        "1 comment".to_string()
    } else {
        format!("{count} comments")
    }
}

/// Where a comment came from, as `flood` tells senders apart: an IPv4
/// address, or the /64 network of an IPv6 address. A provider gives each
/// subscriber at least a /64, so a bot can post every comment from another
/// address of its own /64; counted by address, it would never flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    V4(Ipv4Addr),
    /// The first 64 bits of the address.
    V6Network(u64),
}

impl Origin {
    /// The origin of an address. An IPv4 address written as IPv6
    /// (`::ffff:192.0.2.1`, as dual-stack servers report IPv4 clients) is
    /// that IPv4 address.
    fn of(ip: IpAddr) -> Origin {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Origin::V4(v4),
            IpAddr::V6(v6) => Origin::V6Network((u128::from(v6) >> 64) as u64),
        }
    }
}

/// Fires when, within the window, the same author or the same IP address
/// (for IPv6, the same /64 network) already posted at least `threshold`
/// comments, or the whole site at least `site_threshold` (when that is
/// set).
pub fn flood(
    settings: &RuleSettings,
    comment_id: &str,
    author_key: &AuthorKey,
    ip: Option<IpAddr>,
    context: &Context,
) -> Option<String> {
    let origin = ip.map(Origin::of);
    let mut by_author = 0usize;
    let mut by_ip = 0usize;
    let mut on_site = 0usize;
    for recent in within_window(context, settings.window_seconds) {
        let same_author = !author_key.is_empty() && recent.author_key == *author_key;
        let same_ip = origin.is_some() && recent.ip.map(Origin::of) == origin;
        if (same_author || same_ip || settings.site_threshold > 0.0)
            && recent.comment_id == comment_id
        {
            continue;
        }
        on_site += 1;
        by_author += usize::from(same_author);
        by_ip += usize::from(same_ip);
    }
    let window = describe_window(settings.window_seconds);
    if by_author as f64 >= settings.threshold {
        Some(format!(
            "The author already posted {} in the last {window}.",
            comments(by_author)
        ))
    } else if by_ip as f64 >= settings.threshold {
        let address = match origin {
            Some(Origin::V6Network(_)) => "IPv6 network (/64)",
            _ => "IP address",
        };
        let others = other_authors_behind(context, settings, comment_id, author_key, origin);
        // Other names behind one address are a bot that changes names, or
        // an address many readers share: the moderator is told, to weigh
        // which.
        let shared = match others {
            0 => String::new(),
            count => format!(
                ", under {count} name{} other than this author's (a bot that changes names, or \
                 an address many readers share, an office's or a mobile network's)",
                if count == 1 { "" } else { "s" }
            ),
        };
        Some(format!(
            "The same {address} already posted {} in the last {window}{shared}.",
            comments(by_ip)
        ))
    } else if settings.site_threshold > 0.0 && on_site as f64 >= settings.site_threshold {
        Some(format!(
            "The site already received {} in the last {window}.",
            comments(on_site)
        ))
    } else {
        None
    }
}

/// The distinct authors (by their keys; anonymous comments are none) of
/// the earlier comments from the comment's origin within the window, other
/// than the comment's own author. Counted only when `flood` fires by
/// address, so a check pays for the set only then.
fn other_authors_behind(
    context: &Context,
    settings: &RuleSettings,
    comment_id: &str,
    author_key: &AuthorKey,
    origin: Option<Origin>,
) -> usize {
    let mut others: HashSet<&str> = HashSet::new();
    for recent in within_window(context, settings.window_seconds) {
        let same_ip = origin.is_some() && recent.ip.map(Origin::of) == origin;
        let other_author = !recent.author_key.is_empty() && recent.author_key != *author_key;
        if same_ip && other_author && recent.comment_id != comment_id {
            others.insert(recent.author_key.as_str());
        }
    }
    others.len()
}

/// "10 min", "24 h", "45 s": a window as a reader says it.
fn describe_window(seconds: u64) -> String {
    if seconds >= 3600 && seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UnixMillis;
    use crate::rules::settings::Rule;

    const NOW: i64 = 10_000_000_000;
    const PROMOTION: &str =
        "Earn 500 dollars a day working from home with our amazing new system, \
                             visit our website today and start making money right now";

    fn recent(id: &str, seconds_ago: i64, author: &str, ip: &str, text: &str) -> RecentComment {
        RecentComment {
            at: UnixMillis(NOW - seconds_ago * 1000),
            comment_id: id.to_string(),
            author_key: author.to_string().into(),
            ip: ip.parse().ok(),
            fingerprint: Fingerprint::of(text),
        }
    }

    fn context(recent: &[RecentComment]) -> Context<'_> {
        Context {
            now: UnixMillis(NOW),
            recent: recent.into(),
            author: None,
        }
    }

    #[test]
    fn near_duplicates_within_the_window_fire() {
        let settings = Rule::DuplicateContent.defaults();
        let other = "I went to the town meeting yesterday and the discussion about the new library was civil";
        let cases: [(&str, Vec<RecentComment>, bool); 6] = [
            (
                "earlier copy",
                vec![recent("a", 60, "x", "", PROMOTION)],
                true,
            ),
            (
                "changed copy",
                vec![recent(
                    "a",
                    60,
                    "x",
                    "",
                    &PROMOTION.replace("amazing", "great"),
                )],
                true,
            ),
            (
                "too old",
                vec![recent("a", 25 * 3600, "x", "", PROMOTION)],
                false,
            ),
            (
                "itself",
                vec![recent("self", 60, "x", "", PROMOTION)],
                false,
            ),
            ("different", vec![recent("a", 60, "x", "", other)], false),
            ("nothing recent", vec![], false),
        ];
        let fingerprint = Fingerprint::of(PROMOTION);
        for (name, recent, fires) in cases {
            let fired =
                duplicate_content(&settings, fingerprint.as_ref(), "self", &context(&recent));
            assert_eq!(fired.is_some(), fires, "{name}");
        }
        assert!(duplicate_content(&settings, None, "self", &context(&[])).is_none());
    }

    #[test]
    fn floods_by_author_ip_or_site_fire() {
        let settings = RuleSettings {
            threshold: 3.0,
            site_threshold: 5.0,
            ..Rule::Flood.defaults()
        };
        let ip: Option<IpAddr> = "192.0.2.1".parse().ok();
        let many =
            |author: &str, address: &str, count: usize, seconds_ago: i64| -> Vec<RecentComment> {
                (0..count)
                    .map(|index| recent(&format!("c{index}"), seconds_ago, author, address, "hi"))
                    .collect()
            };
        let cases = [
            ("same author", many("email:a@x", "", 3, 10), true),
            ("same ip", many("", "192.0.2.1", 3, 10), true),
            ("busy site", many("", "", 5, 10), true),
            ("few", many("email:a@x", "192.0.2.1", 2, 10), false),
            ("old", many("email:a@x", "192.0.2.1", 9, 3600), false),
            ("others", many("email:b@x", "192.0.2.9", 4, 10), false),
        ];
        for (name, recent, fires) in cases {
            let fired = flood(
                &settings,
                "self",
                &"email:a@x".to_string().into(),
                ip,
                &context(&recent),
            );
            assert_eq!(fired.is_some(), fires, "{name}");
        }
        let anonymous = many("", "", 4, 10);
        assert!(flood(
            &settings,
            "self",
            &String::new().into(),
            None,
            &context(&anonymous)
        )
        .is_none());
    }

    #[test]
    fn ipv6_addresses_of_one_64_flood_as_one_address() {
        let settings = Rule::Flood.defaults();
        let from = |addresses: &[&str]| -> Vec<RecentComment> {
            addresses
                .iter()
                .enumerate()
                .map(|(index, address)| recent(&format!("c{index}"), 10, "", address, "hi"))
                .collect()
        };
        let check = |ip: &str, recent: &[RecentComment]| {
            flood(
                &settings,
                "self",
                &String::new().into(),
                ip.parse().ok(),
                &context(recent),
            )
        };
        // A bot taking a new address of its /64 for each comment: the
        // seventh is the same flood as seven comments from one address.
        let rotating = from(&[
            "2001:db8::1",
            "2001:db8::2",
            "2001:db8::3",
            "2001:db8::4",
            "2001:db8::5",
            "2001:db8::6",
        ]);
        let fired = check("2001:db8::7", &rotating).expect("a flood from one /64");
        assert!(fired.contains("IPv6 network"), "{fired}");
        let one_address = from(&["2001:db8::7"; 6]);
        assert!(check("2001:db8::7", &one_address).is_some());
        // Other /64 networks, even of the same provider, are other senders.
        let neighbours = from(&[
            "2001:db8:0:1::1",
            "2001:db8:0:2::1",
            "2001:db8:0:3::1",
            "2001:db8:0:4::1",
            "2001:db8:0:5::1",
            "2001:db8:0:6::1",
        ]);
        assert!(check("2001:db8::7", &neighbours).is_none());
        // IPv4 addresses match exactly, also when written as IPv6.
        let mapped = from(&["::ffff:192.0.2.1"; 6]);
        assert!(check("192.0.2.1", &mapped).is_some());
        let fired = check("::ffff:192.0.2.1", &from(&["192.0.2.1"; 6])).expect("one IPv4 address");
        assert!(fired.contains("IP address"), "{fired}");
        let subnet = from(&[
            "192.0.2.2",
            "192.0.2.3",
            "192.0.2.4",
            "192.0.2.5",
            "192.0.2.6",
            "192.0.2.7",
        ]);
        assert!(check("192.0.2.1", &subnet).is_none());
    }

    #[test]
    fn duplicates_give_the_closest_similarity_and_the_count_apart() {
        let settings = Rule::DuplicateContent.defaults();
        let fingerprint = Fingerprint::of(PROMOTION);
        let changed = PROMOTION.replace("amazing", "great");
        let one = [recent("a", 60, "x", "", PROMOTION)];
        let message = duplicate_content(&settings, fingerprint.as_ref(), "self", &context(&one));
        assert_eq!(
            message.as_deref(),
            Some("The text matches 1 comment posted in the last 24 h (comment \"a\", 100% the same).")
        );
        // One copy is exact and two only reach the threshold: the share is
        // said of the closest alone, the count of all three.
        let three = [
            recent("a", 60, "x", "", &changed),
            recent("b", 70, "x", "", PROMOTION),
            recent("c", 80, "x", "", &changed),
        ];
        let message = duplicate_content(&settings, fingerprint.as_ref(), "self", &context(&three));
        assert_eq!(
            message.as_deref(),
            Some(
                "The text matches 3 comments posted in the last 24 h \
                 (the closest, comment \"b\", is 100% the same)."
            )
        );
    }

    #[test]
    fn a_single_comment_is_no_plural() {
        let settings = RuleSettings {
            threshold: 1.0,
            site_threshold: 1.0,
            ..Rule::Flood.defaults()
        };
        let ip: Option<IpAddr> = "192.0.2.1".parse().ok();
        let check = |recent: &[RecentComment], author: &str| {
            flood(
                &settings,
                "self",
                &author.to_string().into(),
                ip,
                &context(recent),
            )
            .expect("one comment is enough at a threshold of 1")
        };
        assert_eq!(
            check(&[recent("a", 10, "email:a@x", "", "hi")], "email:a@x"),
            "The author already posted 1 comment in the last 10 min."
        );
        assert_eq!(
            check(&[recent("a", 10, "", "192.0.2.1", "hi")], ""),
            "The same IP address already posted 1 comment in the last 10 min."
        );
        // The other authors' names behind the address are counted, not the
        // author's own.
        let shared = [
            recent("a", 10, "name:ann", "192.0.2.1", "hi"),
            recent("b", 10, "name:bob", "192.0.2.1", "hi"),
            recent("c", 10, "name:bob", "192.0.2.1", "hi"),
            recent("d", 10, "name:cy", "192.0.2.9", "hi"),
        ];
        assert_eq!(
            check(&shared, "name:dan"),
            "The same IP address already posted 3 comments in the last 10 min, under 2 names \
             other than this author's (a bot that changes names, or an address many readers \
             share, an office's or a mobile network's)."
        );
        assert_eq!(
            check(&shared[1..3], "name:bob"),
            "The author already posted 2 comments in the last 10 min."
        );
        assert_eq!(
            check(&shared[1..3], "name:ann"),
            "The same IP address already posted 2 comments in the last 10 min, under 1 name \
             other than this author's (a bot that changes names, or an address many readers \
             share, an office's or a mobile network's)."
        );
        assert_eq!(
            check(&[recent("a", 10, "", "", "hi")], ""),
            "The site already received 1 comment in the last 10 min."
        );
        let two = [
            recent("a", 10, "email:a@x", "", "hi"),
            recent("b", 10, "email:a@x", "", "hi"),
        ];
        assert_eq!(
            check(&two, "email:a@x"),
            "The author already posted 2 comments in the last 10 min."
        );
    }

    #[test]
    fn windows_read_naturally() {
        assert_eq!(describe_window(600), "10 min");
        assert_eq!(describe_window(86_400), "24 h");
        assert_eq!(describe_window(45), "45 s");
    }
}
