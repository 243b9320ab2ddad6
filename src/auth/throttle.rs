//! Throttling of logins, link requests and signups per client address and
//! per account (governor's GCRA). Keyed by the typed email whether or not an
//! account exists, so the limit itself reveals nothing. In memory per instance: a limit is a brake, not a
//! record, and losing it on restart is harmless.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

pub struct Throttle {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
}

/// Signing up the same address over and over would mail its owner a
/// verification link each time.
const SIGNUPS_PER_EMAIL_PER_HOUR: u32 = 3;

/// Too many attempts: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, at least one, for the `Retry-After` header.
    pub fn seconds(self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

impl Throttle {
    pub fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"));
        Self::with_quotas(quota(per_ip_per_minute), quota(per_account_per_minute))
    }

    /// Signups: new accounts per address per hour (a burst of that many,
    /// then one every hour / n), and a few per typed email.
    pub fn for_signups(per_ip_per_hour: u32) -> Self {
        let per_hour = |n: u32| Quota::per_hour(NonZeroU32::new(n.max(1)).expect("at least one"));
        Self::with_quotas(per_hour(per_ip_per_hour), per_hour(SIGNUPS_PER_EMAIL_PER_HOUR))
    }

    fn with_quotas(per_ip: Quota, per_account: Quota) -> Self {
        Self {
            per_ip: RateLimiter::keyed(per_ip),
            per_account: RateLimiter::keyed(per_account),
        }
    }

    /// Takes one attempt from both allowances, or says how long to wait.
    pub fn check(&self, ip: IpAddr, account: &str) -> Result<(), RetryAfter> {
        let now = DefaultClock::default().now();
        let wait = |not_until: governor::NotUntil<_>| RetryAfter(not_until.wait_time_from(now));
        self.per_ip.check_key(&ip).map_err(wait)?;
        self.per_account.check_key(&account.to_owned()).map_err(wait)?;
        Ok(())
    }

    /// Forgets keys whose allowance is full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.per_account.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_throttled_whatever_the_address() {
        let throttle = Throttle::new(100, 2);
        let ip = |n| IpAddr::from([10, 0, 0, n]);
        assert!(throttle.check(ip(1), "a@example.com").is_ok());
        assert!(throttle.check(ip(2), "a@example.com").is_ok());
        let retry = throttle.check(ip(3), "a@example.com").unwrap_err();
        assert!(retry.seconds() >= 1);
        assert!(throttle.check(ip(3), "b@example.com").is_ok());
    }

    #[test]
    fn signups_from_one_address_are_limited_per_hour() {
        let throttle = Throttle::for_signups(2);
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(throttle.check(ip, "a@example.com").is_ok());
        assert!(throttle.check(ip, "b@example.com").is_ok());
        let retry = throttle.check(ip, "c@example.com").unwrap_err();
        assert!(retry.seconds() > 60, "the next signup is most of an hour away");
    }

    #[test]
    fn an_address_is_throttled_whatever_the_account() {
        let throttle = Throttle::new(2, 100);
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(throttle.check(ip, "a@example.com").is_ok());
        assert!(throttle.check(ip, "b@example.com").is_ok());
        assert!(throttle.check(ip, "c@example.com").is_err());
    }
}
