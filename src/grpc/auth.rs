//! Reads the bearer key of a call and finds who is calling.

use tonic::Request;

use crate::auth::{Keyring, Principal};
use crate::error::Error;

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
