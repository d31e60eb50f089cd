//! Reads the bearer key of a call, finds who is calling and admits the
//! call (see `admission`).

use std::future::Future;
use std::ops::Deref;
use std::time::Instant;

use tonic::{Code, Request, Response, Status};

use crate::admission::{Admission, Permit};
use crate::auth::{Keyring, Principal};
use crate::error::Error;
use crate::metrics::Metrics;

/// Who may call, how many calls may run, and what is counted of them:
/// what every handler goes through.
pub struct Access {
    pub keyring: Keyring,
    pub admission: Admission,
    pub metrics: Metrics,
}

/// Runs a handler's body and counts the call: its RPC, status code and
/// time.
pub async fn observed<T>(
    metrics: &Metrics,
    rpc: &'static str,
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<Response<T>, Status> {
    let started = Instant::now();
    let result = call.await;
    let code = match &result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    };
    let elapsed = started.elapsed();
    metrics.record_call(rpc, &format!("{code:?}"), elapsed);
    // One line per call at debug; the caller's token and the comment's
    // author never appear in logs.
    tracing::debug!(rpc, code = ?code, micros = elapsed.as_micros() as u64, "call");
    result
}

/// An admitted call's principal. It holds the call's place among those in
/// progress until it is dropped, with the call (or with its stream).
pub struct Caller {
    principal: Principal,
    _permit: Permit,
}

impl Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl Access {
    /// Authenticates the call, then admits it or refuses it with
    /// RESOURCE_EXHAUSTED. Unknown keys are refused before they can use up
    /// anyone's rate.
    pub async fn admit<T>(&self, request: &Request<T>) -> Result<Caller, Error> {
        self.admit_principal(principal(&self.keyring, request)?)
            .await
    }

    /// [`Access::admit`] for a bearer token read elsewhere (the console).
    pub async fn admit_token(&self, token: &str) -> Result<Caller, Error> {
        self.admit_principal(self.keyring.authenticate(token)?)
            .await
    }

    async fn admit_principal(&self, principal: Principal) -> Result<Caller, Error> {
        let permit = self.admission.admit(&principal.name).await?;
        Ok(Caller {
            principal,
            _permit: permit,
        })
    }
}

/// The principal behind `authorization: Bearer <token>`.
pub fn principal<T>(keyring: &Keyring, request: &Request<T>) -> Result<Principal, Error> {
    let header = request
        .metadata()
        .get("authorization")
        .ok_or(Error::Unauthenticated)?
        .to_str()
        .map_err(|_| Error::Unauthenticated)?;
    let (scheme, token) = header.split_once(' ').ok_or(Error::Unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::Unauthenticated);
    }
    keyring.authenticate(token.trim())
}
