//! The shape of a `CheckComments` stream, apart from what is done to each
//! comment: at most [`STREAM_CONCURRENCY`] comments in flight, messages
//! about one comment one after another, answers in request order, the
//! stream ended by its first error, and an idle limit.
//!
//! A stream is admitted as one call, with one place among the calls in
//! progress, which one of its comments being worked on holds; each further
//! comment being worked on takes a spare place when one is free. When none
//! is, the stream does not read its next comment until a place is, so
//! streams slow down under load instead of running past the limit that
//! sheds unary calls, and are never refused for it. A check gives its
//! place back once its work is done and it only waits (for the writer to
//! make its decision durable, see [`StreamPlace`]): the stream's next
//! comment is worked on meanwhile, so the writer's batches fill instead of
//! each stream waiting for one flush per comment. Each check runs as a task
//! of its own, so that it finishes, and frees its place, even while the
//! stream waits for its client to take an earlier answer.
//!
//! A task of its own drives each stream and hands the answers over through
//! a bounded channel, so that the idle limit holds whatever the client
//! does: a stream is ended when, for the whole limit, nothing is in flight
//! and no comment arrives (DEADLINE_EXCEEDED, saying so), or when the client
//! leaves an answer unread that long. Either way the task ends and drops
//! what the checks hold, which frees the stream's place among the calls in
//! progress. (Were the stream driven by the transport, a client that stops
//! reading answers would stop it being polled, idle timer included.)
//!
//! Generic over the messages, so that its limits are tested here with
//! plain values and counting checks.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::FuturesOrdered;
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::AbortOnDropHandle;
use tonic::Status;

use crate::error::Error;
use crate::limits::{STREAM_CONCURRENCY, STREAM_MAX_WAITING};

