//! The browser suite: the moderator console in a real headless Chromium
//! (Debian's `chromium`, driven by playwright-core from `tests/browser/`).
//! Signs in (under a rate of calls that sheds one of the sign-in's
//! calls), resolves items with the keyboard and a button, and checks
//! through gRPC that they left the queue; the screenshot of the queue is
//! written to `target/browser/queue.png`. `.ci/run` installs what it needs
//! and runs it: `cargo test --release --features browser --test browser`.
//! Without Chromium, Node or playwright-core it fails saying which is
//! missing, never a silent skip.

#[allow(dead_code)]
#[path = "util/mod.rs"]
mod util;

use std::path::PathBuf;

use moderato::config::Config;
use moderato::grpc::pb;
use util::*;

/// Comments the default model sends to review.
const REVIEW_TEXTS: [&str; 4] = [
    // A long s (U+017F), which the model reads as "visit" (NFKC) but the
    // browser's lower case keeps: its highlight must not break the page.
    "great song, vi\u{17f}it my page",
    // A soft hyphen (a format character, as zero-width spaces are) inside
    // "money", which the model reads through: the word must be marked as
    // written.
    "Thanks for the video, I made mo\u{ad}ney with this trick",
    "Mrs Jessica Brown is legit, I received my profit this morning",
    // Full-width letters, which the model reads as "money" (NFKC): the
    // word must be marked as written.
    "I earn extra \u{ff4d}\u{ff4f}\u{ff4e}\u{ff45}\u{ff59} from home, ask me how",
];

