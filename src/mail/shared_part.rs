//! A message part many recipients share but for their own links, encoded
//! once for all of them.
//!
//! A newsletter copy's text and HTML carry stand-ins (addresses on the
//! reserved `.invalid` domain) where each recipient's links go. The
//! stretches between stand-ins are the same in every message of the copy,
//! so they are quoted-printable encoded once, when the copy is rendered;
//! each message is then those stretches joined with its own encoded links.
//! Quoted-printable allows a soft line break (`=` CRLF, which decodes to
//! nothing) anywhere, so every piece ends with one and pieces join without
//! re-encoding: a mail client decodes exactly the text that filling the
//! stand-ins in and encoding the whole would give. Encoding each ~20 KB
//! message whole (and lettre's line-ending pass over it) was a quarter of
//! the worker's time.

use aho_corasick::{AhoCorasick, MatchKind};
use lettre::message::{Body, header::ContentTransferEncoding};

/// A shared part, cut at its stand-ins.
pub struct SharedPart {
    pieces: Vec<Piece>,
}

enum Piece {
    /// Text every recipient gets: as written, and encoded (ending with a
    /// line break, soft or hard).
    Shared { text: String, encoded: String },
    /// Where the recipient's value for the stand-in with this index goes.
    StandIn(usize),
}

/// The stand-ins a part may carry, found in one pass.
pub struct StandIns {
    finder: AhoCorasick,
}

impl StandIns {
    /// Stand-in `i` is `stand_ins[i]`; none may be a prefix of another.
    pub fn new<S: AsRef<str>>(stand_ins: &[S]) -> anyhow::Result<Self> {
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(stand_ins.iter().map(|s| s.as_ref()))
            .map_err(|e| anyhow::anyhow!("the newsletter's stand-ins: {e}"))?;
        Ok(Self { finder })
    }
}

impl SharedPart {
    /// `text` cut at every occurrence of `stand_ins`, its shared stretches
    /// encoded.
    pub fn new(text: &str, stand_ins: &StandIns) -> Self {
        let mut pieces = Vec::new();
        let mut shared_from = 0;
        for found in stand_ins.finder.find_iter(text) {
            pieces.push(Piece::shared(&text[shared_from..found.start()]));
            pieces.push(Piece::StandIn(found.pattern().as_usize()));
            shared_from = found.end();
        }
        pieces.push(Piece::shared(&text[shared_from..]));
        pieces.retain(|piece| !matches!(piece, Piece::Shared { text, .. } if text.is_empty()));
        Self { pieces }
    }

    /// The part with `values[i]` in place of stand-in `i`.
    pub fn filled(&self, values: &[String]) -> String {
        let mut filled = String::with_capacity(self.len_hint());
        for piece in &self.pieces {
            match piece {
                Piece::Shared { text, .. } => filled.push_str(text),
                Piece::StandIn(i) => filled.push_str(&values[*i]),
            }
        }
        filled
    }

    /// The same, as a quoted-printable body: the shared stretches as they
    /// were encoded once, the values encoded now.
    pub fn encoded(&self, values: &[String]) -> Body {
        let mut encoded = String::with_capacity(self.len_hint() * 11 / 10);
        for piece in &self.pieces {
            match piece {
                Piece::Shared { encoded: shared, .. } => encoded.push_str(shared),
                Piece::StandIn(i) => encoded.push_str(&encode(&values[*i])),
            }
        }
        Body::dangerous_pre_encoded(encoded.into_bytes(), ContentTransferEncoding::QuotedPrintable)
    }

    fn len_hint(&self) -> usize {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Shared { text, .. } => text.len(),
                Piece::StandIn(_) => 128,
            })
            .sum()
    }
}

impl Piece {
    fn shared(text: &str) -> Self {
        Self::Shared {
            text: text.to_owned(),
            encoded: encode(text),
        }
    }
}

/// `text` quoted-printable encoded with CRLF line ends (as lettre encodes
/// a text part), ending with a line break: a soft one unless it ends with
/// a hard one. Lines are wrapped one short of the 76 characters RFC 2045
/// allows, leaving room for the `=` of that last soft break.
fn encode(text: &str) -> String {
    let options = quoted_printable::Options::default()
        .input_mode(quoted_printable::InputMode::Text)
        .line_length_limit(75);
    let mut encoded = quoted_printable::encode_with_options(with_crlf(text).as_bytes(), options);
    if !encoded.is_empty() && !encoded.ends_with("\r\n") {
        encoded.push_str("=\r\n");
    }
    encoded
}

/// Every line feed preceded by a carriage return.
fn with_crlf(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\n') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut previous = '\0';
    for c in text.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
    out.into()
}
