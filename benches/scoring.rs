//! Scoring throughput, model alone vs model with every rule on (acceptance
//! 5 of the rules: the rules must keep at least 70% of the model-only
//! throughput), and full training. Scores the texts of
//! `../shared/data/sms_test.tsv` and trains on both training splits, as
//! `moderato train` would; run with `cargo bench --bench scoring`.
//!
//! "With rules" is what the engine does per comment minus storage: the
//! rules and the similarity fingerprint over a context holding a window of
//! recent comments, and the combined verdict; once with the default rules,
//! once with every rule on (the ones off by default too, term and block
//! lists filled).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use moderato::classifier::{read_labelled_file, train, LabelledExample, Model, TrainingParams};
use moderato::config::{Config, Overrides};
use moderato::domain::{Author, Comment, UnixMillis};
use moderato::rules::{Context, Fingerprint, RecentComment};
use moderato::verdict::{decide, decide_with_rules, site_hosts, Thresholds};

/// Every rule on, with lists long enough to cost something.
const ALL_RULES: &str = r#"
[rules]
blocked_terms = ["free money", "work from home", "casino", "viagra", "crypto giveaway"]
suspect_terms = ["click here", "limited offer", "winner", "prize", "subscribe"]
blocked_domains = ["spam.example", "bit.ly.example", "cheap-pills.example"]
blocked_ips = ["203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"]
blocked_emails = ["bot@spam.example"]
[rules.excessive_caps]
enabled = true
[rules.new_author]
enabled = true
"#;

/// Rounds of the interleaved ratio measurement.
const INTERLEAVED_ROUNDS: usize = 41;

fn examples(file: &str) -> Vec<LabelledExample> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(file);
    if !path.is_file() {
        panic!(
            "the scoring benchmark needs {} (the shared corpora beside the project root); it is missing",
            path.display()
        );
    }
    read_labelled_file(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn texts() -> Vec<String> {
    examples("sms_test.tsv")
        .into_iter()
        .map(|example| example.text)
        .collect()
}

/// Full training (features, five cross-validation fits for the
/// calibration, the final fit) on youtube_train and sms_train together.
fn training(criterion: &mut Criterion) {
    let mut corpus = examples("youtube_train.csv");
    corpus.extend(examples("sms_train.tsv"));
    let params = TrainingParams::default()
        .check()
        .expect("the default training parameters are valid");
    let mut group = criterion.benchmark_group("training");
    group.throughput(Throughput::Elements(corpus.len() as u64));
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(20));
    group.bench_function("youtube_train_and_sms_train", |bench| {
        bench.iter(|| {
            std::hint::black_box(
                train(&params, &corpus, Vec::new(), &mut |_| {}).expect("training succeeds"),
            )
        })
    });
    group.finish();
}

fn comment(index: usize, text: &str) -> Comment {
    Comment {
        site_id: "bench.example".to_string(),
        comment_id: format!("c{index}"),
        content: text.to_string(),
        author: Author {
            name: format!("Reader {}", index % 50),
            email: format!("reader{}@mail.example", index % 50),
            url: "https://blog.example/me".to_string(),
            ip: format!("192.0.2.{}", index % 200).parse().ok(),
            user_agent: String::new(),
        },
        context: Default::default(),
        submitted_at: UnixMillis(1_700_000_000_000),
        form: moderato::domain::FormSignals {
            honeypot: String::new(),
            seconds_on_page: Some(30.0),
        },
    }
}

