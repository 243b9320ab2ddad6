//! The member CSV import: any file is read without a panic, and what it
//! accepts is sound (parsed emails, no duplicates, sane line numbers).
#![no_main]

use std::collections::HashSet;

use broadsheet::domain::member_csv::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    match parse(bytes) {
        Ok(parsed) => {
            let mut seen = HashSet::new();
            for member in &parsed.members {
                assert!(member.line >= 2, "a member on the header line");
                assert!(
                    seen.insert(member.email.as_str().to_owned()),
                    "a duplicate passed"
                );
                assert!(member.email.as_str().contains('@'));
            }
        }
        Err(rows) => assert!(!rows.is_empty(), "an error with no rows to name"),
    }
});
