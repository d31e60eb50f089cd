//! The shape of a `CheckComments` stream, apart from what is done to each
//! comment: at most [`STREAM_CONCURRENCY`] comments in flight, answers in
//! request order, the stream ended by its first error, and ended with
//! DEADLINE_EXCEEDED when no comment arrives for the idle limit (so that a
//! stream left open gives its place among the calls in progress back).
//!
//! Generic over the messages, so that its limits are tested here with
//! plain values and a counting check.

use std::future::Future;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tonic::Status;

use crate::error::Error;
use crate::limits::STREAM_CONCURRENCY;

/// Answers `inbound` in order, running `check` on up to
/// [`STREAM_CONCURRENCY`] messages at once. `check` is called in request
/// order, as each message is read, with the message's index in the stream.
pub fn answer_in_order<In, Out, Check, Checking>(
    inbound: impl Stream<Item = Result<In, Status>> + Send + 'static,
    idle_limit: Duration,
    mut check: Check,
) -> impl Stream<Item = Result<Out, Status>> + Send + 'static
where
    In: Send + 'static,
    Out: Send + 'static,
    Check: FnMut(usize, In) -> Checking + Send + 'static,
    Checking: Future<Output = Result<Out, Status>> + Send + 'static,
{
    let mut index = 0;
    until_idle(inbound, idle_limit)
        .map(move |message| {
            let checking = message.map(|message| {
                let checking = check(index, message);
                index += 1;
                checking
            });
            async move { checking?.await }
        })
        .buffered(STREAM_CONCURRENCY)
        .scan(false, |failed, result| {
            // Stop after the first error: gRPC ends a stream with it.
            if *failed {
                return futures::future::ready(None);
            }
            *failed = result.is_err();
            futures::future::ready(Some(result))
        })
}

/// `inbound`, ended by an error once it has kept the reader waiting for
/// `idle_limit`. Only the time the server spends waiting to read counts:
/// while [`STREAM_CONCURRENCY`] comments are in flight it does not read.
fn until_idle<In: Send + 'static>(
    inbound: impl Stream<Item = Result<In, Status>> + Send + 'static,
    idle_limit: Duration,
) -> impl Stream<Item = Result<In, Status>> + Send + 'static {
    futures::stream::unfold(Some(Box::pin(inbound)), move |state| async move {
        let mut inbound = state?;
        match tokio::time::timeout(idle_limit, inbound.next()).await {
            Ok(Some(message)) => Some((message, Some(inbound))),
            Ok(None) => None,
            Err(_) => {
                let error = Error::DeadlineExceeded(format!(
                    "no comment arrived on this stream for {} ms, so the server closed it; \
                     open a new stream when there are comments to check",
                    idle_limit.as_millis()
                ));
                Some((Err(Status::from(error)), None))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tonic::Code;

    use super::*;

    /// Doubles each number after a pause, counting how many run at once.
    fn counting_check(
        running: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    ) -> impl FnMut(usize, u64) -> futures::future::BoxFuture<'static, Result<u64, Status>> {
        move |_, number| {
            let running = Arc::clone(&running);
            let most = Arc::clone(&most);
            Box::pin(async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later numbers finish sooner, so that order is earned.
                tokio::time::sleep(Duration::from_micros(1000 - number % 1000)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(number * 2)
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_limit_run_at_once_and_answers_keep_request_order() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let count = STREAM_CONCURRENCY as u64 * 3 + 7;
        let inbound = futures::stream::iter((0..count).map(Ok));
        let answers: Vec<u64> = answer_in_order(
            inbound,
            Duration::from_secs(60),
            counting_check(Arc::clone(&running), Arc::clone(&most)),
        )
        .map(|answer| answer.unwrap())
        .collect()
        .await;
        assert_eq!(answers, (0..count).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), STREAM_CONCURRENCY);
    }

    #[tokio::test]
    async fn the_first_error_ends_the_stream() {
        let inbound = futures::stream::iter((0..10u64).map(Ok));
        let answers: Vec<Result<u64, Status>> = answer_in_order(
            inbound,
            Duration::from_secs(60),
            |index, number| async move {
                if index == 3 {
                    Err(Status::invalid_argument("bad"))
                } else {
                    Ok(number)
                }
            },
        )
        .collect()
        .await;
        assert_eq!(answers.len(), 4);
        assert_eq!(
            answers[3].as_ref().unwrap_err().code(),
            Code::InvalidArgument
        );
        assert!(answers[..3].iter().all(Result::is_ok));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_idle_for_its_limit_ends_with_deadline_exceeded() {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<u64, Status>>(4);
        let inbound = tokio_stream::wrappers::ReceiverStream::new(receiver);
        let mut answers = Box::pin(answer_in_order(
            inbound,
            Duration::from_secs(60),
            |_, number| async move { Ok(number) },
        ));
        sender.send(Ok(1)).await.unwrap();
        assert_eq!(answers.next().await.unwrap().unwrap(), 1);
        // 59 s of silence is within the limit.
        tokio::time::sleep(Duration::from_secs(59)).await;
        sender.send(Ok(2)).await.unwrap();
        assert_eq!(answers.next().await.unwrap().unwrap(), 2);
        // Then a minute of silence ends it, though the sender is still open.
        let ended = answers.next().await.unwrap().unwrap_err();
        assert_eq!(ended.code(), Code::DeadlineExceeded);
        assert!(ended.message().contains("60000 ms"), "{ended}");
        assert!(answers.next().await.is_none());
        drop(sender);
    }
}
