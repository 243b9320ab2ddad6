//! Throttling of logins, emailed-link requests and signups (governor's
//! GCRA), per client address and per account. Keyed by the typed email
//! whether or not an account exists, so the limit itself reveals nothing.
//! In memory per instance: a limit is a brake, not a record, and losing it on
//! restart is harmless.
//!
//! One rule shapes the keys: a stranger must never be able to lock an owner
//! out. Password attempts are limited per client, per (account, client) and,
//! far more loosely, per account; emailed links have limiters of their own,
//! keyed per client and per (account, client), so wrong passwords typed
//! anywhere never stop the owner getting a sign-in link.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

pub struct Throttle {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    per_account_and_client: Option<DefaultKeyedRateLimiter<(String, IpAddr)>>,
    /// Every client together, for one account.
    per_account: Option<DefaultKeyedRateLimiter<String>>,
}

/// Signing up the same address over and over would mail its owner a
/// verification link each time.
const SIGNUPS_PER_EMAIL_PER_HOUR: u32 = 3;

/// Password attempts for one account from all clients together, as a
/// multiple of the per-client allowance: a brake on guessing spread over many
/// addresses. It blocks passwords only; links still work.
const ACCOUNT_WIDE_PASSWORD_FACTOR: u32 = 10;

/// Too many attempts: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, at least one, for the `Retry-After` header.
    pub fn seconds(self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

fn per_hour(n: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(n.max(1)).expect("at least one"))
}

impl Throttle {
    /// Password attempts: per client, per account from one client, and per
    /// account from everywhere (ten times looser).
    pub fn for_passwords(per_ip_per_minute: u32, per_account_per_minute: u32) -> Self {
        Self {
            per_client: RateLimiter::keyed(per_minute(per_ip_per_minute)),
            per_account_and_client: Some(RateLimiter::keyed(per_minute(per_account_per_minute))),
            per_account: Some(RateLimiter::keyed(per_minute(
                per_account_per_minute.saturating_mul(ACCOUNT_WIDE_PASSWORD_FACTOR),
            ))),
        }
    }

    /// Emailed links (sign-in, reset): per client, and per account from one
    /// client. Nothing account-wide, so nobody can use up the owner's links.
    pub fn for_links(per_ip_per_hour: u32, per_account_per_hour: u32) -> Self {
        Self {
            per_client: RateLimiter::keyed(per_hour(per_ip_per_hour)),
            per_account_and_client: Some(RateLimiter::keyed(per_hour(per_account_per_hour))),
            per_account: None,
        }
    }

    /// Signups: new accounts per address per hour (a burst of that many,
    /// then one every hour / n), and a few per typed email.
    pub fn for_signups(per_ip_per_hour: u32) -> Self {
        Self {
            per_client: RateLimiter::keyed(per_hour(per_ip_per_hour)),
            per_account_and_client: None,
            per_account: Some(RateLimiter::keyed(per_hour(SIGNUPS_PER_EMAIL_PER_HOUR))),
        }
    }

    /// Takes one attempt from every allowance, or says how long to wait.
    pub fn check(&self, client: IpAddr, account: &str) -> Result<(), RetryAfter> {
        let now = DefaultClock::default().now();
        let wait = |not_until: governor::NotUntil<_>| RetryAfter(not_until.wait_time_from(now));
        self.per_client.check_key(&client).map_err(wait)?;
        if let Some(limiter) = &self.per_account_and_client {
            limiter.check_key(&(account.to_owned(), client)).map_err(wait)?;
        }
        if let Some(limiter) = &self.per_account {
            limiter.check_key(&account.to_owned()).map_err(wait)?;
        }
        Ok(())
    }

    /// Forgets keys whose allowance is full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_client.retain_recent();
        if let Some(limiter) = &self.per_account_and_client {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.per_account {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn passwords_for_an_account_are_throttled_per_client() {
        let throttle = Throttle::for_passwords(100, 2);
        assert!(throttle.check(ip(1), "a@example.com").is_ok());
        assert!(throttle.check(ip(1), "a@example.com").is_ok());
        let retry = throttle.check(ip(1), "a@example.com").unwrap_err();
        assert!(retry.seconds() >= 1);
        assert!(
            throttle.check(ip(2), "a@example.com").is_ok(),
            "another client still may"
        );
        assert!(throttle.check(ip(1), "b@example.com").is_ok());
    }

    #[test]
    fn passwords_for_one_account_from_many_clients_meet_a_looser_account_wide_limit() {
        let throttle = Throttle::for_passwords(1000, 1);
        for n in 0..ACCOUNT_WIDE_PASSWORD_FACTOR as u8 {
            assert!(throttle.check(ip(n), "a@example.com").is_ok(), "client {n}");
        }
        assert!(throttle.check(ip(200), "a@example.com").is_err());
    }

    #[test]
    fn links_have_no_account_wide_limit_so_strangers_cannot_use_up_the_owners() {
        let throttle = Throttle::for_links(1000, 2);
        for n in 0..50 {
            let _ = throttle.check(ip(n), "owner@example.com");
            let _ = throttle.check(ip(n), "owner@example.com");
        }
        assert!(throttle.check(ip(250), "owner@example.com").is_ok());
    }

    #[test]
    fn signups_from_one_address_are_limited_per_hour() {
        let throttle = Throttle::for_signups(2);
        assert!(throttle.check(ip(1), "a@example.com").is_ok());
        assert!(throttle.check(ip(1), "b@example.com").is_ok());
        let retry = throttle.check(ip(1), "c@example.com").unwrap_err();
        assert!(retry.seconds() > 60, "the next signup is most of an hour away");
    }

    #[test]
    fn an_address_is_throttled_whatever_the_account() {
        let throttle = Throttle::for_passwords(2, 100);
        assert!(throttle.check(ip(1), "a@example.com").is_ok());
        assert!(throttle.check(ip(1), "b@example.com").is_ok());
        assert!(throttle.check(ip(1), "c@example.com").is_err());
    }
}
