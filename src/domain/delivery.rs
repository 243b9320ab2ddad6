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
