//! The `[rules]` table of the configuration file as written
//! ([`RulesConfig`]), checked into the rules in force ([`Rules`]) by
//! [`RulesConfig::check`]. Every table refuses keys it does not know, and a
//! bad value is refused with the key that holds it.
//!
//! ```toml
//! [rules]
//! blocked_terms = ["free money"]
//! blocked_ips = ["203.0.113.0/24"]
//!
//! [rules.submitted_too_fast]
//! threshold = 5.0
//! mode = "review"
//!
//! [rules.sites."news.example"]      # adds to the lists, overrides settings
//! suspect_terms = ["casino"]
//! new_author = { enabled = true }
//! hosts = ["news-example.net"]       # the site's other host names
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ipnet::IpNet;
use serde::Deserialize;

use super::author_fields::BUILT_IN_AUTHOR_KEYWORDS;
use super::blocklists::{canonical_email, BlockLists};
use super::settings::{Mode, Rule, RuleSettings, MAX_WEIGHT, MAX_WINDOW_SECONDS};
use super::terms::{LayeredTerms, TermList, TermListError, MAX_TERM_CHARACTERS, MAX_TERM_WORDS};
use super::trusted_domains::BUILT_IN_TRUSTED_DOMAINS;
use super::{RuleSet, Rules};
use crate::classifier::{trusted_domain, TrustedDomains};
use crate::config::ConfigError;
use crate::domain::MAX_HOSTS_PER_SITE;

/// One rule's table; every field is optional and falls back on the global
/// table (for a site) and then on the rule's default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub enabled: Option<bool>,
    pub weight: Option<f64>,
    pub mode: Option<Mode>,
    pub threshold: Option<f64>,
    pub window_seconds: Option<u64>,
    pub site_threshold: Option<f64>,
}

/// The `[rules]` table, and (the same shape) each `[rules.sites."<site>"]`
/// table, whose lists add to the global ones and whose rule tables override
/// the global settings field by field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    #[serde(default)]
    pub blocked_terms: Vec<String>,
    #[serde(default)]
    pub suspect_terms: Vec<String>,
    /// Added to the built-in advertising keywords that `author_keyword`
    /// looks for in the author's name and website.
    #[serde(default)]
    pub author_keywords: Vec<String>,
    #[serde(default)]
    pub blocked_domains: Vec<String>,
    #[serde(default)]
    pub blocked_ips: Vec<String>,
    #[serde(default)]
    pub blocked_emails: Vec<String>,
    /// Added to the built-in trusted domains, whose links the model does
    /// not read and `too_many_links` does not count.
    #[serde(default)]
    pub trusted_domains: Vec<String>,
    /// Whether the built-in trusted domains are trusted (they are unless
    /// this is `false`). Refused in a site's table.
    #[serde(default)]
    pub built_in_trusted_domains: Option<bool>,
    /// A site table's other host names: links to them, their subdomains or
    /// the domain just above stay on the site for the model, as links to
    /// the site id do when it is a host name. Refused in `[rules]` itself.
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub honeypot: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub submitted_too_fast: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub too_many_links: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub link_in_name: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub author_keyword: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub blocked_term: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub suspect_term: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub blocked_domain: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub blocked_ip: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub blocked_email: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub excessive_caps: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub repeated_characters: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub obfuscated_text: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub contact_offer: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub disguised_keyword: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub duplicate_content: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub flood: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub new_author: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub trusted_author: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub spam_author: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::rule_table")]
    pub on_topic: Option<RuleConfig>,
    #[serde(default, deserialize_with = "crate::config::named_tables")]
    pub sites: BTreeMap<String, RulesConfig>,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
        origin: None,
    }
}

