//! Decisions survive a restart of the service on the same data directory.

use crate::util::*;

#[tokio::test]
async fn decisions_are_found_after_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(test_config(directory.path())).await;
    let spam = check_as_news(&server, comment("spam-1", SPAM_TEXT)).await;
    let ham = check_as_news(&server, comment("ham-1", HAM_TEXT)).await;
    assert!(spam.stored && ham.stored);
    server.stop().await;

    let server = start_with(test_config(directory.path())).await;
    for (checked, content) in [(&spam, SPAM_TEXT), (&ham, HAM_TEXT)] {
        let found = decision_by_id(&server, &checked.decision_id).await.unwrap();
        assert_eq!(found.content, content);
        assert_eq!(found.verdict, checked.verdict);
        assert_eq!(found.score, checked.score);
        assert_eq!(found.reasons.len(), checked.reasons.len());
    }
    // The idempotency index survived too.
    let again = check_as_news(&server, comment("spam-1", HAM_TEXT)).await;
    assert_eq!(again.decision_id, spam.decision_id);
    server.stop().await;
}
