//! Overload protection: how many calls may be in progress at once, and how
//! fast each key may call. A call beyond either limit is refused at once
//! with RESOURCE_EXHAUSTED, instead of waiting in a queue that only grows:
//! under twice its capacity the service keeps answering the calls it takes
//! within their deadline, and recovers as soon as the load drops.
//! `AdmissionParams` -> `check()` -> `ValidAdmissionParams`; the `[limits]`
//! table of the configuration sets them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Error;

/// `[limits]` as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionParams {
    /// Calls in progress at once, all keys together (a `CheckComments`
    /// stream counts as one call while it is open).
    pub max_concurrent_calls: usize,
    /// Calls per second each key may make on average; 0 means no limit.
    pub calls_per_second_per_key: f64,
    /// Calls a key may make at once after a quiet spell; 0 means one
    /// second's worth of `calls_per_second_per_key`.
    pub burst_per_key: f64,
}

impl Default for AdmissionParams {
    fn default() -> Self {
        AdmissionParams {
            // Measured: on two cores the service answers about as many
            // calls per second with 32 to 64 in progress as with more, and
            // each extra one only waits; 64 keeps every answered call far
            // inside a one-second deadline under twice the capacity.
            max_concurrent_calls: 64,
            calls_per_second_per_key: 0.0,
            burst_per_key: 0.0,
        }
    }
}

/// Admission parameters that passed [`AdmissionParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAdmissionParams(AdmissionParams);

impl AdmissionParams {
    /// Checks the values; the error names the key.
    pub fn check(self) -> Result<ValidAdmissionParams, (&'static str, &'static str)> {
        if self.max_concurrent_calls == 0 {
            return Err(("max_concurrent_calls", "must be at least 1"));
        }
        if !(self.calls_per_second_per_key >= 0.0 && self.calls_per_second_per_key.is_finite()) {
            return Err(("calls_per_second_per_key", "must be 0 (no limit) or more"));
        }
        if !(self.burst_per_key >= 0.0 && self.burst_per_key.is_finite()) {
            return Err(("burst_per_key", "must be 0 (one second's worth) or more"));
        }
        Ok(ValidAdmissionParams(self))
    }
}

impl Default for ValidAdmissionParams {
    fn default() -> Self {
        AdmissionParams::default()
            .check()
            .expect("the default limits are valid")
    }
}

/// A key's token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// See the module docs.
#[derive(Debug)]
pub struct Admission {
    params: ValidAdmissionParams,
    in_progress: Arc<Semaphore>,
    /// Per key name. A std mutex: held for one arithmetic update, never
    /// across an await.
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// A call's place among those in progress; dropping it frees the place.
#[derive(Debug)]
pub struct Permit {
    _permit: OwnedSemaphorePermit,
}

impl Admission {
    pub fn new(params: ValidAdmissionParams) -> Admission {
        Admission {
            in_progress: Arc::new(Semaphore::new(params.0.max_concurrent_calls)),
            params,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits a call of the key named `key_name`, or refuses it with
    /// RESOURCE_EXHAUSTED saying which limit it hit.
    pub fn admit(&self, key_name: &str) -> Result<Permit, Error> {
        self.take_token(key_name, Instant::now())?;
        let permit = Arc::clone(&self.in_progress)
            .try_acquire_owned()
            .map_err(|_| {
                Error::ResourceExhausted(format!(
                    "the server is at its limit of {} calls in progress; retry shortly",
                    self.params.0.max_concurrent_calls
                ))
            })?;
        Ok(Permit { _permit: permit })
    }

    fn take_token(&self, key_name: &str, now: Instant) -> Result<(), Error> {
        let rate = self.params.0.calls_per_second_per_key;
        if rate == 0.0 {
            return Ok(());
        }
        let burst = if self.params.0.burst_per_key > 0.0 {
            self.params.0.burst_per_key
        } else {
            rate.max(1.0)
        };
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let bucket = buckets.entry(key_name.to_string()).or_insert(Bucket {
            tokens: burst,
            refilled_at: now,
        });
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Error::ResourceExhausted(format!(
                "key {key_name:?} is over its limit of {rate} calls per second; retry shortly"
            )))
        }
    }
}

impl Default for Admission {
    fn default() -> Self {
        Admission::new(ValidAdmissionParams::default())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn admission(max_concurrent_calls: usize, rate: f64, burst: f64) -> Admission {
        Admission::new(
            AdmissionParams {
                max_concurrent_calls,
                calls_per_second_per_key: rate,
                burst_per_key: burst,
            }
            .check()
            .unwrap(),
        )
    }

    #[test]
    fn calls_beyond_the_concurrency_limit_are_refused_until_one_ends() {
        let admission = admission(2, 0.0, 0.0);
        let first = admission.admit("a").unwrap();
        let _second = admission.admit("b").unwrap();
        let refused = admission.admit("a").unwrap_err();
        assert!(matches!(refused, Error::ResourceExhausted(_)));
        assert!(
            refused.to_string().contains("2 calls in progress"),
            "{refused}"
        );
        drop(first);
        assert!(admission.admit("a").is_ok());
    }

    #[test]
    fn each_key_has_its_own_rate() {
        let admission = admission(100, 10.0, 2.0);
        let start = Instant::now();
        assert!(admission.take_token("a", start).is_ok());
        assert!(admission.take_token("a", start).is_ok());
        let refused = admission.take_token("a", start).unwrap_err();
        assert!(
            refused.to_string().contains("10 calls per second"),
            "{refused}"
        );
        // Another key is not affected; the first refills with time.
        assert!(admission.take_token("b", start).is_ok());
        assert!(admission
            .take_token("a", start + Duration::from_millis(100))
            .is_ok());
    }

    #[test]
    fn bad_limits_name_their_key() {
        let zero = AdmissionParams {
            max_concurrent_calls: 0,
            ..AdmissionParams::default()
        };
        assert_eq!(zero.check().unwrap_err().0, "max_concurrent_calls");
        let negative = AdmissionParams {
            calls_per_second_per_key: -1.0,
            ..AdmissionParams::default()
        };
        assert_eq!(negative.check().unwrap_err().0, "calls_per_second_per_key");
    }
}