impl RulesConfig {
    fn table(&self, rule: Rule) -> Option<&RuleConfig> {
        match rule {
            Rule::Honeypot => self.honeypot.as_ref(),
            Rule::SubmittedTooFast => self.submitted_too_fast.as_ref(),
            Rule::TooManyLinks => self.too_many_links.as_ref(),
            Rule::LinkInName => self.link_in_name.as_ref(),
            Rule::AuthorKeyword => self.author_keyword.as_ref(),
            Rule::BlockedTerm => self.blocked_term.as_ref(),
            Rule::SuspectTerm => self.suspect_term.as_ref(),
            Rule::BlockedDomain => self.blocked_domain.as_ref(),
            Rule::BlockedIp => self.blocked_ip.as_ref(),
            Rule::BlockedEmail => self.blocked_email.as_ref(),
            Rule::ExcessiveCaps => self.excessive_caps.as_ref(),
            Rule::RepeatedCharacters => self.repeated_characters.as_ref(),
            Rule::ObfuscatedText => self.obfuscated_text.as_ref(),
            Rule::ContactOffer => self.contact_offer.as_ref(),
            Rule::DisguisedKeyword => self.disguised_keyword.as_ref(),
            Rule::DuplicateContent => self.duplicate_content.as_ref(),
            Rule::Flood => self.flood.as_ref(),
            Rule::NewAuthor => self.new_author.as_ref(),
            Rule::TrustedAuthor => self.trusted_author.as_ref(),
            Rule::SpamAuthor => self.spam_author.as_ref(),
            Rule::OnTopic => self.on_topic.as_ref(),
        }
    }

    /// Checks the table into the rules in force.
    pub fn check(&self) -> Result<Rules, ConfigError> {
        if !self.hosts.is_empty() {
            return Err(invalid(
                "rules.hosts",
                "hosts belong to one site: list them in its table, [rules.sites.\"SITE\"]",
            ));
        }
        let global = rule_set("rules", &[self], None)?;
        let mut sites = HashMap::with_capacity(self.sites.len());
        let mut site_hosts = HashMap::new();
        for (site, overrides) in &self.sites {
            let path = format!("rules.sites.{site:?}");
            crate::domain::check_site_id(site)
                .map_err(|reason| invalid(&path, reason.to_string()))?;
            if !overrides.sites.is_empty() {
                return Err(invalid(
                    format!("{path}.sites"),
                    "site tables cannot hold site tables of their own",
                ));
            }
            if overrides.built_in_trusted_domains.is_some() {
                return Err(invalid(
                    format!("{path}.built_in_trusted_domains"),
                    "the built-in trusted domains are turned off for every site, in [rules]; \
                     a site's table can only add trusted_domains",
                ));
            }
            sites.insert(
                site.clone(),
                Arc::new(rule_set(&path, &[self, overrides], Some(&global))?),
            );
            if !overrides.hosts.is_empty() {
                site_hosts.insert(site.clone(), check_hosts(&path, &overrides.hosts)?);
            }
        }
        Ok(Rules {
            global: Arc::new(global),
            sites,
            site_hosts,
        })
    }
}

/// The rule set of `layers` (the global table, then a site's), where lists
/// add up and later settings win. `path` names the last layer's table.
/// A site's rule set (`global` given: the global table's) shares the
/// global lists and builds only what its own table adds: a site table
/// that changes a setting costs nothing of a long global list.
fn rule_set(
    path: &str,
    layers: &[&RulesConfig],
    global: Option<&RuleSet>,
) -> Result<RuleSet, ConfigError> {
    let mut settings = Vec::with_capacity(Rule::ALL.len());
    for rule in Rule::ALL {
        let field = format!("{path}.{}", rule.code());
        settings.push(merge_settings(rule, &field, layers)?);
    }
    // The last layer's entries, each with the key it came from, so errors
    // can name it; the layers before are the global rule set's.
    let own = layers.last().copied();
    let list = |name: &str, pick: fn(&RulesConfig) -> &Vec<String>| -> Vec<(String, String)> {
        own.map(|layer| {
            pick(layer)
                .iter()
                .enumerate()
                .map(|(position, entry)| (format!("{path}.{name}[{position}]"), entry.clone()))
                .collect()
        })
        .unwrap_or_default()
    };
    let layered = |global: Option<&LayeredTerms>, entries: &[(String, String)]| match global {
        Some(global) => Ok(LayeredTerms::new(
            Arc::clone(global.global()),
            term_list(entries, Some(global.global()))?,
        )),
        None => Ok::<_, ConfigError>(LayeredTerms::new(
            Arc::new(term_list(entries, None)?),
            TermList::default(),
        )),
    };
    let blocked_terms = layered(
        global.map(|global| &global.blocked_terms),
        &list("blocked_terms", |c| &c.blocked_terms),
    )?;
    let suspect_terms = layered(
        global.map(|global| &global.suspect_terms),
        &list("suspect_terms", |c| &c.suspect_terms),
    )?;
    let mut keywords: Vec<(String, String)> = match global {
        Some(_) => Vec::new(),
        None => BUILT_IN_AUTHOR_KEYWORDS
            .iter()
            .map(|keyword| {
                (
                    "the built-in author_keywords".to_string(),
                    keyword.to_string(),
                )
            })
            .collect(),
    };
    keywords.extend(list("author_keywords", |c| &c.author_keywords));
    let author_keywords = layered(global.map(|global| &global.author_keywords), &keywords)?;
    let trusted_domains = trusted_domains(
        global.map(|global| &global.trusted_domains),
        own.and_then(|layer| layer.built_in_trusted_domains),
        &list("trusted_domains", |c| &c.trusted_domains),
    )?;
    let domains = list("blocked_domains", |c| &c.blocked_domains);
    let networks = list("blocked_ips", |c| &c.blocked_ips);
    let emails = list("blocked_emails", |c| &c.blocked_emails);
    let lists = match global {
        Some(global) if domains.is_empty() && networks.is_empty() && emails.is_empty() => {
            Arc::clone(&global.lists)
        }
        _ => {
            let mut lists =
                global.map_or_else(BlockLists::default, |global| (*global.lists).clone());
            for (field, domain) in domains {
                lists.add_domain(check_domain(&field, &domain)?);
            }
            for (field, range) in networks {
                lists.networks.push(check_network(&field, &range)?);
            }
            for (field, email) in emails {
                let address = canonical_email(&email).ok_or_else(|| {
                    invalid(
                        &field,
                        format!("{email:?} is not an e-mail address such as bot@spam.example"),
                    )
                })?;
                lists.emails.insert(address);
            }
            Arc::new(lists)
        }
    };
    let settings: [RuleSettings; Rule::ALL.len()] = settings
        .try_into()
        .map_err(|_| invalid(path, "every rule needs settings"))?;
    Ok(RuleSet {
        settings,
        blocked_terms,
        suspect_terms,
        author_keywords,
        lists,
        trusted_domains,
    })
}

