//! Properties that run in CI on stable Rust over generated input, the
//! same code paths as the cargo-fuzz targets in `fuzz/`: no input makes
//! text processing, the rules, configuration parsing or model loading
//! panic.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use moderato::classifier::{
    extract_features, extract_features_normalized, for_each_feature, resolve_positions,
    resolve_text, resolve_text_by_keys, FeatureKeys, FeatureParams, Model, SiteHosts, UNKNOWN_WORD,
};
use moderato::config::{Config, ConfigError, Overrides};
use moderato::domain::{Author, Comment, UnixMillis};
use moderato::rules::{Context, Fingerprint, Rule, Rules, RulesConfig};
use moderato::text::{normalize, tokenize};
use proptest::prelude::*;

fn comment(content: String, author: Author) -> Comment {
    Comment {
        site_id: "prop.example".to_string(),
        comment_id: "c".to_string(),
        content,
        author,
        context: Default::default(),
        submitted_at: UnixMillis(0),
        form: Default::default(),
    }
}

/// The blocked address of [`FILLED_RULES`].
const BLOCKED_EMAIL: &str = "bot@spam.example";

/// An author's url at a subdomain of the blocked domain of
/// [`FILLED_RULES`].
const BLOCKED_URL: &str = "https://www.shop.spam.example/offer";

/// The rules the fuzz target `rules` evaluates besides the defaults (see
/// fuzz/fuzz_targets/rules.rs), with blocked addresses and ranges too. With
/// the empty lists of `Rules::default()`, the term, domain, e-mail and IP
/// rules return before they read the comment, so only filled lists run
/// their code.
const FILLED_RULES: &str = "blocked_terms = [\"free money\", \"casino\"]\n\
    suspect_terms = [\"click here\"]\n\
    blocked_domains = [\"spam.example\"]\n\
    blocked_emails = [\"bot@spam.example\"]\n\
    blocked_ips = [\"203.0.113.0/24\", \"2001:db8::/32\"]\n\
    [excessive_caps]\nenabled = true\n";

fn filled_rules() -> Rules {
    let config: RulesConfig = toml::from_str(FILLED_RULES).expect("the filled rules parse");
    config.check().expect("the filled rules check")
}

/// Whether an address lies in a blocked range of [`FILLED_RULES`].
fn in_blocked_range(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.octets()[..3] == [203, 0, 113],
        IpAddr::V6(ip) => ip.segments()[..2] == [0x2001, 0x0db8],
    }
}

/// No address, any address, or one in a blocked range (which any address
/// would almost never be).
fn author_ip() -> impl Strategy<Value = Option<IpAddr>> {
    prop_oneof![
        Just(None::<IpAddr>),
        any::<IpAddr>().prop_map(Some),
        any::<u8>().prop_map(|last| Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)))),
        any::<u16>().prop_map(|last| Some(IpAddr::V6(Ipv6Addr::new(
            0x2001, 0x0db8, 0, 0, 0, 0, 0, last
        )))),
    ]
}

