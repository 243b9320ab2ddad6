//! Where a message stands in the mail queues, and a send as a whole. Stored
//! as text; `db` maps them at its edge (an unknown stored value is an error).

use super::text_enum::text_enum;

text_enum! {
    /// One queued message (a newsletter delivery or an outbox email).
    pub enum DeliveryStatus("status") {
        /// Due now or after `next_attempt_at` (a retry).
        Pending => "pending",
        /// Claimed by a worker, whose lease says until when.
        Sending => "sending",
        /// The server took it (250).
        Sent => "sent",
        /// Refused for good, or out of attempts.
        Failed => "failed",
        /// Not sent: the address unsubscribed, bounced or was deleted.
        Suppressed => "suppressed",
    }
}

text_enum! {
    /// A newsletter send: its deliveries still going out, or all settled.
    pub enum SendStatus("status") {
        Sending => "sending",
        Finished => "finished",
    }
}

/// How long until the next try of something that failed `attempts` times:
/// `base_ms` × 2^(attempts−1) × a random [0.5, 1.5), at most an hour. The
/// jitter keeps many retries from landing at the same moment.
pub fn retry_delay(base_ms: u64, attempts: i32) -> time::Duration {
    use rand::RngExt;
    let exponential = base_ms as f64 * 2f64.powi(attempts.clamp(1, 20) - 1);
    let jittered = exponential * rand::rng().random_range(0.5..1.5);
    time::Duration::milliseconds(jittered.min(3_600_000.0) as i64)
}