fn browser_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moderator_resolves_items_in_the_console() {
    let script_directory = browser_directory();
    assert!(
        script_directory
            .join("node_modules/playwright-core")
            .is_dir(),
        "the browser suite needs playwright-core: run `npm ci --prefix tests/browser`"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "the browser suite needs Chromium at {chromium} (Debian: apt-get install chromium)"
    );

    let directory = tempfile::tempdir().unwrap();
    let server = start_with(Config {
        console_listen: Some("127.0.0.1:0".parse().unwrap()),
        // Two calls a second per key, in bursts of two: signing in makes
        // three calls one after another within a fraction of a second, so
        // the console must send the one the service sheds (it answers 429)
        // again for the queue to show. Without that the test fails (tried).
        admission: moderato::admission::AdmissionParams {
            calls_per_second_per_key: 2.0,
            ..Default::default()
        }
        .check()
        .unwrap(),
        ..test_config(directory.path())
    })
    .await;
    for (index, text) in REVIEW_TEXTS.iter().enumerate() {
        // Within the site key's rate.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let mut request = comment(&format!("c{index}"), text);
        request.author = Some(pb::Author {
            name: format!("Reader {index}"),
            email: format!("reader{index}@mail.example"),
            ..Default::default()
        });
        request.context = Some(pb::PostContext {
            post_title: "Council approves the new bus routes".to_string(),
            ..Default::default()
        });
        let response = check_as_news(&server, request).await;
        assert_eq!(response.verdict(), pb::Verdict::Review, "{text}");
    }

    let screenshot_directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&screenshot_directory).unwrap();
    let screenshot = screenshot_directory.join("queue.png");
    let url = format!("http://{}/", server.http_address.unwrap());
    let output = tokio::process::Command::new("node")
        .arg(script_directory.join("console.mjs"))
        .args([url.as_str(), MODERATOR_TOKEN])
        .arg(&screenshot)
        .env("CHROMIUM", &chromium)
        .output()
        .await
        .expect("the browser suite needs Node.js (`node` on the PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the console test failed: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(seen["before"].as_array().unwrap().len(), 4, "{seen}");
    assert_eq!(seen["after"].as_array().unwrap().len(), 1, "{seen}");
    assert!(seen["reasons"].as_u64().unwrap() > 0, "{seen}");
    assert!(
        seen["marks"].as_u64().unwrap() > 0,
        "words are highlighted: {seen}"
    );
    assert!(
        seen["long_s_marks"].as_u64().unwrap() > 0,
        "the word written with a long s is highlighted: {seen}"
    );
    assert!(
        seen["zero_width_marks"].as_u64().unwrap() > 0,
        "the word with a soft hyphen inside is highlighted: {seen}"
    );
    assert!(
        seen["full_width_marks"].as_u64().unwrap() > 0,
        "the word in full-width letters is highlighted: {seen}"
    );
    assert!(seen["meta"].as_str().unwrap().contains("Reader"), "{seen}");
    // The author's name, e-mail, the post's title and the comment's id,
    // each isolated from the text around it.
    assert_eq!(seen["isolated_in_meta"], 4, "{seen}");
    assert!(
        seen["meta"].as_str().unwrap().ends_with("· comment c2"),
        "{seen}"
    );
    assert!(
        seen["status"].as_str().unwrap().contains("Approved 1"),
        "{seen}"
    );
    // One comment decided is named.
    assert!(
        seen["status"]
            .as_str()
            .unwrap()
            .contains("(comment \u{2068}c"),
        "{seen}"
    );
    // A key pressed while the current item was scrolled out of view
    // decided nothing and said why.
    assert_eq!(seen["first_in_view_before"], false, "{seen}");
    assert!(
        seen["status_out_of_view"]
            .as_str()
            .unwrap()
            .contains("out of view, so nothing was decided"),
        "{seen}"
    );
    assert_eq!(seen["still_listed"], 1, "{seen}");
    // Once in view, the same key decided it.
    assert!(
        seen["status_second_press"]
            .as_str()
            .unwrap()
            .contains("Approved 1"),
        "{seen}"
    );
    // Rejecting an item above the cursor leaves the cursor on the item it
    // was on, so the next key acts on the comment the moderator reads.
    assert_eq!(
        seen["current_after_reject"],
        serde_json::json!([seen["before"][2]]),
        "{seen}"
    );
    // A click on an item makes it the one the keys act on.
    assert_eq!(
        seen["current_after_click"],
        serde_json::json!([seen["before"][3]]),
        "{seen}"
    );
    // `x` held down ticked the item once: its repeats did not untick it,
    // and the toolbar's button says how many it acts on.
    assert_eq!(seen["selected_button"], "Approve 1 selected", "{seen}");
    assert_eq!(seen["selected_button_disabled"], false, "{seen}");
    // An empty queue says so.
    assert_eq!(seen["empty"], "Nothing is waiting for review.", "{seen}");
    // The count of waiting items follows the resolutions.
    assert_eq!(seen["total_before"], "(4 waiting)", "{seen}");
    assert_eq!(seen["total_after"], "(1 waiting)", "{seen}");
    // Nothing is flagged by a verdict or labelled yet when the page
    // loads: precision and recall are unknown, not 0%.
    let figures = seen["figures"].as_array().unwrap();
    assert_eq!(figures[0], "news.example", "{seen}");
    assert_eq!(figures[figures.len() - 2..], ["–", "–"], "{seen}");

    // "Your last decisions" listed the four, newest first, and changing
    // the oldest one from there moved it first, said so, and named no
    // colleague (the moderator changed their own label).
    let before = &seen["before"];
    assert_eq!(
        seen["recent"],
        serde_json::json!([seen["after"][0], before[2], before[1], before[0]]),
        "{seen}"
    );
    assert_eq!(
        seen["recent_after_change"],
        serde_json::json!([before[0], seen["after"][0], before[2], before[1]]),
        "{seen}"
    );
    let changed = seen["status_after_change"].as_str().unwrap();
    assert!(
        changed.starts_with("Rejected 1 comment (comment \u{2068}c"),
        "{seen}"
    );
    assert!(!changed.contains("had been"), "{seen}");
    // It was sent with the revision of the comment as it was decided.
    let sent = &seen["recent_change_shown"][before[0].as_str().unwrap()];
    assert!(
        sent.as_str().is_some_and(|revision| !revision.is_empty()),
        "{seen}"
    );

    // The server agrees: three items left the queue, approved by the
    // second press of `a` (then rejected from "Your last decisions"),
    // rejected by a button and approved by a key.
    for (index, expected) in [
        pb::ReviewStatus::Rejected,
        pb::ReviewStatus::Rejected,
        pb::ReviewStatus::Approved,
    ]
    .into_iter()
    .enumerate()
    {
        // Within the site key's rate of two calls a second.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let id = seen["before"][index].as_str().unwrap();
        let decision = decision_by_id(&server, id).await.unwrap();
        assert_eq!(decision.status(), expected, "item {index}: {seen}");
    }
    // A key pressed while an item's checkbox has the focus still acts:
    // the ticked item was rejected with `r`.
    assert_eq!(seen["after_checkbox"], serde_json::json!([]), "{seen}");
    // Within the site key's rate.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let ticked = decision_by_id(&server, seen["after"][0].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(ticked.status(), pb::ReviewStatus::Rejected);
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    eprintln!("screenshot of the queue: {}", screenshot.display());
    server.stop().await;
}
