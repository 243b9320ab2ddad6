//! The Stripe webhook verifier and parser: hostile headers never pass, and
//! any payload that does pass (signed with our secret) is read without a
//! panic, whatever it holds.
#![no_main]

use broadsheet::{billing::events::read_event, stripe::signature};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_fuzz";
const NOW: i64 = 1_790_000_000;

fuzz_target!(|input: &[u8]| {
    // The first byte picks the attack: a forged header over the payload,
    // or a correctly signed payload of any shape.
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        // Forged: header and payload from the input, split at the first newline.
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let (header, payload) = rest.split_at(split);
        let header = String::from_utf8_lossy(header);
        assert!(
            read_event(Some(&header), payload, &[SECRET], NOW).is_err(),
            "a header the fuzzer made up verified: {header:?}"
        );
    } else {
        let header = format!("t={NOW},v1={}", signature::sign(SECRET, NOW, rest));
        let _ = read_event(Some(&header), rest, &[SECRET], NOW);
    }
});