fn scoring(criterion: &mut Criterion) {
    let texts = texts();
    let comments: Vec<Comment> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| comment(index, text))
        .collect();
    let model = Model::embedded_default().expect("the built-in model loads");
    let thresholds = Thresholds::default();
    let rules = Config::from_toml("bench", ALL_RULES, &Overrides::default())
        .expect("the bench rules are valid")
        .rules;
    let rule_set = rules.for_site("bench.example");
    let default_rules = moderato::rules::Rules::default();
    let default_rule_set = default_rules.for_site("bench.example");
    let now = UnixMillis(1_700_000_000_000);
    // A window of recent comments like the engine reads on a busy site: the
    // corpus's own first 500 texts, one every three minutes (the last 25 h).
    let recent: Vec<RecentComment> = comments
        .iter()
        .take(500)
        .enumerate()
        .map(|(index, comment)| RecentComment {
            at: UnixMillis(now.0 - 180_000 * index as i64),
            comment_id: format!("recent-{index}"),
            author_key: moderato::rules::author_key(&comment.author).into(),
            ip: comment.author.ip,
            fingerprint: Fingerprint::of(&comment.content),
        })
        .collect();
    let history = moderato::rules::AuthorHistory {
        comments: 3,
        approved: 3,
        spam: 0,
    };

    // This machine's speed drifts between criterion's groups (a shared
    // virtual machine), which skews a ratio of two groups measured a few
    // seconds apart. The ratio the acceptance asks for is therefore also
    // measured here with the three variants interleaved: each round times
    // one pass of each, and the median of the rounds' ratios is printed.
    let score_pass = || {
        let started = std::time::Instant::now();
        for comment in &comments {
            std::hint::black_box(model.score(&comment.content));
        }
        started.elapsed().as_secs_f64()
    };
    let model_pass = || {
        let started = std::time::Instant::now();
        for comment in &comments {
            std::hint::black_box(decide(&model, &thresholds, comment));
        }
        started.elapsed().as_secs_f64()
    };
    // Every comment through the rules and the model, as a check does.
    let assess_all = |rule_set: &moderato::rules::RuleSet| {
        for comment in &comments {
            let context = Context {
                now,
                recent: moderato::rules::RecentList::from(&recent[..]),
                author: Some(history),
            };
            let evaluation = rule_set.evaluate(comment, &context);
            std::hint::black_box(&evaluation.fingerprint);
            std::hint::black_box(decide_with_rules(
                &model,
                &thresholds,
                comment,
                &site_hosts(comment, &[]),
                &evaluation,
            ));
        }
    };
    let rules_pass = |rule_set: &moderato::rules::RuleSet| {
        let started = std::time::Instant::now();
        assess_all(rule_set);
        started.elapsed().as_secs_f64()
    };
    // Seconds per pass of each variant, and the ratios within each round.
    let (mut score_times, mut alone_times, mut default_times, mut all_times) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut default_ratios, mut all_ratios) = (Vec::new(), Vec::new());
    for _ in 0..INTERLEAVED_ROUNDS {
        score_times.push(score_pass());
        let alone = model_pass();
        let (default, all) = (rules_pass(default_rule_set), rules_pass(rule_set));
        default_ratios.push(alone / default);
        all_ratios.push(alone / all);
        alone_times.push(alone);
        default_times.push(default);
        all_times.push(all);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "throughput with rules / model alone, median of {INTERLEAVED_ROUNDS} interleaved rounds: \
         default rules {:.1}%, all rules {:.1}%",
        median(&mut default_ratios) * 100.0,
        median(&mut all_ratios) * 100.0
    );
    let per_second = |times: &mut Vec<f64>| comments.len() as f64 / median(times) / 1000.0;
    println!(
        "comments/s, median pass of the same rounds: model score {:.0}k, model verdict {:.0}k, \
         with default rules {:.0}k, with all rules {:.0}k",
        per_second(&mut score_times),
        per_second(&mut alone_times),
        per_second(&mut default_times),
        per_second(&mut all_times)
    );

    let mut group = criterion.benchmark_group("scoring");
    group.throughput(Throughput::Elements(comments.len() as u64));
    group.sample_size(20);
    // The classifier alone: normalisation, tokens, features, the sparse
    // scorer and the calibrated score with every feature's contribution,
    // unranked (what issue #3's throughput target measures; the verdict
    // below ranks the strongest few for its reasons).
    group.bench_function("model_score", |bench| {
        bench.iter(|| {
            for comment in &comments {
                std::hint::black_box(model.score(&comment.content));
            }
        })
    });
    // The model's verdict: the above, plus the reasons written out.
    group.bench_function("model_only", |bench| {
        bench.iter(|| {
            for comment in &comments {
                std::hint::black_box(decide(&model, &thresholds, comment));
            }
        })
    });
    for (name, rule_set) in [
        // The rules as shipped: what a site runs with no `[rules]` table.
        ("with_default_rules", &default_rule_set),
        // Every rule on, the ones off by default included, lists filled.
        ("with_all_rules", &rule_set),
    ] {
        group.bench_function(name, |bench| bench.iter(|| assess_all(rule_set)));
    }
    group.finish();
}

criterion_group!(benches, scoring, training);
criterion_main!(benches);
