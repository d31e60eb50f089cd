//! Decisions survive a restart of the service on the same data directory.

use crate::util::*;

#[tokio::test]
async fn decisions_are_found_after_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(test_config(directory.path())).await;
    let mut client = server.moderation().await;
    let spam = client
        .check_comment(with_token(NEWS_TOKEN, comment("spam-1", SPAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    let ham = client
        .check_comment(with_token(NEWS_TOKEN, comment("ham-1", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    assert!(spam.stored && ham.stored);
    drop(client);
    server.stop().await;

    let server = start_with(test_config(directory.path())).await;
    let mut client = server.moderation().await;
    for (checked, content) in [(&spam, SPAM_TEXT), (&ham, HAM_TEXT)] {
        let found = decision_by_id(&server, &checked.decision_id).await.unwrap();
        assert_eq!(found.content, content);
        assert_eq!(found.verdict, checked.verdict);
        assert_eq!(found.score, checked.score);
        assert_eq!(found.reasons.len(), checked.reasons.len());
    }
    // The idempotency index survived too.
    let again = client
        .check_comment(with_token(NEWS_TOKEN, comment("spam-1", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.decision_id, spam.decision_id);
    server.stop().await;
}
