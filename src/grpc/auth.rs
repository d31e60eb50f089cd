//! Reads the bearer key of a call, finds who is calling and admits the
//! call (see `admission`).

use std::ops::Deref;

use tonic::Request;

use crate::admission::{Admission, Permit};
use crate::auth::{Keyring, Principal};
use crate::error::Error;

/// Who may call, and how many calls may run: what every handler asks first.
pub struct Access {
    pub keyring: Keyring,
    pub admission: Admission,
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
    pub fn admit<T>(&self, request: &Request<T>) -> Result<Caller, Error> {
        let principal = principal(&self.keyring, request)?;
        let permit = self.admission.admit(&principal.name)?;
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