/// Whether a domain is a suffix under which anyone may register a name:
/// a top-level domain other than those only public institutions are given
/// (`com`, `uk`), or a second level open to all (`co.uk`, `com.au`).
fn is_open_suffix(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    match labels.as_slice() {
        [single] => !matches!(*single, "gov" | "edu" | "mil" | "int"),
        [second, _] => matches!(*second, "co" | "com" | "net" | "org" | "ne" | "or"),
        _ => false,
    }
}

/// Domains under which anyone may publish or that send readers on
/// (shared hosting, blogs, video and social sites, short links, archives,
/// `doi.org`): a trusted domain that is one of them, or above one of them
/// (`google.com` above `sites.google.com`), would trust every spammer's
/// page there.
const SHARED_PUBLISHING_DOMAINS: &[&str] = &[
    "blogspot.com",
    "blogger.com",
    "github.io",
    "gitlab.io",
    "wordpress.com",
    "medium.com",
    "substack.com",
    "tumblr.com",
    "wixsite.com",
    "weebly.com",
    "netlify.app",
    "vercel.app",
    "pages.dev",
    "web.app",
    "firebaseapp.com",
    "appspot.com",
    "herokuapp.com",
    "azurewebsites.net",
    "s3.amazonaws.com",
    "cloudfront.net",
    "sites.google.com",
    "docs.google.com",
    "drive.google.com",
    "storage.googleapis.com",
    "dropbox.com",
    "telegra.ph",
    "t.me",
    "youtube.com",
    "youtu.be",
    "vimeo.com",
    "tiktok.com",
    "facebook.com",
    "instagram.com",
    "x.com",
    "twitter.com",
    "reddit.com",
    "linktr.ee",
    "pastebin.com",
    "archive.org",
    "archive.ph",
    "doi.org",
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "cutt.ly",
    "rebrand.ly",
];

/// Whether a domain is, or is above, one of [`SHARED_PUBLISHING_DOMAINS`].
fn is_shared_publishing(domain: &str) -> bool {
    SHARED_PUBLISHING_DOMAINS.iter().any(|shared| {
        *shared == domain
            || shared
                .strip_suffix(domain)
                .is_some_and(|above| above.ends_with('.'))
    })
}

