//! Places counted by client address: how many connections (or TLS
//! handshakes) one client holds at once, so that one host cannot take every
//! place of a listener. The gRPC listener (`connection_limit`) and the
//! console's (`console::connections`, `console::tls`) count their clients
//! this way.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Places by client address: at most `limit` at once from one address,
/// IPv6 addresses counted by their /64 (what one host usually holds).
///
/// A std mutex: it is held for one map update, never across an await.
#[derive(Clone)]
pub struct PlacesByAddress {
    limit: usize,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One place among its address's; given back when dropped.
pub struct AddressPlace {
    address: IpAddr,
    places: PlacesByAddress,
}

impl PlacesByAddress {
    pub fn new(limit: usize) -> PlacesByAddress {
        PlacesByAddress {
            limit,
            counts: Arc::default(),
        }
    }

    /// How many places one address has.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A place for `address`, if its group holds fewer than the limit.
    pub fn take(&self, address: IpAddr) -> Option<AddressPlace> {
        let address = address_group(address);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(address).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AddressPlace {
            address,
            places: self.clone(),
        })
    }
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut counts = self
            .places
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// The address a client's connections are counted under: an IPv4 address
/// (also when written as IPv6), or an IPv6 address's /64.
fn address_group(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_a_bounded_share_and_an_ipv6_host_counts_by_its_64() {
        let places = PlacesByAddress::new(2);
        let busy: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<AddressPlace> = (0..2).map(|_| places.take(busy).unwrap()).collect();
        assert!(places.take(busy).is_none(), "one more than the limit");
        // The same IPv4 address written as IPv6 is the same client.
        assert!(places.take("::ffff:192.0.2.1".parse().unwrap()).is_none());
        assert!(places.take("192.0.2.2".parse().unwrap()).is_some());
        // Addresses of one /64 share its places; another /64 does not.
        let first = places.take("2001:db8:1:2::1".parse().unwrap()).unwrap();
        let second = places
            .take("2001:db8:1:2:ffff::9".parse().unwrap())
            .unwrap();
        assert!(places.take("2001:db8:1:2::7".parse().unwrap()).is_none());
        assert!(places.take("2001:db8:1:3::1".parse().unwrap()).is_some());
        // Places given back are free again, and leave no entry behind.
        drop((held, first, second));
        assert!(places.take(busy).is_some());
        assert!(places.counts.lock().unwrap().is_empty());
    }
}