/// Answers `inbound` in order, running up to [`STREAM_CONCURRENCY`] checks
/// at once. `check` is called in request order as each message is started,
/// with the message's index in the stream and the [`StreamPlace`] it is
/// worked on: its synchronous part (say, charging a rate) runs then, and an
/// error from it ends the stream without reading further. The check drops
/// the place when its work is done (at the latest, when it is). `spare_place`
/// takes, without waiting, a place for a check beyond the one on the
/// stream's own place; `None` when no place is free (see the module docs).
/// The caller must be inside a tokio runtime.
///
/// Messages with the same `key_of` (for comments: the same comment of the
/// same site) are checked one after another, in request order: a message
/// waits, and nothing more is read, while an earlier one with its key is
/// unanswered. Otherwise an edit sent after a comment could be stored
/// before it, and a check could answer from a decision about to change.
pub fn answer_in_order<In, Out, Key, KeyOf, Check, Checking, SparePlace, Place>(
    inbound: impl Stream<Item = Result<In, Status>> + Send + 'static,
    idle_limit: Duration,
    key_of: KeyOf,
    spare_place: SparePlace,
    check: Check,
) -> impl Stream<Item = Result<Out, Status>> + Send + 'static
where
    In: Send + 'static,
    Out: Send + 'static,
    Key: PartialEq + Send + 'static,
    KeyOf: FnMut(&In) -> Key + Send + 'static,
    Check: FnMut(usize, In, StreamPlace) -> Result<Checking, Status> + Send + 'static,
    Checking: Future<Output = Result<Out, Status>> + Send + 'static,
    SparePlace: FnMut() -> Option<Place> + Send + 'static,
    Place: Send + 'static,
{
    let (answers, receiver) = mpsc::channel(STREAM_CONCURRENCY);
    // How the stream ends when the task could not hand its last word over
    // (the client was not reading): that status follows the answers already
    // handed over, so that a client that reads again learns the stream was
    // cut rather than finished. Nothing is sent when the task ended the
    // stream itself, or the client left.
    let (ending_sender, ending) = oneshot::channel::<Status>();
    tokio::spawn(async move {
        if let Some(status) = drive(inbound, idle_limit, key_of, spare_place, check, answers).await
        {
            let _ = ending_sender.send(status);
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(receiver).chain(
        futures::stream::once(ending)
            .filter_map(|ending| futures::future::ready(ending.ok().map(Err))),
    )
}

/// A check in flight, or an error already known, in request order.
type Pending<Out> = futures::future::BoxFuture<'static, Result<Out, Status>>;

async fn drive<In, Out, Key, KeyOf, Check, Checking, SparePlace, Place>(
    inbound: impl Stream<Item = Result<In, Status>> + Send + 'static,
    idle_limit: Duration,
    mut key_of: KeyOf,
    mut spare_place: SparePlace,
    mut check: Check,
    answers: mpsc::Sender<Result<Out, Status>>,
) -> Option<Status>
where
    In: Send + 'static,
    Out: Send + 'static,
    Key: PartialEq + Send + 'static,
    KeyOf: FnMut(&In) -> Key + Send + 'static,
    Check: FnMut(usize, In, StreamPlace) -> Result<Checking, Status> + Send + 'static,
    Checking: Future<Output = Result<Out, Status>> + Send + 'static,
    SparePlace: FnMut() -> Option<Place> + Send + 'static,
    Place: Send + 'static,
{
    let mut inbound = Box::pin(inbound);
    let mut reading = true;
    let mut index = 0;
    let mut in_flight: FuturesOrdered<Pending<Out>> = FuturesOrdered::new();
    // A message read while no spare place was free: it starts once one is,
    // or once nothing else is in flight, and nothing more is read till then
    // (so it stays in request order). Whenever it is set, something is in
    // flight.
    let mut parked: Option<(In, Key)> = None;
    // The key of each entry of `in_flight`, in the same order (`None` for
    // an error already known).
    let mut keys_in_flight: std::collections::VecDeque<Option<Key>> =
        std::collections::VecDeque::new();
    // Whether a check in flight holds the stream's own place.
    let own_place_in_use = Arc::new(AtomicBool::new(false));
    // Told each time a check of this stream gives its place back, so that
    // a message parked for want of a place starts then, not when the
    // oldest check in flight is answered.
    let place_freed = Arc::new(tokio::sync::Notify::new());
    // How many of this stream's checks hold a place; the others in flight
    // hold none (they wait for the writer's flush, or to be answered).
    let places_held = Arc::new(AtomicUsize::new(0));
    loop {
        if !reading && in_flight.is_empty() && parked.is_none() {
            return None;
        }
        // Made anew on each turn: it runs out only after the whole limit
        // passed with nothing in flight and nothing read.
        let idle = tokio::time::sleep(idle_limit);
        tokio::select! {
            message = inbound.next(),
                if reading && parked.is_none() && in_flight.len() < STREAM_CONCURRENCY =>
            {
                match message {
                    None => reading = false,
                    Some(Ok(message)) => {
                        let key = key_of(&message);
                        parked = Some((message, key));
                    }
                    Some(Err(error)) => {
                        reading = false;
                        in_flight.push_back(Box::pin(futures::future::ready(Err(error))));
                        keys_in_flight.push_back(None);
                    }
                }
            }
            Some(answer) = in_flight.next(), if !in_flight.is_empty() => {
                keys_in_flight.pop_front();
                // Nothing after the first error is read or answered: gRPC
                // ends a stream with it.
                let failed = answer.is_err();
                match tokio::time::timeout(idle_limit, answers.send(answer)).await {
                    Ok(Ok(())) if !failed => {}
                    // The stream's error was handed over, or the client
                    // left: dropping everything ends the stream.
                    Ok(Ok(())) | Ok(Err(_)) => return None,
                    // The client has not read an answer for the whole
                    // limit: the checks still in flight are dropped, and
                    // the stream ends with the reason after the answers
                    // handed over.
                    Err(_) => {
                        return Some(
                            Error::DeadlineExceeded(format!(
                                "no answer on this stream was read for {} ms, so the server \
                                 closed it; the comments after the last answer read may have \
                                 been checked and stored: send them again (a comment already \
                                 checked gets its stored decision)",
                                idle_limit.as_millis()
                            ))
                            .into(),
                        )
                    }
                }
            }
            () = place_freed.notified(), if parked.is_some() => {}
            () = idle, if reading && in_flight.is_empty() => {
                let error = Error::DeadlineExceeded(format!(
                    "no comment arrived on this stream for {} ms, so the server closed it; \
                     open a new stream when there are comments to check",
                    idle_limit.as_millis()
                ));
                // The client may not be reading either; it gets no longer
                // than the limit again, after which the error ends the
                // stream behind the answers it has not read.
                let status: Status = error.into();
                return match tokio::time::timeout(idle_limit, answers.send(Err(status.clone())))
                    .await
                {
                    Ok(_) => None,
                    Err(_) => Some(status),
                };
            }
        }
        let Some((_, parked_key)) = &parked else {
            continue;
        };
        // An earlier message about the same comment is unanswered: this one
        // waits for it (it is in flight, so its answer wakes this loop).
        if keys_in_flight.iter().flatten().any(|key| key == parked_key) {
            continue;
        }
        // At most STREAM_MAX_WAITING checks in flight without a place: the
        // next starts once the oldest is answered (which wakes this loop).
        let without_place = in_flight
            .len()
            .saturating_sub(places_held.load(Ordering::Acquire));
        if without_place >= STREAM_MAX_WAITING {
            continue;
        }
        // A check runs on the stream's own place when no other check holds
        // it, and otherwise needs a spare one.
        let held: Box<dyn Send> = if !own_place_in_use.swap(true, Ordering::AcqRel) {
            Box::new(OwnPlace(Arc::clone(&own_place_in_use)))
        } else {
            match spare_place() {
                Some(spare) => Box::new(spare),
                None => continue,
            }
        };
        places_held.fetch_add(1, Ordering::AcqRel);
        let place = StreamPlace {
            held: Some(held),
            freed: Arc::clone(&place_freed),
            count: Arc::clone(&places_held),
        };
        let Some((message, key)) = parked.take() else {
            continue;
        };
        let pending: Pending<Out> = match check(index, message, place) {
            Ok(checking) => {
                // A task of its own, aborted if the stream is dropped: the
                // check runs, and gives its place back as soon as its work
                // is done, even while this loop waits for the client to
                // take an earlier answer.
                let task = AbortOnDropHandle::new(tokio::spawn(checking));
                Box::pin(async move {
                    task.await.unwrap_or_else(|error| {
                        Err(
                            Error::Internal(format!("a check of the stream failed: {error}"))
                                .into(),
                        )
                    })
                })
            }
            Err(error) => {
                reading = false;
                Box::pin(futures::future::ready(Err(error)))
            }
        };
        index += 1;
        in_flight.push_back(pending);
        keys_in_flight.push_back(Some(key));
    }
}

/// The stream's own place (its admission) as a check holds it: free for
/// the next check once this one is done.
struct OwnPlace(Arc<AtomicBool>);

impl Drop for OwnPlace {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The place among the calls in progress that a check of a stream is
/// worked on: the stream's own, or a spare one. Held (never read) until it
/// is dropped, which gives it back and tells the stream, whose next
/// comment may be waiting for it. A check drops it as soon as it only
/// waits: a comment waiting for the writer's flush costs no work, and the
/// writer's queue bounds how many wait.
pub struct StreamPlace {
    held: Option<Box<dyn Send>>,
    freed: Arc<tokio::sync::Notify>,
    /// The stream's count of the places its checks hold.
    count: Arc<AtomicUsize>,
}

impl Drop for StreamPlace {
    fn drop(&mut self) {
        // Given back before the stream is told, so that it finds it free.
        drop(self.held.take());
        self.count.fetch_sub(1, Ordering::AcqRel);
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::time::Instant;
    use tonic::Code;

    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    type Checking = futures::future::BoxFuture<'static, Result<u64, Status>>;

    /// Doubles each number after `pause`, counting how many run at once.
    fn counting_check(
        pause: Duration,
        running: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    ) -> impl FnMut(usize, u64, StreamPlace) -> Result<Checking, Status> {
        move |_, number, place| {
            let running = Arc::clone(&running);
            let most = Arc::clone(&most);
            Ok(Box::pin(async move {
                // Held for the whole check, as work.
                let _place = place;
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later numbers finish sooner, so that order is earned.
                tokio::time::sleep(pause / (1 + number as u32 % 7)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(number * 2)
            }))
        }
    }

    /// Every number its own key: no two messages wait for each other.
    fn each_its_own(number: &u64) -> u64 {
        *number
    }

    /// Spare places without limit, as if the server were idle.
    fn always_a_place() -> Option<()> {
        Some(())
    }

    // On a paused clock, time stands still while any task can run, so every
    // check the stream lets start has started before the first one's sleep
    // ends: the most at once is exactly the limit, whatever the machine's
    // load, rather than whatever real sleeps happened to overlap.
    #[tokio::test(start_paused = true)]
    async fn at_most_the_limit_run_at_once_and_answers_keep_request_order() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let count = STREAM_CONCURRENCY as u64 * 3 + 7;
        let inbound = futures::stream::iter((0..count).map(Ok));
        let answers: Vec<u64> = answer_in_order(
            inbound,
            MINUTE,
            each_its_own,
            always_a_place,
            counting_check(
                Duration::from_millis(2),
                Arc::clone(&running),
                Arc::clone(&most),
            ),
        )
        .map(|answer| answer.unwrap())
        .collect()
        .await;
        assert_eq!(answers, (0..count).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), STREAM_CONCURRENCY);
    }

    /// 10 and 11 share a key (their tens): 11 starts only once 10 is
    /// answered, though 10 takes far longer; 20 has a key of its own.
    #[tokio::test(start_paused = true)]
    async fn messages_with_one_key_are_checked_one_after_another() {
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = Arc::clone(&events);
        let answers: Vec<u64> = answer_in_order(
            futures::stream::iter([10u64, 11, 20].map(Ok)),
            MINUTE,
            |number: &u64| number / 10,
            always_a_place,
            move |_, number, place: StreamPlace| {
                let events = Arc::clone(&recorded);
                Ok(Box::pin(async move {
                    let _place = place;
                    events.lock().unwrap().push(format!("start {number}"));
                    let pause = if number == 10 { 1_000 } else { 1 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    events.lock().unwrap().push(format!("end {number}"));
                    Ok(number)
                }) as Checking)
            },
        )
        .map(|answer| answer.unwrap())
        .collect()
        .await;
        assert_eq!(answers, [10, 11, 20]);
        let events = events.lock().unwrap().clone();
        let at = |event: &str| events.iter().position(|seen| seen == event).unwrap();
        assert!(at("end 10") < at("start 11"), "{events:?}");
    }

    #[tokio::test]
    async fn the_first_error_ends_the_stream_and_nothing_more_is_read() {
        let read = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&read);
        let inbound = futures::stream::iter((0..10u64).map(Ok)).inspect(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let answers: Vec<Result<u64, Status>> = answer_in_order(
            inbound,
            MINUTE,
            each_its_own,
            always_a_place,
            |index, number, _place| match index {
                3 => Err(Status::resource_exhausted("over the rate")),
                _ => Ok(Box::pin(async move { Ok(number) }) as Checking),
            },
        )
        .collect()
        .await;
        assert_eq!(answers.len(), 4);
        assert_eq!(
            answers[3].as_ref().unwrap_err().code(),
            Code::ResourceExhausted
        );
        assert!(answers[..3].iter().all(Result::is_ok));
        assert_eq!(read.load(Ordering::SeqCst), 4, "no message read after it");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_ends_a_full_idle_limit_after_its_last_answer() {
        let (sender, receiver) = mpsc::channel::<Result<u64, Status>>(4);
        let inbound = tokio_stream::wrappers::ReceiverStream::new(receiver);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        // Each check takes two minutes: time in flight is not idle time.
        let mut answers = Box::pin(answer_in_order(
            inbound,
            MINUTE,
            each_its_own,
            always_a_place,
            counting_check(2 * MINUTE, running, most),
        ));
        sender.send(Ok(0)).await.unwrap();
        assert_eq!(answers.next().await.unwrap().unwrap(), 0);
        // 59 s of silence is within the limit.
        tokio::time::sleep(Duration::from_secs(59)).await;
        sender.send(Ok(1)).await.unwrap();
        assert_eq!(answers.next().await.unwrap().unwrap(), 2);
        // Then a minute of silence ends it, though the sender is still open.
        let last_answer = Instant::now();
        let ended = answers.next().await.unwrap().unwrap_err();
        let silence = last_answer.elapsed();
        assert!(
            silence >= MINUTE && silence < MINUTE + Duration::from_millis(10),
            "{silence:?}"
        );
        assert_eq!(ended.code(), Code::DeadlineExceeded);
        assert!(ended.message().contains("60000 ms"), "{ended}");
        assert!(answers.next().await.is_none());
        drop(sender);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_answers_loses_the_stream() {
        // `held` stands for what a check holds (the stream's place among
        // the calls in progress): the task must let it go.
        let held = Arc::new(());
        let in_checks = Arc::clone(&held);
        let inbound = futures::stream::iter((0..1000u64).map(Ok)).chain(futures::stream::pending());
        let answers = answer_in_order(
            inbound,
            MINUTE,
            each_its_own,
            always_a_place,
            move |_, number, _place: StreamPlace| {
                let _held = &in_checks;
                Ok(Box::pin(async move { Ok(number) }) as Checking)
            },
        );
        // Nobody reads `answers`: the channel fills, and after the limit
        // the task gives up.
        tokio::time::sleep(MINUTE / 2).await;
        assert_eq!(Arc::strong_count(&held), 2, "still driven");
        tokio::time::sleep(MINUTE).await;
        assert_eq!(Arc::strong_count(&held), 1, "the task let go");
        // A client that reads again gets the answers handed over, then an
        // error that says the stream was cut: never a clean end for a
        // stream that answered 65 of its 1000 comments.
        let answers: Vec<Result<u64, Status>> = answers.collect().await;
        let (last, handed_over) = answers.split_last().unwrap();
        assert!(handed_over.iter().all(Result::is_ok));
        assert!(handed_over.len() < 1000);
        let status = last.as_ref().unwrap_err();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status}");
        assert!(status.message().contains("send them again"), "{status}");
    }

    /// Streams of `count` checks with `spare` places to share: the most
    /// checks at once, the answers, and the places free at the end.
    async fn with_spare_places(count: u64, spare: usize) -> (usize, Vec<u64>, usize) {
        let places = Arc::new(tokio::sync::Semaphore::new(spare));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let taking = Arc::clone(&places);
        let answers: Vec<u64> = answer_in_order(
            futures::stream::iter((0..count).map(Ok)),
            MINUTE,
            each_its_own,
            move || Arc::clone(&taking).try_acquire_owned().ok(),
            counting_check(
                Duration::from_millis(2),
                Arc::clone(&running),
                Arc::clone(&most),
            ),
        )
        .map(|answer| answer.unwrap())
        .collect()
        .await;
        (
            most.load(Ordering::SeqCst),
            answers,
            places.available_permits(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn beyond_its_first_check_a_stream_runs_only_as_many_as_there_are_spare_places() {
        let count = 40;
        let expected: Vec<u64> = (0..count).map(|n| n * 2).collect();
        // No spare place: one check at a time, on the stream's own place,
        // and every comment still answered, in order.
        assert_eq!(with_spare_places(count, 0).await, (1, expected.clone(), 0));
        // Five spare places: six at once, and every place given back.
        assert_eq!(with_spare_places(count, 5).await, (6, expected, 5));
    }

    /// A check that gives its place back once its work is done, and then
    /// waits (as for the writer's flush), lets the stream's next comments
    /// be worked on meanwhile: with no spare place, still one at a time at
    /// work, up to [`STREAM_MAX_WAITING`] waiting, and every answer in
    /// order.
    #[tokio::test(start_paused = true)]
    async fn a_check_that_only_waits_frees_its_place_for_the_next_comment() {
        let working = Arc::new(AtomicUsize::new(0));
        let most_working = Arc::new(AtomicUsize::new(0));
        let waiting = Arc::new(AtomicUsize::new(0));
        let most_waiting = Arc::new(AtomicUsize::new(0));
        let count = 40u64;
        let (working_in, most_working_in) = (Arc::clone(&working), Arc::clone(&most_working));
        let (waiting_in, most_waiting_in) = (Arc::clone(&waiting), Arc::clone(&most_waiting));
        let answers: Vec<u64> = answer_in_order(
            futures::stream::iter((0..count).map(Ok)),
            MINUTE,
            each_its_own,
            || None::<()>,
            move |_, number, place: StreamPlace| {
                let working = Arc::clone(&working_in);
                let most_working = Arc::clone(&most_working_in);
                let waiting = Arc::clone(&waiting_in);
                let most_waiting = Arc::clone(&most_waiting_in);
                Ok(Box::pin(async move {
                    let now = working.fetch_add(1, Ordering::SeqCst) + 1;
                    most_working.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    working.fetch_sub(1, Ordering::SeqCst);
                    drop(place);
                    let now = waiting.fetch_add(1, Ordering::SeqCst) + 1;
                    most_waiting.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    waiting.fetch_sub(1, Ordering::SeqCst);
                    Ok(number * 3)
                }) as Checking)
            },
        )
        .map(|answer| answer.unwrap())
        .collect()
        .await;
        assert_eq!(answers, (0..count).map(|n| n * 3).collect::<Vec<_>>());
        assert_eq!(most_working.load(Ordering::SeqCst), 1);
        // Twenty 1 ms turns of work would fit in one 20 ms wait; the cap
        // holds them to its number.
        assert_eq!(most_waiting.load(Ordering::SeqCst), STREAM_MAX_WAITING);
    }

    #[tokio::test(start_paused = true)]
    async fn checks_give_their_places_back_while_the_client_reads_no_answer() {
        let places = Arc::new(tokio::sync::Semaphore::new(5));
        let taking = Arc::clone(&places);
        let started = Arc::new(AtomicUsize::new(0));
        let counting = Arc::clone(&started);
        let inbound = futures::stream::iter((0..1000u64).map(Ok)).chain(futures::stream::pending());
        let answers = answer_in_order(
            inbound,
            MINUTE,
            each_its_own,
            move || Arc::clone(&taking).try_acquire_owned().ok(),
            move |_, number, place: StreamPlace| {
                counting.fetch_add(1, Ordering::SeqCst);
                Ok(Box::pin(async move {
                    let _place = place;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    Ok(number)
                }) as Checking)
            },
        );
        // Nobody reads `answers`: the channel fills and the stream waits to
        // hand over an answer. The checks it started are done all the same,
        // and their places are free for other calls.
        tokio::time::sleep(MINUTE / 2).await;
        assert!(started.load(Ordering::SeqCst) > STREAM_CONCURRENCY);
        assert_eq!(places.available_permits(), 5);
        drop(answers);
    }
}