/// The trusted domains of a rule set: the global set's (`global`, for a
/// site's) or the built-in ones unless `built_in` is `false`, and the
/// layer's own `entries`, each checked.
fn trusted_domains(
    global: Option<&Arc<TrustedDomains>>,
    built_in: Option<bool>,
    entries: &[(String, String)],
) -> Result<Arc<TrustedDomains>, ConfigError> {
    let mut domains: Vec<String> = Vec::with_capacity(entries.len());
    for (field, entry) in entries {
        let domain = trusted_domain(entry).ok_or_else(|| {
            invalid(
                field,
                format!("{entry:?} is not a domain such as gov.uk or statistics.example"),
            )
        })?;
        if is_open_suffix(&domain) {
            return Err(invalid(
                field,
                format!(
                    "{entry:?} is a suffix anyone can register a name under: trusting it would \
                     trust every spammer's site there"
                ),
            ));
        }
        if is_shared_publishing(&domain) {
            return Err(invalid(
                field,
                format!(
                    "{entry:?} is a domain anyone can publish under or that sends readers on \
                     (shared hosting, blogs, video and social sites, short links, archives): \
                     trusting it would trust every spammer's page there"
                ),
            ));
        }
        domains.push(domain);
    }
    match global {
        Some(global) if domains.is_empty() => Ok(Arc::clone(global)),
        Some(global) => Ok(Arc::new(global.with(&domains))),
        None => {
            let built_in = match built_in {
                Some(false) => &[][..],
                Some(true) | None => BUILT_IN_TRUSTED_DOMAINS,
            };
            let all = built_in
                .iter()
                .copied()
                .chain(domains.iter().map(String::as_str));
            Ok(Arc::new(TrustedDomains::new(all)))
        }
    }
}

/// A site's `hosts`, each a host name, lower-cased, without a trailing
/// `.` or a leading `www.` (as links are read); at most
/// [`MAX_HOSTS_PER_SITE`]. A suffix anyone can register a name under
/// (`co.uk`) or a domain anyone can publish under (`bit.ly`, `github.io`)
/// is refused, as for `trusted_domains`: every link under it, spammers'
/// included, would count as the site's own.
fn check_hosts(path: &str, hosts: &[String]) -> Result<Vec<String>, ConfigError> {
    if hosts.len() > MAX_HOSTS_PER_SITE {
        return Err(invalid(
            format!("{path}.hosts"),
            format!(
                "{} hosts given; a site may list at most {MAX_HOSTS_PER_SITE}",
                hosts.len()
            ),
        ));
    }
    let mut checked = Vec::with_capacity(hosts.len());
    for (position, host) in hosts.iter().enumerate() {
        let name = crate::domain::host_name(host).ok_or_else(|| {
            invalid(
                format!("{path}.hosts[{position}]"),
                format!("{host:?} is not a host name such as news.example.com"),
            )
        })?;
        if is_open_suffix(&name) || is_shared_publishing(&name) {
            return Err(invalid(
                format!("{path}.hosts[{position}]"),
                format!(
                    "{host:?} is a suffix or a domain anyone can register or publish under: \
                     every link under it, spammers' included, would count as the site's own"
                ),
            ));
        }
        checked.push(name);
    }
    Ok(checked)
}

/// The terms of `entries`, beside the global list when they are a site's.
fn term_list(
    entries: &[(String, String)],
    global: Option<&TermList>,
) -> Result<TermList, ConfigError> {
    let terms: Vec<String> = entries.iter().map(|(_, term)| term.clone()).collect();
    let built = match global {
        Some(global) => TermList::beside(global, &terms),
        None => TermList::new(&terms),
    };
    built.map_err(|error| match error {
        TermListError::NoWords(position) => invalid(
            entries[position].0.clone(),
            format!(
                "{:?} has no letters or digits to match",
                entries[position].1
            ),
        ),
        TermListError::SingleLetters(position, letter) => invalid(
            entries[position].0.clone(),
            format!(
                "{:?} reads as the single letter {letter:?}, which would match every lone \
                 {letter:?} (symbols other than @ $ ! | * # are no part of a word): write \
                 the term with the words a comment would use",
                entries[position].1
            ),
        ),
        TermListError::TooLong(position) => invalid(
            entries[position].0.clone(),
            format!(
                "a term may have at most {MAX_TERM_CHARACTERS} characters and \
                 {MAX_TERM_WORDS} words: write a shorter phrase that the unwanted texts share"
            ),
        ),
        TermListError::TooLarge(reason) => invalid(
            // The list's name: its first entry's, without the position.
            entries
                .first()
                .map(|(field, _)| {
                    field
                        .rsplit_once('[')
                        .map_or(field.as_str(), |(list, _)| list)
                })
                .unwrap_or_default()
                .to_string(),
            format!("the list's terms cannot be searched for together: {reason}"),
        ),
    })
}

