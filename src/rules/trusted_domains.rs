//! The built-in `trusted_domains`: domains whose links a reader cites as
//! sources, which the model reads a comment without and `too_many_links`
//! does not count (see `classifier::TrustedDomains` for why).
//!
//! The list holds what no spam campaign can publish on: the domains that
//! only governments, parliaments, public health services and universities
//! are given, intergovernmental organisations, the encyclopaedia and
//! scholarly references readers cite, and public-service broadcasters and
//! news agencies. Newspapers are left to each site (`trusted_domains` in
//! `[rules]` or a site's table): which of them a site's readers cite is
//! the site's choice. Services where anyone can publish (video and blog
//! hosts, link shorteners, redirects, web archives) are never on it, since
//! a spammer's page can be a link to them. An operator who wants none of
//! it sets `built_in_trusted_domains = false`.

/// The built-in trusted domains; each trusts its subdomains too.
pub const BUILT_IN_TRUSTED_DOMAINS: &[&str] = &[
    // Top-level domains given only to public institutions.
    "gov",
    "mil",
    "edu",
    "int",
    // Second-level domains of governments, parliaments, health services,
    // police and universities.
    "gov.uk",
    "parliament.uk",
    "nhs.uk",
    "police.uk",
    "ac.uk",
    "gov.scot",
    "gov.wales",
    "gov.ie",
    "oireachtas.ie",
    "gov.au",
    "edu.au",
    "govt.nz",
    "parliament.nz",
    "ac.nz",
    "gc.ca",
    "canada.ca",
    "gov.in",
    "nic.in",
    "ac.in",
    "gov.za",
    "ac.za",
    "gov.sg",
    "edu.sg",
    "gov.hk",
    "go.jp",
    "ac.jp",
    "go.kr",
    "ac.kr",
    "gov.br",
    "gob.mx",
    "gob.ar",
    "gob.cl",
    "gob.es",
    "gouv.fr",
    "assemblee-nationale.fr",
    "senat.fr",
    "bund.de",
    "bundestag.de",
    "admin.ch",
    "gv.at",
    "overheid.nl",
    "rijksoverheid.nl",
    "tweedekamer.nl",
    "belgium.be",
    "fgov.be",
    "gov.it",
    "governo.it",
    "gov.pl",
    "regeringen.se",
    "riksdagen.se",
    "regjeringen.no",
    "stortinget.no",
    "ft.dk",
    "valtioneuvosto.fi",
    "eduskunta.fi",
    // Intergovernmental organisations outside `int`.
    "europa.eu",
    "un.org",
    "oecd.org",
    "imf.org",
    "worldbank.org",
    // The encyclopaedia, and scholarly references.
    "wikipedia.org",
    "wiktionary.org",
    "wikidata.org",
    "arxiv.org",
    "nature.com",
    "science.org",
    "thelancet.com",
    "nejm.org",
    "bmj.com",
    "cochranelibrary.com",
    "jstor.org",
    // Public-service broadcasters and news agencies.
    "bbc.co.uk",
    "bbc.com",
    "apnews.com",
    "reuters.com",
    "afp.com",
    "npr.org",
    "pbs.org",
    "abc.net.au",
    "sbs.com.au",
    "cbc.ca",
    "radio-canada.ca",
    "rnz.co.nz",
    "rte.ie",
    "tagesschau.de",
    "ard.de",
    "zdf.de",
    "dw.com",
    "deutschlandfunk.de",
    "orf.at",
    "srf.ch",
    "rts.ch",
    "francetvinfo.fr",
    "radiofrance.fr",
    "rai.it",
    "ansa.it",
    "rtve.es",
    "efe.com",
    "rtp.pt",
    "nos.nl",
    "vrt.be",
    "rtbf.be",
    "svt.se",
    "sverigesradio.se",
    "nrk.no",
    "dr.dk",
    "yle.fi",
    "nhk.or.jp",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::{trusted_domain, TrustedDomains};

    /// Every entry is a domain as links are read (lower case, no `www.`),
    /// listed once.
    #[test]
    fn the_built_in_domains_are_domains_each_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for domain in BUILT_IN_TRUSTED_DOMAINS {
            assert_eq!(trusted_domain(domain).as_deref(), Some(*domain));
            assert!(seen.insert(*domain), "{domain} is listed twice");
        }
        let trusted = TrustedDomains::new(BUILT_IN_TRUSTED_DOMAINS);
        for domain in [
            "ons.gov.uk",
            "cdc.gov",
            "en.wikipedia.org",
            "who.int",
            "bbc.co.uk",
        ] {
            assert!(trusted.trusts(domain), "{domain}");
        }
        // Services where anyone publishes, and look-alikes of trusted names.
        for domain in [
            "youtube.com",
            "bit.ly",
            "archive.org",
            "medium.com",
            "gov.uk.example",
            "govuk.example",
            "notbbc.co.uk",
            // A resolver that sends readers on to any address.
            "doi.org",
        ] {
            assert!(!trusted.trusts(domain), "{domain}");
        }
    }
}
