//! Reading what the SMTP sink (the testkit's `smtp_sink`) received.

pub use broadsheet_testkit::smtp_sink::{Received, SmtpSink};

/// Parsing helpers for received messages (mailparse is a test dependency).
pub trait Parsed {
    fn parsed(&self) -> mailparse::ParsedMail<'_>;
    fn header(&self, name: &str) -> Option<String>;
    fn bodies(&self) -> (String, String);
}

impl Parsed for Received {
    fn parsed(&self) -> mailparse::ParsedMail<'_> {
        mailparse::parse_mail(self.data.as_bytes()).expect("a parseable message")
    }

    fn header(&self, name: &str) -> Option<String> {
        use mailparse::MailHeaderMap;
        self.parsed().headers.get_first_value(name)
    }

    /// The decoded text/plain and text/html parts.
    fn bodies(&self) -> (String, String) {
        let parsed = self.parsed();
        let mut text = String::new();
        let mut html = String::new();
        for part in parsed.subparts.iter().chain(std::iter::once(&parsed)) {
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = part.get_body().unwrap(),
                "text/html" => html = part.get_body().unwrap(),
                _ => {}
            }
        }
        (text, html)
    }
}