/// Text that mixes what the code treats specially: entities, links,
/// look-alike letters, other scripts, controls, quoted passages (HTML
/// blockquotes and lines that start with `>`), and the terms, domain and
/// address that [`FILLED_RULES`] lists.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "free",
        "m0ney",
        "&amp;",
        "&#39;",
        "&#x1F600;",
        "http://",
        "https://a.b/c?d=e",
        "www.",
        ".com",
        "ｆｒｅｅ",
        "раураl",
        "!!!",
        "???",
        "\u{200b}",
        "\u{0301}",
        "\u{fe0f}",
        "12:30",
        "+1 555 0100",
        " ",
        "\n",
        "\t",
        "\u{0}",
        "ǅ",
        "ß",
        "İ",
        "٣",
        "你好",
        "🙂",
        "<blockquote>",
        "<BLOCKQUOTE cite=\"x\">",
        "</blockquote>",
        "\n>",
        "\n  > ",
        "> ",
        "&gt;",
        "free money",
        "casino",
        "click here",
        "spam.example",
        "bot@spam.example",
        "can’t",
        "c@s|n0",
        "A$5",
        "over-45s",
        ", s, s, ",
        "v, i, a",
        "ё",
        "2019.Me",
        "deal.US",
        "Email: ",
        "Contact ☎",
        "the hacker got my money back",
        "@gmail.com",
        "onlinecasino",
        "xn--",
        ":8080/",
    ]);
    prop::collection::vec(
        prop_oneof![pieces.prop_map(String::from), any::<String>()],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

/// Configuration text shaped like a real file: section headers and
/// `key = value` lines drawn from the configuration's own tables, keys and
/// value shapes. Arbitrary text almost never parses as TOML, so it would
/// only try the parser's refusal; these lines often make a file that
/// parses, and then fail (or pass) the checks of the values, the unknown
/// keys and the types.
fn configuration_text() -> impl Strategy<Value = String> {
    let sections = prop::sample::select(vec![
        "[thresholds]",
        "[limits]",
        "[rules]",
        "[rules.submitted_too_fast]",
        "[rules.honeypot]",
        "[rules.sites.\"news.example\"]",
        "[rules.sites.\"not a site\"]",
        "[learning]",
        "[tls]",
        "[[keys]]",
        "[unknown_table]",
    ]);
    let keys = prop::sample::select(vec![
        "listen",
        "data_dir",
        "model",
        "cache_mb",
        "console_listen",
        "metrics_listen",
        "log_format",
        "review",
        "reject",
        "max_concurrent_calls",
        "max_concurrent_calls_per_key",
        "max_wait_ms",
        "max_waiting_calls",
        "max_waiting_bytes",
        "calls_per_second_per_key",
        "burst_per_key",
        "stream_idle_ms",
        "blocked_terms",
        "suspect_terms",
        "blocked_domains",
        "blocked_ips",
        "blocked_emails",
        "author_keywords",
        "honeypot",
        "link_in_name",
        "author_keyword",
        "flood",
        "new_author",
        "enabled",
        "weight",
        "mode",
        "threshold",
        "window_seconds",
        "site_threshold",
        "online",
        "correction_weight",
        "base_data",
        "evaluation_fraction",
        "tolerance",
        "retrain_every_corrections",
        "retrain_every_minutes",
        "keep_models",
        "cert",
        "key",
        "name",
        "role",
        "sites",
        "token_sha256",
        "unknown_key",
    ]);
    let values = prop::sample::select(vec![
        "0",
        "1",
        "-1",
        "64",
        "300",
        "60000",
        "18446744073709551615",
        "0.0",
        "0.5",
        "0.95",
        "1.5",
        "-0.1",
        "nan",
        "inf",
        "true",
        "false",
        "\"\"",
        "\"127.0.0.1:6000\"",
        "\"not an address\"",
        "\"json\"",
        "\"text\"",
        "\"review\"",
        "\"reject\"",
        "\"site\"",
        "\"admin\"",
        "\"news.example\"",
        "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
        "[]",
        "[\"free money\"]",
        "[\"203.0.113.0/24\"]",
        "[\"news.example\"]",
        "[1, 2]",
        "{ enabled = true }",
        "{ mode = \"review\", weight = 2.0 }",
        "{ threshold = -5.0 }",
    ]);
    let line = prop_oneof![
        1 => sections.prop_map(String::from),
        4 => (keys, values).prop_map(|(key, value)| format!("{key} = {value}")),
        // Now and then a line that is not TOML at all.
        1 => "[^\n]{0,12}",
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn text_processing_never_panics_and_agrees_with_itself(text in tricky_text()) {
        let normalized = normalize(&text);
        for token in tokenize(&normalized) {
            prop_assert!(!token.text.is_empty());
        }
        let params = FeatureParams::default();
        prop_assert_eq!(
            extract_features(&params, &text),
            extract_features_normalized(&params, &text, &normalized, &SiteHosts::default())
        );
    }

    /// The request path resolves a text's features without naming them;
    /// it must count exactly what training counts, on any text.
    #[test]
    fn scoring_resolves_what_training_resolves(text in tricky_text()) {
        let normalized = normalize(&text);
        let counting = FeatureParams {
            binary: false,
            normalize_length: true,
            unknown_words: true,
            ..FeatureParams::default()
        };
        let letters = FeatureParams {
            char_ngram_min: 2,
            char_ngram_max: 4,
            signals: false,
            word_pairs: false,
            ..FeatureParams::default()
        };
        // The site: none, or the text's first word as its host, so that
        // links on the site and off it both occur.
        let site = SiteHosts::new(text.split_whitespace().next());
        for params in [FeatureParams::default(), counting, letters] {
            let features = extract_features_normalized(&params, &text, &normalized, &site);
            // Every other feature known, in name order like a trained
            // vocabulary, and the unknown-word feature.
            let mut index: HashMap<String, usize> = features
                .iter()
                .step_by(2)
                .enumerate()
                .map(|(position, (name, _))| (name.clone(), position))
                .collect();
            index.insert(UNKNOWN_WORD.to_string(), index.len());
            let by_names = resolve_positions(&features, &index);
            prop_assert_eq!(resolve_text(&params, &text, &normalized, &site, &index), by_names.clone());
            let keys = FeatureKeys::new(index.iter().map(|(name, position)| (name.as_str(), *position)))
                .expect("no two features share a key");
            prop_assert_eq!(resolve_text_by_keys(&params, &text, &normalized, &site, &keys), by_names);
            // A feature's key is the key of its name as a vocabulary
            // stores it: the words of a pair never hold the space that
            // joins them.
            let mut mismatches = Vec::new();
            for_each_feature(&params, &text, &normalized, &site, |parts| {
                if keys.key(&parts) != keys.key_of_name(&parts.name()) {
                    mismatches.push(parts.name());
                }
            });
            prop_assert!(mismatches.is_empty(), "{:?}", mismatches);
        }
    }

    /// The default rules and rules with every list filled; with the
    /// lists empty, no list rule fires, and with them filled, an author's
    /// blocked address, range or url always does.
    #[test]
    fn the_rules_never_panic(
        text in tricky_text(),
        name in tricky_text(),
        email in prop_oneof![3 => tricky_text(), 1 => Just(BLOCKED_EMAIL.to_string())],
        url in prop_oneof![3 => tricky_text(), 1 => Just(BLOCKED_URL.to_string())],
        ip in author_ip(),
    ) {
        let author = Author {
            name,
            email: email.clone(),
            url: url.clone(),
            ip,
            ..Author::default()
        };
        let comment = comment(text.clone(), author);
        let context = Context::stateless(UnixMillis(0));
        let default_rules = Rules::default();
        let filled = filled_rules();
        for (rules, lists_filled) in [(&default_rules, false), (&filled, true)] {
            let evaluation = rules.for_site("prop.example").evaluate(&comment, &context);
            let fired = |rule: Rule| evaluation.hits.iter().any(|hit| hit.rule == rule);
            if lists_filled {
                if ip.is_some_and(in_blocked_range) {
                    prop_assert!(fired(Rule::BlockedIp), "{:?} {:?}", ip, evaluation.hits);
                }
                if email.trim().to_lowercase() == BLOCKED_EMAIL {
                    prop_assert!(fired(Rule::BlockedEmail), "{:?} {:?}", email, evaluation.hits);
                }
                if url == BLOCKED_URL {
                    prop_assert!(fired(Rule::BlockedDomain), "{:?} {:?}", url, evaluation.hits);
                }
            } else {
                for rule in [
                    Rule::BlockedTerm,
                    Rule::SuspectTerm,
                    Rule::BlockedDomain,
                    Rule::BlockedIp,
                    Rule::BlockedEmail,
                ] {
                    prop_assert!(!fired(rule), "{:?} fired with no list: {:?}", rule, evaluation.hits);
                }
            }
            if let Some(fingerprint) = &evaluation.fingerprint {
                prop_assert_eq!(fingerprint.similarity(fingerprint), 1.0);
                if let Some(other) = Fingerprint::of(&format!("{text} and more")) {
                    let similarity = fingerprint.similarity(&other);
                    prop_assert!((0.0..=1.0).contains(&similarity));
                }
            }
        }
    }

    #[test]
    fn configuration_text_is_parsed_or_refused_with_a_message(
        text in prop_oneof![4 => configuration_text(), 1 => any::<String>()],
    ) {
        match Config::from_toml("prop.toml", &text, &Overrides::default()) {
            Ok(config) => prop_assert!(config.thresholds.review() <= config.thresholds.reject()),
            // A syntax error, a wrong type or an unknown key names the file
            // (and the parser's message, the line and the key).
            Err(ConfigError::Parse { origin, message }) => {
                prop_assert_eq!(origin.as_str(), "prop.toml");
                prop_assert!(!message.is_empty(), "the refusal of {:?} says nothing", text);
            }
            // A bad value names the key that holds it.
            Err(ConfigError::Invalid { field, message, .. }) => {
                prop_assert!(!field.is_empty(), "no key named in {:?} for {:?}", message, text);
                prop_assert!(!message.is_empty(), "no reason given for {}", field);
            }
            Err(other) => prop_assert!(false, "text alone gave {}", other),
        }
    }

    #[test]
    fn model_files_are_loaded_or_refused_with_a_message(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match Model::from_json("prop.json", &bytes) {
            Ok(model) => prop_assert!(model.probability("free money").is_finite()),
            Err(error) => prop_assert!(error.to_string().contains("prop.json")),
        }
    }
}

/// Damaged copies of the built-in model: every cut and a few flipped bytes
/// are refused with a message (or, rarely, still a valid model), never a
/// panic.
#[test]
fn damaged_model_files_are_refused_not_fatal() {
    let original = Model::embedded_default().unwrap().to_json().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(
            &(0..original.len(), any::<u8>(), any::<bool>()),
            |(position, byte, truncate)| {
                let damaged = if truncate {
                    original[..position].to_vec()
                } else {
                    let mut copy = original.clone();
                    copy[position] = byte;
                    copy
                };
                match Model::from_json("damaged.json", &damaged) {
                    Ok(model) => prop_assert!(model.probability("free money").is_finite()),
                    // The refusal says which file it was, or an operator
                    // could not tell which model failed to load.
                    Err(error) => prop_assert!(
                        error.to_string().contains("damaged.json"),
                        "the refusal does not name the file: {}",
                        error
                    ),
                }
                Ok(())
            },
        )
        .unwrap();
}