fn check_domain(field: &str, domain: &str) -> Result<String, ConfigError> {
    let domain = domain.trim().trim_end_matches('.').to_lowercase();
    let domain = domain.strip_prefix("www.").unwrap_or(&domain).to_string();
    let valid = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if valid {
        Ok(domain)
    } else {
        Err(invalid(
            field,
            format!("{domain:?} is not a domain such as spam.example"),
        ))
    }
}

/// A CIDR range, or a single address (a range of one).
/// A blocked address or range. An IPv4 address written as IPv6
/// (`::ffff:203.0.113.0/120`) is taken as the IPv4 range it is, since an
/// author's address is compared in its IPv4 form; a range of every address
/// (`/0`) is refused, since it would block every comment that has one.
fn check_network(field: &str, range: &str) -> Result<IpNet, ConfigError> {
    let written = range.trim();
    let network = written
        .parse::<IpNet>()
        .or_else(|_| written.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            invalid(
                field,
                format!("{written:?} is not an IP address or a CIDR range such as 203.0.113.0/24"),
            )
        })?;
    let network = match network {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(network),
            None => network,
        },
        other => other,
    };
    if network.prefix_len() == 0 {
        return Err(invalid(
            field,
            format!("{written:?} is every address: it would block every comment that has one"),
        ));
    }
    Ok(network)
}

/// A rule's settings: its defaults, then each layer's table field by field.
fn merge_settings(
    rule: Rule,
    field: &str,
    layers: &[&RulesConfig],
) -> Result<RuleSettings, ConfigError> {
    let mut settings = rule.defaults();
    for table in layers.iter().filter_map(|layer| layer.table(rule)) {
        if let Some(enabled) = table.enabled {
            settings.enabled = enabled;
        }
        if let Some(weight) = table.weight {
            if !weight.is_finite() || weight.abs() > MAX_WEIGHT {
                return Err(invalid(
                    format!("{field}.weight"),
                    format!(
                        "must be between -{MAX_WEIGHT} and {MAX_WEIGHT} (log-odds), not {weight}"
                    ),
                ));
            }
            settings.weight = weight;
        }
        if let Some(mode) = table.mode {
            settings.mode = mode;
        }
        if let Some(threshold) = table.threshold {
            settings.threshold = check_threshold(rule, field, threshold)?;
        }
        if let Some(window) = table.window_seconds {
            if !rule.has_window() {
                return Err(invalid(
                    format!("{field}.window_seconds"),
                    "this rule looks at no window",
                ));
            }
            if window == 0 || window > MAX_WINDOW_SECONDS {
                return Err(invalid(
                    format!("{field}.window_seconds"),
                    format!("must be between 1 and {MAX_WINDOW_SECONDS}, not {window}"),
                ));
            }
            settings.window_seconds = window;
        }
        if let Some(site_threshold) = table.site_threshold {
            if rule != Rule::Flood {
                return Err(invalid(
                    format!("{field}.site_threshold"),
                    "only flood counts comments per site",
                ));
            }
            // Counted among the site's recent comments, of which the rules
            // see at most MAX_RECENT_COMMENTS: a larger threshold could never
            // be reached.
            let most = super::state::MAX_RECENT_COMMENTS as f64;
            if !(0.0..=most).contains(&site_threshold) || site_threshold.fract() != 0.0 {
                return Err(invalid(
                    format!("{field}.site_threshold"),
                    format!("must be a whole number from 0 (off) to {most}, not {site_threshold}"),
                ));
            }
            settings.site_threshold = site_threshold;
        }
    }
    // A rule that speaks for a comment (a negative weight, as
    // `trusted_author`'s) cannot also send it to review or reject it: a
    // regular's comment would be held for being a regular's.
    if settings.weight < 0.0 && settings.mode != Mode::Score {
        return Err(invalid(
            format!("{field}.mode"),
            format!(
                "a rule with a negative weight ({}) speaks for a comment: its mode must be \"score\"",
                settings.weight
            ),
        ));
    }
    Ok(settings)
}

