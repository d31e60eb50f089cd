//! Every rule over any comment text and author fields, and the similarity
//! fingerprint: no panic, similarities within 0..1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moderato::domain::{Author, Comment, UnixMillis};
use moderato::rules::{Context, Fingerprint, Rules, RulesConfig};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{1}');
    let content = parts.next().unwrap_or_default().to_string();
    let name = parts.next().unwrap_or_default().to_string();
    let email = parts.next().unwrap_or_default().to_string();
    let url = parts.next().unwrap_or_default().to_string();
    let comment = Comment {
        site_id: "fuzz.example".to_string(),
        comment_id: "c".to_string(),
        content: content.clone(),
        author: Author {
            name,
            email,
            url,
            ..Author::default()
        },
        context: Default::default(),
        submitted_at: UnixMillis(0),
        form: Default::default(),
    };
    let config: RulesConfig = toml::from_str(
        "blocked_terms = [\"free money\", \"casino\"]\nsuspect_terms = [\"click here\"]\n\
         blocked_domains = [\"spam.example\"]\nauthor_keywords = [\"roof repair\"]\n\
         [excessive_caps]\nenabled = true\n",
    )
    .expect("the fuzz rules are valid");
    for rules in [Rules::default(), config.check().expect("the fuzz rules check")] {
        let evaluation = rules
            .for_site("fuzz.example")
            .evaluate(&comment, &Context::stateless(UnixMillis(0)));
        if let (Some(a), Some(b)) = (&evaluation.fingerprint, Fingerprint::of(&content)) {
            let similarity = a.similarity(&b);
            assert!((0.0..=1.0).contains(&similarity));
        }
    }
});
