//! Members as editors see them: where each stands (a summary of the access
//! policy's standing), the labels that group them, the note kept on them,
//! and the questions the member list answers.

use time::PrimitiveDateTime;

use crate::domain::{
    InvalidInput,
    access::{Member, Policy, Standing},
    settings::one_line,
    slug::Slug,
    text_enum::text_enum,
};

text_enum! {
    /// Where a member stands, in the words of the member list. Computed from
    /// the access policy's standing, never stored: it changes with time
    /// (comps end, grace runs out) without any write.
    pub enum MemberStatus("status") {
        /// No plan, or only free.
        Free => "free",
        /// A subscription that reads paid posts.
        Paid => "paid",
        /// Full access granted by the publication (a comp or a gift), with no
        /// subscription paying for it.
        Comped => "comped",
        /// Had a subscription; it ended.
        Lapsed => "lapsed",
        /// Stripe could not charge the card: still reading while in grace, or
        /// cut off after it. Either way the card on file needs updating.
        CardFailed => "card_failed",
        /// Authors, editors and admins.
        Staff => "staff",
    }
}

impl MemberStatus {
    pub fn of(member: &Member, now: PrimitiveDateTime, policy: &Policy) -> MemberStatus {
        let paying_without_comps = || {
            let subscriptions_only = Member {
                comps: Vec::new(),
                ..member.clone()
            };
            Standing::of(&subscriptions_only, now, policy)
        };
        match Standing::of(member, now, policy) {
            Standing::Staff => MemberStatus::Staff,
            Standing::Paid if paying_without_comps() == Standing::Paid => MemberStatus::Paid,
            Standing::Paid => MemberStatus::Comped,
            Standing::InGrace | Standing::CardFailed => MemberStatus::CardFailed,
            Standing::Lapsed => MemberStatus::Lapsed,
            Standing::Free => MemberStatus::Free,
        }
    }

    /// Whether a member with no subscription and no comp row can stand so:
    /// only `free` (and `staff`, which the role decides). The member list
    /// computes statuses only for members with billing rows.
    pub fn needs_billing_rows(self) -> bool {
        !matches!(self, MemberStatus::Free | MemberStatus::Staff)
    }
}

text_enum! {
    /// What `member_events` records (what no other table keeps).
    pub enum MemberEventKind("kind") {
        SignedIn => "signed_in",
        NewsletterJoined => "newsletter_joined",
        NewsletterLeft => "newsletter_left",
        /// "Leave all" on the unsubscribe page: every newsletter, and the
        /// address suppressed.
        UnsubscribedFromAll => "unsubscribed_from_all",
        EmailChanged => "email_changed",
        Suppressed => "suppressed",
        SuppressionLifted => "suppression_lifted",
        AddedByStaff => "added_by_staff",
        SignInLinkSent => "sign_in_link_sent",
        /// Detail `free` or `paid`: each is sent once.
        WelcomeSent => "welcome_sent",
        /// A mail provider reported a bounce or a spam complaint; the
        /// detail says which and what it said.
        EmailFeedback => "email_feedback",
    }
}

impl MemberEventKind {
    /// Whether it changes what the member is (their address, newsletters,
    /// whether mail reaches them): a `member.updated` webhook.
    pub fn changes_member(self) -> bool {
        matches!(
            self,
            MemberEventKind::NewsletterJoined
                | MemberEventKind::NewsletterLeft
                | MemberEventKind::UnsubscribedFromAll
                | MemberEventKind::EmailChanged
                | MemberEventKind::Suppressed
                | MemberEventKind::SuppressionLifted
        )
    }
}

pub const MAX_LABEL_CHARS: usize = 60;
pub const MAX_NOTE_CHARS: usize = 2_000;
pub const MAX_LABELS_PER_MEMBER: usize = 50;
pub const MAX_SEARCH_CHARS: usize = 200;
pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 200;

/// A label's name as shown: "Early backer".
pub fn label_name(raw: &str) -> Result<String, InvalidInput> {
    one_line("name", raw, 1, MAX_LABEL_CHARS)
}

/// A label's slug, made from its name ("Early backer" → `early-backer`).
pub fn label_slug(name: &str) -> Slug {
    Slug::from_title(name)
}