fn check_threshold(rule: Rule, field: &str, threshold: f64) -> Result<f64, ConfigError> {
    let field = format!("{field}.threshold");
    let Some(spec) = rule.threshold_spec() else {
        return Err(invalid(field, "this rule takes no threshold"));
    };
    let in_range = threshold.is_finite() && (spec.min..=spec.max).contains(&threshold);
    if !in_range || (spec.whole && threshold.fract() != 0.0) {
        let kind = if spec.whole {
            "a whole number"
        } else {
            "a number"
        };
        return Err(invalid(
            field,
            format!(
                "must be {kind} from {} to {}, not {threshold}",
                spec.min, spec.max
            ),
        ));
    }
    Ok(threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site table shares the global lists: one that only changes a
    /// setting holds the very same lists, and one that adds a term builds
    /// that term alone, beside the global list (a long global list is
    /// built once, however many site tables there are).
    #[test]
    fn site_tables_share_the_global_lists() {
        let rules = parse(
            "blocked_terms = [\"casino\"]\nblocked_domains = [\"spam.example\"]\n\
             [sites.\"quiet.example\"]\nnew_author = { enabled = true }\n\
             [sites.\"strict.example\"]\nblocked_terms = [\"lottery\", \"CASINO\"]\n",
        )
        .unwrap();
        let global = &rules.global;
        for site in ["quiet.example", "strict.example"] {
            let site_rules = &rules.sites[site];
            assert!(Arc::ptr_eq(
                global.blocked_terms.global(),
                site_rules.blocked_terms.global()
            ));
            assert!(Arc::ptr_eq(&global.lists, &site_rules.lists), "{site}");
        }
        let found = |site: &str, text: &str| {
            let folded = crate::rules::fold::folded_words(&crate::text::normalize(text));
            rules
                .for_site(site)
                .blocked_terms
                .find(&folded)
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        // The site's own term, and the global one named once as the global
        // list wrote it.
        assert_eq!(
            found("strict.example", "casino and lottery"),
            ["casino", "lottery"]
        );
        assert_eq!(found("quiet.example", "casino and lottery"), ["casino"]);
        // A site that adds to a block list holds its own copy with both.
        let rules = parse(
            "blocked_domains = [\"spam.example\"]\n\
             [sites.\"strict.example\"]\nblocked_emails = [\"Bot@Spam.Example.\"]\n",
        )
        .unwrap();
        let site_rules = &rules.sites["strict.example"];
        assert!(!Arc::ptr_eq(&rules.global.lists, &site_rules.lists));
        assert!(site_rules.lists.emails.contains("bot@spam.example"));
        let comment = crate::rules::testing::comment("cheap pills at spam.example");
        let context = super::super::Context::stateless(crate::domain::UnixMillis(0));
        let hits = rules
            .for_site("strict.example")
            .evaluate(&comment, &context)
            .hits;
        assert!(
            hits.iter().any(|hit| hit.rule == Rule::BlockedDomain),
            "{hits:?}"
        );
    }

    /// An IPv4 range written as IPv6 blocks the IPv4 addresses it holds,
    /// as authors' addresses are compared in their IPv4 form; an e-mail
    /// entry matches the address with a trailing dot or in the other form
    /// of an internationalised domain.
    #[test]
    fn mapped_ranges_and_e_mail_spellings_match() {
        use crate::domain::{Author, UnixMillis};
        let rules = parse(
            "blocked_ips = [\"::ffff:203.0.113.0/120\"]\n\
             blocked_emails = [\"bot@аптека.рф\"]\n",
        )
        .unwrap();
        let context = super::super::Context::stateless(UnixMillis(0));
        let fired = |author: Author, rule: Rule| {
            let comment = crate::rules::testing::comment_by("hello", author);
            rules
                .for_site("any")
                .evaluate(&comment, &context)
                .hits
                .iter()
                .any(|hit| hit.rule == rule)
        };
        let from_ip = |ip: &str| Author {
            ip: Some(ip.parse().unwrap()),
            ..Author::default()
        };
        assert!(fired(from_ip("203.0.113.5"), Rule::BlockedIp));
        assert!(!fired(from_ip("203.0.114.5"), Rule::BlockedIp));
        for email in ["bot@xn--80aaouxs.xn--p1ai", "BOT@аптека.рф."] {
            let author = Author {
                email: email.to_string(),
                ..Author::default()
            };
            assert!(fired(author, Rule::BlockedEmail), "{email}");
        }
    }

    fn parse(text: &str) -> Result<Rules, ConfigError> {
        let config: RulesConfig = toml::from_str(text).map_err(|error| ConfigError::Parse {
            origin: "test".to_string(),
            message: error.to_string(),
        })?;
        config.check()
    }

    #[test]
    fn no_table_gives_the_defaults() {
        let rules = parse("").unwrap();
        let set = rules.for_site("any.example");
        for rule in Rule::ALL {
            assert_eq!(*set.settings(rule), rule.defaults(), "{}", rule.code());
        }
    }

    #[test]
    fn settings_and_lists_are_read_and_sites_layer_over_them() {
        let rules = parse(
            "blocked_terms = [\"free money\"]\n\
             blocked_ips = [\"203.0.113.0/24\", \"198.51.100.7\"]\n\
             [submitted_too_fast]\nthreshold = 5.0\nmode = \"reject\"\n\
             [sites.\"news.example\"]\nblocked_terms = [\"casino\"]\n\
             submitted_too_fast = { weight = 3.0 }\nnew_author = { enabled = true }\n",
        )
        .unwrap();
        let global = rules.for_site("blog.example");
        let fast = global.settings(Rule::SubmittedTooFast);
        assert_eq!(
            (fast.threshold, fast.mode, fast.weight),
            (5.0, Mode::Reject, 2.0)
        );
        assert!(!global.settings(Rule::NewAuthor).enabled);
        assert_eq!(global.lists.networks.len(), 2);
        let news = rules.for_site("news.example");
        let fast = news.settings(Rule::SubmittedTooFast);
        assert_eq!(
            (fast.threshold, fast.mode, fast.weight),
            (5.0, Mode::Reject, 3.0)
        );
        assert!(news.settings(Rule::NewAuthor).enabled);
        let words = |text: &str| super::super::fold::folded_words(&crate::text::normalize(text));
        assert_eq!(
            news.blocked_terms.find(&words("casino free money")).len(),
            2
        );
        assert_eq!(
            global.blocked_terms.find(&words("casino free money")).len(),
            1
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let cases = [
            (
                "blocked_ips = [\"10.0.0.0/8\", \"10.0.0.300/8\"]",
                "rules.blocked_ips[1]",
            ),
            ("blocked_ips = [\"0.0.0.0/0\"]", "rules.blocked_ips[0]"),
            (
                "trusted_author = { mode = \"reject\" }",
                "rules.trusted_author.mode",
            ),
            (
                "[sites.\"news.example\"]\nhoneypot = { weight = -1.0 }",
                "rules.sites.\"news.example\".honeypot.mode",
            ),
            (
                "blocked_ips = [\"10.0.0.0/8\", \"::/0\"]",
                "rules.blocked_ips[1]",
            ),
            (
                "blocked_emails = [\"mailto:bot@spam.example\"]",
                "rules.blocked_emails[0]",
            ),
            (
                "blocked_emails = [\"Bot <bot@spam.example>\"]",
                "rules.blocked_emails[0]",
            ),
            (
                "blocked_domains = [\"not a domain\"]",
                "rules.blocked_domains[0]",
            ),
            ("blocked_emails = [\"nobody\"]", "rules.blocked_emails[0]"),
            (
                "blocked_terms = [\"ok\", \"...\"]",
                "rules.blocked_terms[1]",
            ),
            (
                "[excessive_caps]\nthreshold = 1.5",
                "rules.excessive_caps.threshold",
            ),
            (
                "[too_many_links]\nthreshold = 2.5",
                "rules.too_many_links.threshold",
            ),
            ("[honeypot]\nthreshold = 1", "rules.honeypot.threshold"),
            ("[honeypot]\nweight = 100.0", "rules.honeypot.weight"),
            (
                "[honeypot]\nwindow_seconds = 60",
                "rules.honeypot.window_seconds",
            ),
            ("[flood]\nwindow_seconds = 0", "rules.flood.window_seconds"),
            (
                "[duplicate_content]\nsite_threshold = 5",
                "rules.duplicate_content.site_threshold",
            ),
            // Beyond the recent comments the rules see: never reached.
            (
                "[flood]\nsite_threshold = 5000",
                "rules.flood.site_threshold",
            ),
            ("[flood]\nthreshold = 2001", "rules.flood.threshold"),
            (
                "[sites.\"news.example\"]\nblocked_ips = [\"x\"]",
                "rules.sites.\"news.example\".blocked_ips[0]",
            ),
            ("[sites.\"bad site\"]", "rules.sites.\"bad site\""),
            // A site's hosts belong in its table, and are host names.
            ("hosts = [\"news.example\"]", "rules.hosts"),
            (
                "[sites.\"blog-42\"]\nhosts = [\"news.example\", \"not a host\"]",
                "rules.sites.\"blog-42\".hosts[1]",
            ),
            (
                "[sites.\"blog-42\"]\nhosts = [\"news.example\", \"co.uk\"]",
                "rules.sites.\"blog-42\".hosts[1]",
            ),
            (
                "[sites.\"blog-42\"]\nhosts = [\"bit.ly\"]",
                "rules.sites.\"blog-42\".hosts[0]",
            ),
            (
                "[sites.\"blog-42\"]\nhosts = [\"localhost\"]",
                "rules.sites.\"blog-42\".hosts[0]",
            ),
            // Trusted domains are domains, and the built-in ones are
            // turned off for every site at once.
            (
                "trusted_domains = [\"gov.uk\", \"https://stats.example/\"]",
                "rules.trusted_domains[1]",
            ),
            (
                "trusted_domains = [\"*.example\"]",
                "rules.trusted_domains[0]",
            ),
            (
                "trusted_domains = [\"gov\", \"com\"]",
                "rules.trusted_domains[1]",
            ),
            ("trusted_domains = [\"co.uk\"]", "rules.trusted_domains[0]"),
            (
                "trusted_domains = [\"gov.uk\", \"github.io\"]",
                "rules.trusted_domains[1]",
            ),
            (
                "trusted_domains = [\"google.com\"]",
                "rules.trusted_domains[0]",
            ),
            // A term that reads as single letters by accident, or too long.
            ("blocked_terms = [\"ok\", \"c#\"]", "rules.blocked_terms[1]"),
            (
                "[sites.\"blog-42\"]\nsuspect_terms = [\"c++\"]",
                "rules.sites.\"blog-42\".suspect_terms[0]",
            ),
            (
                "[sites.\"blog-42\"]\ntrusted_domains = [\"a b\"]",
                "rules.sites.\"blog-42\".trusted_domains[0]",
            ),
            (
                "[sites.\"blog-42\"]\nbuilt_in_trusted_domains = false",
                "rules.sites.\"blog-42\".built_in_trusted_domains",
            ),
        ];
        for (text, key) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(key), "{text}: {error}");
        }
        let too_many: Vec<String> = (0..=MAX_HOSTS_PER_SITE)
            .map(|index| format!("\"h{index}.example\""))
            .collect();
        let text = format!("[sites.\"blog-42\"]\nhosts = [{}]", too_many.join(", "));
        let error = parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("rules.sites.\"blog-42\".hosts") && error.contains("at most 64"),
            "{error}"
        );
    }

    #[test]
    fn a_site_lists_its_other_hosts_as_links_read_them() {
        let rules = parse(
            "[sites.\"blog-42\"]\n\
             hosts = [\"WWW.News.Example.\", \"nyti.ms\", \"news-blog.blogspot.com\"]\n\
             [sites.\"news.example\"]\nsuspect_terms = [\"casino\"]",
        )
        .unwrap();
        assert_eq!(
            rules.hosts_of("blog-42"),
            ["news.example", "nyti.ms", "news-blog.blogspot.com"]
        );
        // A site table without hosts, and a site without a table, list none.
        assert!(rules.hosts_of("news.example").is_empty());
        assert!(rules.hosts_of("other").is_empty());
    }

    /// The built-in trusted domains, the configured ones added to them (a
    /// site's to its own links only), and none of the built-in ones when
    /// they are turned off.
    #[test]
    fn trusted_domains_add_to_the_built_in_ones() {
        let rules = parse(
            "trusted_domains = [\"WWW.Stats.Example.\"]\n\
             [sites.\"blog-42\"]\ntrusted_domains = [\"nyti.ms\"]\n\
             [sites.\"news.example\"]\nsuspect_terms = [\"casino\"]",
        )
        .unwrap();
        let trusts =
            |site: &str, domain: &str| rules.for_site(site).trusted_domains().trusts(domain);
        for site in ["blog-42", "news.example", "other"] {
            assert!(trusts(site, "ons.gov.uk"), "{site}");
            assert!(trusts(site, "stats.example"), "{site}");
        }
        assert!(trusts("blog-42", "nyti.ms"));
        assert!(!trusts("news.example", "nyti.ms"));
        // A site table that adds none shares the global set.
        assert!(Arc::ptr_eq(
            rules.for_site("news.example").trusted_domains(),
            rules.for_site("other").trusted_domains()
        ));
        let without =
            parse("built_in_trusted_domains = false\ntrusted_domains = [\"stats.example\"]")
                .unwrap();
        let trusted = without.for_site("other").trusted_domains();
        assert!(trusted.trusts("stats.example"));
        assert!(!trusted.trusts("ons.gov.uk"));
    }

    #[test]
    fn unknown_keys_and_modes_are_refused() {
        for text in [
            "blocked_term = [\"x\"]",
            "[honeypot]\nwieght = 1.0",
            "[flood]\nmode = \"ban\"",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