/// The note editors keep on a member: free text, several lines.
pub fn member_note(raw: &str) -> Result<String, InvalidInput> {
    // Before trimming: a leading vertical tab is as wrong as one inside.
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(InvalidInput::new("note", "note must not hold control characters"));
    }
    let note = raw.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(InvalidInput::new(
            "note",
            format!("note must be at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(note.to_owned())
}

pub const MAX_COMP_REASON_CHARS: usize = 500;

/// Why a comp was granted (kept for the record): at most 500 characters,
/// line breaks and tabs allowed, no other control characters.
pub fn comp_reason(raw: &str) -> Result<String, InvalidInput> {
    if raw
        .chars()
        .any(|c| c.is_ascii_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(InvalidInput::new(
            "reason",
            "reason must not contain control characters other than line breaks and tabs",
        ));
    }
    if raw.chars().count() > MAX_COMP_REASON_CHARS {
        return Err(InvalidInput::new(
            "reason",
            format!("reason must be at most {MAX_COMP_REASON_CHARS} characters"),
        ));
    }
    Ok(raw.to_owned())
}

/// What the member list is asked for: every filter combined (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberQuery {
    /// A piece of the email or the name, case-insensitive.
    pub search: Option<String>,
    pub status: Option<MemberStatus>,
    /// A label's slug.
    pub label: Option<Slug>,
    /// A newsletter's slug: its subscribers.
    pub newsletter: Option<Slug>,
    /// What brought them, as recorded at sign-up (`home`, `import`,
    /// `article:{slug}`…); a trailing `*` matches a prefix (`article:*`).
    pub source: Option<String>,
    pub created_after: Option<PrimitiveDateTime>,
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
}

impl MemberQuery {
    /// The search text: trimmed; empty is none; longer than a search box
    /// could want is refused.
    pub fn search_text(raw: Option<&str>) -> Result<Option<String>, InvalidInput> {
        let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(InvalidInput::new(
                "q",
                format!("q must be at most {MAX_SEARCH_CHARS} characters"),
            ));
        }
        Ok(Some(text.to_owned()))
    }

    pub fn page(raw: Option<i64>) -> Result<i64, InvalidInput> {
        match raw {
            None => Ok(1),
            Some(page) if (1..=1_000_000).contains(&page) => Ok(page),
            Some(_) => Err(InvalidInput::new("page", "page must be 1 or more")),
        }
    }

    pub fn per_page(raw: Option<i64>) -> Result<i64, InvalidInput> {
        match raw {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            Some(_) => Err(InvalidInput::new(
                "per_page",
                format!("per_page must be 1 to {MAX_PAGE_SIZE}"),
            )),
        }
    }

    pub fn source(raw: Option<&str>) -> Result<Option<String>, InvalidInput> {
        let Some(source) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        one_line("source", source, 1, 200).map(Some)
    }

    /// Rows to skip before this page.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        access::{Comp, Subscription},
        role::Role,
        subscription::SubscriptionStatus,
    };
    use time::macros::datetime;

    const NOW: PrimitiveDateTime = datetime!(2026-12-06 12:00);

    fn reader(subscriptions: Vec<Subscription>, comps: Vec<Comp>) -> Member {
        Member {
            role: Role::Reader,
            subscriptions,
            comps,
            suspended: false,
        }
    }

    fn subscription(status: SubscriptionStatus, past_due_since: Option<PrimitiveDateTime>) -> Subscription {
        Subscription {
            status,
            current_period_end: Some(datetime!(2026-12-20 0:00)),
            past_due_since,
            tier: None,
        }
    }

    fn status(member: &Member) -> MemberStatus {
        MemberStatus::of(member, NOW, &Policy::default())
    }

    #[test]
    fn a_member_list_status_summarises_the_access_standing() {
        use SubscriptionStatus::*;
        let forever = Comp {
            expires_at: None,
            tier: None,
        };
        let ended = Comp {
            expires_at: Some(datetime!(2026-12-01 0:00)),
            tier: None,
        };
        assert_eq!(status(&reader(vec![], vec![])), MemberStatus::Free);
        assert_eq!(status(&reader(vec![], vec![ended])), MemberStatus::Free);
        assert_eq!(
            status(&reader(vec![subscription(Active, None)], vec![])),
            MemberStatus::Paid
        );
        assert_eq!(
            status(&reader(vec![subscription(Active, None)], vec![forever.clone()])),
            MemberStatus::Paid,
            "a subscriber with a comp as well is paying"
        );
        assert_eq!(
            status(&reader(vec![], vec![forever.clone()])),
            MemberStatus::Comped
        );
        assert_eq!(
            status(&reader(vec![subscription(Canceled, None)], vec![forever.clone()])),
            MemberStatus::Comped
        );
        assert_eq!(
            status(&reader(vec![subscription(Canceled, None)], vec![])),
            MemberStatus::Lapsed
        );
        let in_grace = subscription(PastDue, Some(datetime!(2026-12-05 0:00)));
        let past_grace = subscription(PastDue, Some(datetime!(2026-11-01 0:00)));
        assert_eq!(status(&reader(vec![in_grace], vec![])), MemberStatus::CardFailed);
        assert_eq!(
            status(&reader(vec![past_grace], vec![])),
            MemberStatus::CardFailed
        );
        let editor = Member {
            role: Role::Editor,
            ..reader(vec![], vec![])
        };
        assert_eq!(status(&editor), MemberStatus::Staff);
    }

    #[test]
    fn a_note_keeps_its_lines_and_refuses_control_characters_and_length() {
        assert_eq!(member_note("  first\nsecond  ").unwrap(), "first\nsecond");
        assert!(member_note("bell\u{7}").is_err());
        assert!(member_note(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
    }

    #[test]
    fn paging_and_search_refuse_what_no_list_can_answer() {
        assert_eq!(MemberQuery::page(None), Ok(1));
        assert!(MemberQuery::page(Some(0)).is_err());
        assert!(MemberQuery::per_page(Some(MAX_PAGE_SIZE + 1)).is_err());
        assert_eq!(MemberQuery::search_text(Some("   ")), Ok(None));
        assert!(MemberQuery::search_text(Some(&"q".repeat(MAX_SEARCH_CHARS + 1))).is_err());
    }
}
