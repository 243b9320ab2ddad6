//! The access policy: the one function that decides what a reader
//! sees of an article. Every output (site, JSON, feeds, email) asks it; nothing
//! else looks at subscriptions to decide.

use time::{Duration, PrimitiveDateTime};

use crate::domain::{article::Visibility, role::Role, subscription::SubscriptionStatus};

/// The tunable parts of the policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long a `past_due` subscriber keeps full access after the period
    /// they paid for ended, while Stripe retries the card.
    pub past_due_grace: Duration,
    /// Paid articles a free member may read in full each calendar month
    /// (`METERED_FREE_ARTICLES`); 0 turns the meter off.
    pub metered_free_articles: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            past_due_grace: Duration::days(7),
            metered_free_articles: 0,
        }
    }
}

/// A tier of the price catalogue, by id (`db::tiers`).
pub type TierId = i32;

/// What an article asks of its reader: its visibility and, for a paid
/// article, the tiers that may read it (none listed: any paid tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate<'a> {
    pub visibility: Visibility,
    pub tiers: &'a [TierId],
}

impl From<Visibility> for Gate<'static> {
    fn from(visibility: Visibility) -> Self {
        Gate {
            visibility,
            tiers: &[],
        }
    }
}

impl Member {
    /// Has a subscription Stripe would go on charging: choosing a price
    /// again changes that one (Billing Portal) rather than adding another.
    pub fn has_ongoing_subscription(&self) -> bool {
        self.subscriptions.iter().any(|s| s.status.is_ongoing())
    }
}

/// The facts of one subscription that matter to access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub status: SubscriptionStatus,
    /// The catalogue tier of its price; `None` for a price outside the
    /// catalogue (a known subscription moved to a price never added), which
    /// counts for paid articles open to any tier but no tier-only one.
    pub tier: Option<TierId>,
    pub current_period_end: Option<PrimitiveDateTime>,
    /// When it became `past_due`: the grace period runs from here. Not from
    /// the period end, which Stripe moves forward when it invoices the
    /// renewal, before it tries the card.
    pub past_due_since: Option<PrimitiveDateTime>,
}

/// Complimentary access granted by the publisher; `None` never expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comp {
    pub expires_at: Option<PrimitiveDateTime>,
    /// A comp of one tier (a gift subscription); `None`: every tier.
    pub tier: Option<TierId>,
}

/// A logged-in person and everything the policy needs to know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub role: Role,
    pub subscriptions: Vec<Subscription>,
    pub comps: Vec<Comp>,
    /// A dispute of one of their payments suspends what their
    /// subscriptions give (comps still count) until it is won.
    pub suspended: bool,
}

/// A gift link to this article, as stored: anyone holding it reads the
/// article in full while it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gift {
    pub expires_at: PrimitiveDateTime,
    /// Opens left before the link is used up.
    pub reads_left: i32,
    pub revoked: bool,
}

impl Gift {
    pub fn is_open(&self, now: PrimitiveDateTime) -> bool {
        !self.revoked && self.reads_left > 0 && now < self.expires_at
    }
}

/// A free member's metered reads this month, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterReads {
    /// Distinct paid articles read in full this month.
    pub used: u32,
    /// This article is one of them: reading it again is free.
    pub this_article: bool,
    /// The reader is opening this one article (a page or the API's single
    /// article), which may spend a read; lists, feeds and email never do.
    pub opening: bool,
}

/// What a reader brings to one article beyond their standing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Passes {
    pub gift: Option<Gift>,
    pub meter: Option<MeterReads>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    Anonymous,
    Member(Member),
}

/// A member's standing with the publication, best first: when a member has
/// several subscriptions or comps, the best one counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Authors, editors and admins read everything.
    Staff,
    /// An active or trialing subscription, or a comp that has not expired.
    Paid,
    /// `past_due`, but within the grace period: full access and a banner.
    InGrace,
    /// The card failed and grace is over (or the plan is unpaid, incomplete or
    /// paused): the fix is updating the card.
    CardFailed,
    /// Was a subscriber, the subscription ended.
    Lapsed,
    /// A member with no plan.
    Free,
}

impl Standing {
    /// The member's standing over all their plans.
    pub fn of(member: &Member, now: PrimitiveDateTime, policy: &Policy) -> Standing {
        Standing::for_tiers(member, &[], now, policy)
    }

    /// The member's standing for an article open to `tiers` (none: any
    /// paid tier): only the plans that reach those tiers count.
    pub fn for_tiers(member: &Member, tiers: &[TierId], now: PrimitiveDateTime, policy: &Policy) -> Standing {
        if member.role.is_staff() {
            return Standing::Staff;
        }
        let from_comps = member
            .comps
            .iter()
            .filter(|comp| comp.expires_at.is_none_or(|end| now < end))
            .filter(|comp| tiers.is_empty() || comp.tier.is_none_or(|tier| tiers.contains(&tier)))
            .map(|_| Standing::Paid);
        let from_subscriptions = member
            .subscriptions
            .iter()
            .filter(|_| !member.suspended)
            .filter(|sub| tiers.is_empty() || sub.tier.is_some_and(|tier| tiers.contains(&tier)))
            .map(|sub| subscription_standing(sub, now, policy));
        from_comps
            .chain(from_subscriptions)
            .min()
            .unwrap_or(Standing::Free)
    }

    /// Whether this standing reads paid articles in full.
    pub fn is_paying(self) -> bool {
        matches!(self, Standing::Staff | Standing::Paid | Standing::InGrace)
    }
}

fn subscription_standing(sub: &Subscription, now: PrimitiveDateTime, policy: &Policy) -> Standing {
    use SubscriptionStatus::*;
    match sub.status {
        // Stripe renews (or ends) a subscription at its period end and tells
        // us by webhook. One still `active` well past its end means we missed
        // that news: lapsed until Stripe confirms again (stripe-sync runs
        // hourly), rather than paid for good.
        Active | Trialing
            if sub
                .current_period_end
                .is_some_and(|end| now > end + policy.past_due_grace) =>
        {
            Standing::Lapsed
        }
        Active | Trialing => Standing::Paid,
        PastDue => {
            // Without a start we cannot place the grace window: deny
            // rather than leak.
            let in_grace = sub
                .past_due_since
                .is_some_and(|since| now <= since + policy.past_due_grace);
            if in_grace {
                Standing::InGrace
            } else {
                Standing::CardFailed
            }
        }
        Unpaid | Incomplete | Paused => Standing::CardFailed,
        Canceled | IncompleteExpired => Standing::Lapsed,
    }
}

/// What the reader is invited to do instead of reading on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallToAction {
    /// Anonymous: "Already a subscriber? Log in".
    Login,
    /// A member without a (current) plan.
    Subscribe,
    /// A subscriber whose card failed: update it in the billing portal.
    UpdateCard,
    /// A paying subscriber of another tier than the article is for.
    Upgrade,
}

impl CallToAction {
    /// The name used in the JSON API.
    pub fn kind(self) -> &'static str {
        match self {
            CallToAction::Login => "login",
            CallToAction::Subscribe => "subscribe",
            CallToAction::UpdateCard => "update_card",
            CallToAction::Upgrade => "upgrade",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            CallToAction::Login => "Already a subscriber? Log in",
            CallToAction::Subscribe => "Subscribe to keep reading",
            CallToAction::UpdateCard => "Your card on file needs updating",
            CallToAction::Upgrade => "This post is for another tier. Upgrade to keep reading",
        }
    }
}

/// A call to action with its words and where it leads: the one type every
/// output (page, JSON, email) renders its invitation from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtaLink {
    pub cta: CallToAction,
    /// A site path: `/login?next=/p/slug`, `/subscribe`, `/account`.
    pub path: String,
    /// Metered reads left this month, when the meter is on.
    pub free_left: Option<u32>,
}

impl CtaLink {
    /// The call to action for the article at `slug`.
    pub fn new(cta: CallToAction, slug: &str) -> Self {
        let path = match cta {
            CallToAction::Login => format!("/login?next=/p/{slug}"),
            CallToAction::Subscribe | CallToAction::Upgrade => "/subscribe".to_owned(),
            CallToAction::UpdateCard => "/account".to_owned(),
        };
        Self {
            cta,
            path,
            free_left: None,
        }
    }

    /// What the teaser says: the call to action, after the meter's count
    /// ("You have 2 free articles left this month.") when there is one.
    pub fn message(&self) -> String {
        match self.free_left {
            Some(left) => format!("{} {}", free_articles_left(left), self.cta.message()),
            None => self.cta.message().to_owned(),
        }
    }

    pub fn button(&self) -> &'static str {
        match self.cta {
            CallToAction::Login => "Log in",
            CallToAction::Subscribe => "Subscribe",
            CallToAction::UpdateCard => "Update your card",
            CallToAction::Upgrade => "Upgrade",
        }
    }
}

/// A notice shown above an article the reader may read in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Banner {
    /// In the grace period after a failed renewal.
    UpdateCard,
    /// Read through a gift link (the page names the gifter).
    Gifted,
    /// One of a free member's metered reads; `left` after this one.
    FreeRead { left: u32 },
}

impl Banner {
    pub fn message(self) -> String {
        match self {
            Banner::UpdateCard => {
                "Your last payment failed. Update your card to keep reading without interruption.".into()
            }
            Banner::Gifted => "A subscriber gifted you this article.".into(),
            Banner::FreeRead { left } => format!(
                "This is one of your free articles this month. {}",
                free_articles_left(left)
            ),
        }
    }
}

/// "You have 2 free articles left this month."
pub fn free_articles_left(left: u32) -> String {
    let noun = if left == 1 { "article" } else { "articles" };
    format!("You have {left} free {noun} left this month.")
}

/// Proof that the policy allowed a whole body. Only this module makes one
/// (the field is private), and the whole body of an article is reachable
/// only by presenting one (`db::articles::ArticleRow::full_body`), so no
/// code can show a paid body without a decision that allowed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullBody(());

/// The proof for staff working on an article (the editor, the admin API):
/// authors, editors and admins read everything, as the policy says.
pub fn staff_view(role: Role) -> Option<FullBody> {
    role.is_staff().then_some(FullBody(()))
}

/// The decision: the whole body, or the preview and a call to action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Full {
        banner: Option<Banner>,
        proof: FullBody,
    },
    Preview {
        cta: CallToAction,
        /// Metered reads left this month, when the meter is on for this reader.
        free_left: Option<u32>,
    },
}

impl Access {
    /// The whole body, with `banner` above it.
    fn full(banner: Option<Banner>) -> Self {
        Access::Full {
            banner,
            proof: FullBody(()),
        }
    }

    pub fn is_full(self) -> bool {
        matches!(self, Access::Full { .. })
    }

    /// The banner of a full read, if any.
    pub fn banner(self) -> Option<Banner> {
        match self {
            Access::Full { banner, .. } => banner,
            Access::Preview { .. } => None,
        }
    }
}

/// Decides what `reader` sees of an article behind `gate` at `now`, on
/// their standing alone (lists, feeds, email).
pub fn decide<'a>(
    reader: &Reader,
    gate: impl Into<Gate<'a>>,
    now: PrimitiveDateTime,
    policy: &Policy,
) -> Access {
    decide_with(reader, gate, Passes::default(), now, policy)
}

/// The whole policy: the reader's standing first, then a gift link, then the
/// meter. A `Full` with `Banner::Gifted` or `Banner::FreeRead` obliges the
/// caller to record that read (`db::gifts::spend_read`, `db::meter::spend`)
/// and to decide again if the record is refused (a race lost to another
/// request).
pub fn decide_with<'a>(
    reader: &Reader,
    gate: impl Into<Gate<'a>>,
    passes: Passes,
    now: PrimitiveDateTime,
    policy: &Policy,
) -> Access {
    let gate = gate.into();
    let own = on_standing(reader, gate, now, policy);
    let Access::Preview { cta, .. } = own else {
        return own;
    };
    if passes.gift.is_some_and(|gift| gift.is_open(now)) {
        return Access::full(Some(Banner::Gifted));
    }
    let metered = policy.metered_free_articles > 0
        && gate.visibility == Visibility::Paid
        && cta == CallToAction::Subscribe;
    match passes.meter.filter(|_| metered) {
        Some(reads) => {
            let allowance = policy.metered_free_articles;
            if reads.opening && (reads.this_article || reads.used < allowance) {
                let used_after = if reads.this_article {
                    reads.used
                } else {
                    reads.used + 1
                };
                Access::full(Some(Banner::FreeRead {
                    left: allowance.saturating_sub(used_after),
                }))
            } else {
                Access::Preview {
                    cta,
                    free_left: Some(allowance.saturating_sub(reads.used)),
                }
            }
        }
        None => own,
    }
}

/// Whether the meter could open this article for this reader, so its reads
/// are worth loading: a free or lapsed member, a paid article, meter on.
pub fn meter_applies<'a>(
    reader: &Reader,
    gate: impl Into<Gate<'a>>,
    now: PrimitiveDateTime,
    policy: &Policy,
) -> bool {
    policy.metered_free_articles > 0
        && matches!(
            on_standing(reader, gate.into(), now, policy),
            Access::Preview {
                cta: CallToAction::Subscribe,
                ..
            }
        )
}

/// The access table (README: How access is decided): what the reader's own standing gives.
fn on_standing(reader: &Reader, gate: Gate<'_>, now: PrimitiveDateTime, policy: &Policy) -> Access {
    let member = match reader {
        Reader::Anonymous if gate.visibility == Visibility::Public => {
            return Access::full(None);
        }
        Reader::Anonymous => {
            return Access::Preview {
                cta: CallToAction::Login,
                free_left: None,
            };
        }
        Reader::Member(member) => member,
    };
    let overall = Standing::of(member, now, policy);
    if gate.visibility != Visibility::Paid {
        let banner = (overall == Standing::InGrace).then_some(Banner::UpdateCard);
        return Access::full(banner);
    }
    let standing = Standing::for_tiers(member, gate.tiers, now, policy);
    if standing.is_paying() {
        let banner = (standing == Standing::InGrace).then_some(Banner::UpdateCard);
        return Access::full(banner);
    }
    Access::Preview {
        cta: match standing {
            Standing::CardFailed => CallToAction::UpdateCard,
            // Paying, but for another tier than this article's.
            _ if overall.is_paying() => CallToAction::Upgrade,
            _ => CallToAction::Subscribe,
        },
        free_left: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: PrimitiveDateTime = datetime!(2026-11-27 12:00);

    fn member(role: Role, subscriptions: Vec<Subscription>, comps: Vec<Comp>) -> Reader {
        Reader::Member(Member {
            role,
            subscriptions,
            comps,
            suspended: false,
        })
    }

    /// A subscription whose period ends `days_from_now` from now; a
    /// `past_due` one became so when that period ended.
    fn sub(status: SubscriptionStatus, days_from_now: i64) -> Subscription {
        let at = NOW + Duration::days(days_from_now);
        Subscription {
            status,
            tier: None,
            current_period_end: Some(at),
            past_due_since: (status == SubscriptionStatus::PastDue).then_some(at),
        }
    }

    fn paid(reader: &Reader) -> Access {
        decide(reader, Visibility::Paid, NOW, &Policy::default())
    }

    #[test]
    fn the_access_table_holds_for_paid_articles() {
        use SubscriptionStatus::*;
        let full = Access::full(None);
        let preview = |cta| Access::Preview { cta, free_left: None };
        let cases: Vec<(&str, Reader, Access)> = vec![
            ("anonymous", Reader::Anonymous, preview(CallToAction::Login)),
            (
                "member without a plan",
                member(Role::Reader, vec![], vec![]),
                preview(CallToAction::Subscribe),
            ),
            (
                "active",
                member(Role::Reader, vec![sub(Active, 20)], vec![]),
                full,
            ),
            (
                "trialing",
                member(Role::Reader, vec![sub(Trialing, 5)], vec![]),
                full,
            ),
            (
                "past_due inside grace",
                member(Role::Reader, vec![sub(PastDue, -6)], vec![]),
                Access::full(Some(Banner::UpdateCard)),
            ),
            (
                "past_due after grace",
                member(Role::Reader, vec![sub(PastDue, -8)], vec![]),
                preview(CallToAction::UpdateCard),
            ),
            (
                "past_due since an unknown time",
                member(
                    Role::Reader,
                    vec![Subscription {
                        status: PastDue,
                        tier: None,
                        current_period_end: None,
                        past_due_since: None,
                    }],
                    vec![],
                ),
                preview(CallToAction::UpdateCard),
            ),
            (
                "past_due for 8 days in a renewal period that runs for 3 more weeks",
                member(
                    Role::Reader,
                    vec![Subscription {
                        status: PastDue,
                        tier: None,
                        current_period_end: Some(NOW + Duration::days(21)),
                        past_due_since: Some(NOW - Duration::days(8)),
                    }],
                    vec![],
                ),
                preview(CallToAction::UpdateCard),
            ),
            (
                "unpaid",
                member(Role::Reader, vec![sub(Unpaid, -30)], vec![]),
                preview(CallToAction::UpdateCard),
            ),
            (
                "incomplete",
                member(Role::Reader, vec![sub(Incomplete, 1)], vec![]),
                preview(CallToAction::UpdateCard),
            ),
            (
                "paused",
                member(Role::Reader, vec![sub(Paused, 1)], vec![]),
                preview(CallToAction::UpdateCard),
            ),
            (
                "canceled",
                member(Role::Reader, vec![sub(Canceled, -1)], vec![]),
                preview(CallToAction::Subscribe),
            ),
            (
                "incomplete_expired",
                member(Role::Reader, vec![sub(IncompleteExpired, -1)], vec![]),
                preview(CallToAction::Subscribe),
            ),
            (
                "comp forever",
                member(
                    Role::Reader,
                    vec![],
                    vec![Comp {
                        expires_at: None,
                        tier: None,
                    }],
                ),
                full,
            ),
            (
                "comp until next week",
                member(
                    Role::Reader,
                    vec![],
                    vec![Comp {
                        expires_at: Some(NOW + Duration::days(7)),
                        tier: None,
                    }],
                ),
                full,
            ),
            (
                "expired comp",
                member(
                    Role::Reader,
                    vec![],
                    vec![Comp {
                        expires_at: Some(NOW - Duration::days(1)),
                        tier: None,
                    }],
                ),
                preview(CallToAction::Subscribe),
            ),
            (
                "canceled but comped",
                member(
                    Role::Reader,
                    vec![sub(Canceled, -1)],
                    vec![Comp {
                        expires_at: None,
                        tier: None,
                    }],
                ),
                full,
            ),
            (
                "an old canceled plan and a new active one",
                member(Role::Reader, vec![sub(Canceled, -90), sub(Active, 20)], vec![]),
                full,
            ),
            ("editor", member(Role::Editor, vec![], vec![]), full),
            ("admin", member(Role::Admin, vec![], vec![]), full),
            ("author", member(Role::Author, vec![], vec![]), full),
        ];
        for (case, reader, expected) in cases {
            assert_eq!(paid(&reader), expected, "case: {case}");
        }
    }

    #[test]
    fn grace_ends_exactly_at_the_configured_length() {
        let policy = Policy {
            past_due_grace: Duration::days(3),
            ..Policy::default()
        };
        let reader = member(Role::Reader, vec![sub(SubscriptionStatus::PastDue, -3)], vec![]);
        assert!(decide(&reader, Visibility::Paid, NOW, &policy).is_full());
        let later = NOW + Duration::seconds(1);
        assert!(!decide(&reader, Visibility::Paid, later, &policy).is_full());
    }

    #[test]
    fn an_active_subscription_long_past_its_period_end_is_lapsed_until_stripe_confirms() {
        use SubscriptionStatus::*;
        // Renewal news missed: 6 days past the end is within grace, 8 is not.
        for (status, days, reads) in [(Active, -6, true), (Active, -8, false), (Trialing, -8, false)] {
            let reader = member(Role::Reader, vec![sub(status, days)], vec![]);
            assert_eq!(paid(&reader).is_full(), reads, "{status:?} {days}");
        }
        let reader = member(Role::Reader, vec![sub(Active, -8)], vec![]);
        assert_eq!(
            paid(&reader),
            Access::Preview {
                cta: CallToAction::Subscribe,
                free_left: None
            }
        );
    }

    #[test]
    fn a_tier_only_article_is_read_by_that_tiers_members_and_others_are_asked_to_upgrade() {
        use SubscriptionStatus::*;
        let policy = Policy::default();
        let gold = Gate {
            visibility: Visibility::Paid,
            tiers: &[2],
        };
        let on = |tier: Option<TierId>, status| {
            member(
                Role::Reader,
                vec![Subscription {
                    tier,
                    ..sub(status, 20)
                }],
                vec![],
            )
        };
        let comp = |tier| {
            member(
                Role::Reader,
                vec![],
                vec![Comp {
                    expires_at: None,
                    tier,
                }],
            )
        };
        let preview = |cta| Access::Preview { cta, free_left: None };
        let cases: Vec<(&str, Reader, Access)> = vec![
            ("gold subscriber", on(Some(2), Active), Access::full(None)),
            (
                "silver subscriber",
                on(Some(1), Active),
                preview(CallToAction::Upgrade),
            ),
            (
                "a price outside the catalogue",
                on(None, Active),
                preview(CallToAction::Upgrade),
            ),
            (
                "gold with a failed card",
                on(Some(2), Unpaid),
                preview(CallToAction::UpdateCard),
            ),
            ("a comp of every tier", comp(None), Access::full(None)),
            ("a comp of gold", comp(Some(2)), Access::full(None)),
            ("a comp of silver", comp(Some(1)), preview(CallToAction::Upgrade)),
            (
                "free member",
                member(Role::Reader, vec![], vec![]),
                preview(CallToAction::Subscribe),
            ),
            ("anonymous", Reader::Anonymous, preview(CallToAction::Login)),
            ("author", member(Role::Author, vec![], vec![]), Access::full(None)),
        ];
        for (case, reader, expected) in cases {
            assert_eq!(decide(&reader, gold, NOW, &policy), expected, "case: {case}");
            // Open to any paid tier, every paying member reads it.
            let any_tier = decide(&reader, Visibility::Paid, NOW, &policy);
            assert_eq!(
                any_tier.is_full(),
                expected.is_full() || expected == preview(CallToAction::Upgrade),
                "case: {case}"
            );
        }
    }

    #[test]
    fn anonymous_readers_get_the_login_call_for_members_posts_and_full_public_ones() {
        let policy = Policy::default();
        assert_eq!(
            decide(&Reader::Anonymous, Visibility::Members, NOW, &policy),
            Access::Preview {
                cta: CallToAction::Login,
                free_left: None,
            }
        );
        assert!(decide(&Reader::Anonymous, Visibility::Public, NOW, &policy).is_full());
    }

    #[test]
    fn any_member_reads_members_posts_in_full() {
        let reader = member(Role::Reader, vec![sub(SubscriptionStatus::Unpaid, -30)], vec![]);
        assert!(decide(&reader, Visibility::Members, NOW, &Policy::default()).is_full());
    }

    fn metered(allowance: u32) -> Policy {
        Policy {
            metered_free_articles: allowance,
            ..Policy::default()
        }
    }

    fn gift(expires_in_hours: i64, reads_left: i32, revoked: bool) -> Passes {
        Passes {
            gift: Some(Gift {
                expires_at: NOW + Duration::hours(expires_in_hours),
                reads_left,
                revoked,
            }),
            meter: None,
        }
    }

    #[test]
    fn an_open_gift_link_lets_anyone_read_and_a_closed_one_shows_the_usual_teaser() {
        let policy = Policy::default();
        let failed_card = member(Role::Reader, vec![sub(SubscriptionStatus::Unpaid, -30)], vec![]);
        for reader in [
            Reader::Anonymous,
            member(Role::Reader, vec![], vec![]),
            failed_card,
        ] {
            let open = decide_with(&reader, Visibility::Paid, gift(1, 1, false), NOW, &policy);
            assert_eq!(open, Access::full(Some(Banner::Gifted)));
            for (why, closed) in [
                ("expired", gift(0, 5, false)),
                ("used up", gift(24, 0, false)),
                ("revoked", gift(24, 5, true)),
            ] {
                let access = decide_with(&reader, Visibility::Paid, closed, NOW, &policy);
                assert_eq!(access, paid(&reader), "{why}");
            }
        }
    }

    #[test]
    fn a_subscriber_opening_a_gift_link_reads_as_themselves_and_spends_nothing() {
        let reader = member(Role::Reader, vec![sub(SubscriptionStatus::Active, 5)], vec![]);
        let access = decide_with(
            &reader,
            Visibility::Paid,
            gift(1, 1, false),
            NOW,
            &Policy::default(),
        );
        assert_eq!(access, Access::full(None));
    }

    #[test]
    fn the_meter_opens_paid_articles_for_free_members_up_to_the_allowance() {
        let policy = metered(3);
        let free = member(Role::Reader, vec![], vec![]);
        let reads = |used, this_article, opening| Passes {
            gift: None,
            meter: Some(MeterReads {
                used,
                this_article,
                opening,
            }),
        };
        let open = |used, this_article| {
            decide_with(
                &free,
                Visibility::Paid,
                reads(used, this_article, true),
                NOW,
                &policy,
            )
        };
        assert_eq!(open(0, false), Access::full(Some(Banner::FreeRead { left: 2 })));
        assert_eq!(open(2, false), Access::full(Some(Banner::FreeRead { left: 0 })));
        assert_eq!(
            open(3, false),
            Access::Preview {
                cta: CallToAction::Subscribe,
                free_left: Some(0)
            }
        );
        // Re-reading an article already counted costs nothing, even at the limit.
        assert_eq!(open(3, true), Access::full(Some(Banner::FreeRead { left: 0 })));
        // A list shows what is left and spends nothing.
        assert_eq!(
            decide_with(&free, Visibility::Paid, reads(1, false, false), NOW, &policy),
            Access::Preview {
                cta: CallToAction::Subscribe,
                free_left: Some(2)
            }
        );
        assert!(meter_applies(&free, Visibility::Paid, NOW, &policy));
        assert!(!meter_applies(&free, Visibility::Paid, NOW, &metered(0)));
        assert!(!meter_applies(&free, Visibility::Members, NOW, &policy));
    }

    #[test]
    fn the_meter_is_for_free_members_only() {
        let policy = metered(5);
        let reads = Passes {
            gift: None,
            meter: Some(MeterReads {
                used: 0,
                this_article: false,
                opening: true,
            }),
        };
        let failed_card = member(Role::Reader, vec![sub(SubscriptionStatus::Unpaid, -30)], vec![]);
        for reader in [Reader::Anonymous, failed_card] {
            assert!(!meter_applies(&reader, Visibility::Paid, NOW, &policy));
            assert_eq!(
                decide_with(&reader, Visibility::Paid, reads, NOW, &policy),
                paid(&reader)
            );
        }
        assert_eq!(
            decide_with(
                &member(Role::Reader, vec![], vec![]),
                Visibility::Paid,
                reads,
                NOW,
                &metered(0)
            ),
            Access::Preview {
                cta: CallToAction::Subscribe,
                free_left: None
            }
        );
    }

    fn any_status() -> impl Strategy<Value = SubscriptionStatus> {
        proptest::sample::select(SubscriptionStatus::ALL)
    }

    fn any_time() -> impl Strategy<Value = Option<PrimitiveDateTime>> {
        proptest::option::of((-400i64..400).prop_map(|hours| NOW + Duration::hours(hours)))
    }

    /// One of three tiers, or none (a price outside the catalogue; a comp
    /// for every tier).
    fn any_tier() -> impl Strategy<Value = Option<TierId>> {
        proptest::option::of(1..=3)
    }

    fn any_member() -> impl Strategy<Value = Member> {
        (
            proptest::sample::select(Role::ALL),
            proptest::collection::vec((any_status(), any_time(), any_time(), any_tier()), 0..4),
            proptest::collection::vec((any_time(), any_tier()), 0..3),
            proptest::bool::weighted(0.2),
        )
            .prop_map(|(role, subs, comps, suspended)| Member {
                role,
                suspended,
                subscriptions: subs
                    .into_iter()
                    .map(
                        |(status, current_period_end, past_due_since, tier)| Subscription {
                            status,
                            tier,
                            current_period_end,
                            past_due_since,
                        },
                    )
                    .collect(),
                comps: comps
                    .into_iter()
                    .map(|(expires_at, tier)| Comp { expires_at, tier })
                    .collect(),
            })
    }

    /// The tiers a paid article is for: none (any paid tier), or some of three.
    fn any_gate_tiers() -> impl Strategy<Value = Vec<TierId>> {
        proptest::sample::subsequence(vec![1, 2, 3], 0..=3)
    }

    /// An independent statement of who is entitled to a paid post for
    /// `tiers`, written from the table rather than from the implementation.
    fn entitled(member: &Member, tiers: &[TierId], policy: &Policy) -> bool {
        use SubscriptionStatus::*;
        let reaches = |tier: Option<TierId>, every_tier_when_none: bool| {
            tiers.is_empty() || tier.map_or(every_tier_when_none, |t| tiers.contains(&t))
        };
        member.role != Role::Reader
            || member
                .comps
                .iter()
                .any(|c| c.expires_at.is_none_or(|end| end > NOW) && reaches(c.tier, true))
            || member.subscriptions.iter().any(|s| {
                // A dispute suspends what subscriptions give, not comps.
                !member.suspended
                    && reaches(s.tier, false)
                    && match s.status {
                        // Past its period end by more than the grace: we
                        // missed Stripe's news, and deny until it comes.
                        Active | Trialing => s
                            .current_period_end
                            .is_none_or(|end| NOW <= end + policy.past_due_grace),
                        PastDue => s
                            .past_due_since
                            .is_some_and(|since| since + policy.past_due_grace >= NOW),
                        _ => false,
                    }
            })
    }

    proptest! {
        #[test]
        fn no_reader_without_entitlement_ever_reads_a_paid_article_in_full(
            member in any_member(),
            tiers in any_gate_tiers(),
            grace_days in 0i64..30,
        ) {
            let policy = Policy { past_due_grace: Duration::days(grace_days), ..Policy::default() };
            let gate = Gate { visibility: Visibility::Paid, tiers: &tiers };
            let access = decide(&Reader::Member(member.clone()), gate, NOW, &policy);
            prop_assert_eq!(access.is_full(), entitled(&member, &tiers, &policy), "member: {:?}", member);
            // A paying member of another tier is asked to upgrade, never to
            // subscribe as if they were not paying.
            if let Access::Preview { cta, .. } = access {
                let pays_elsewhere = Standing::of(&member, NOW, &policy).is_paying();
                prop_assert_eq!(cta == CallToAction::Upgrade, pays_elsewhere && cta != CallToAction::UpdateCard);
            }
        }

        #[test]
        fn passes_open_a_paid_article_only_as_far_as_they_go(
            member in any_member(),
            allowance in 0u32..5,
            used in 0u32..7,
            this_article: bool,
            opening: bool,
            gift_hours in proptest::option::of(-5i64..5),
            reads_left in -1i32..3,
            revoked: bool,
        ) {
            let policy = Policy { metered_free_articles: allowance, ..Policy::default() };
            let gift = gift_hours.map(|hours| Gift { expires_at: NOW + Duration::hours(hours), reads_left, revoked });
            let passes = Passes { gift, meter: Some(MeterReads { used, this_article, opening }) };
            let access = decide_with(&Reader::Member(member.clone()), Visibility::Paid, passes, NOW, &policy);
            let standing = Standing::of(&member, NOW, &policy);
            let gift_open = gift.is_some_and(|g| !g.revoked && g.reads_left > 0 && g.expires_at > NOW);
            let meter_opens = allowance > 0
                && opening
                && matches!(standing, Standing::Free | Standing::Lapsed)
                && (this_article || used < allowance);
            prop_assert_eq!(access.is_full(), entitled(&member, &[], &policy) || gift_open || meter_opens);
        }

        #[test]
        fn anonymous_readers_never_read_a_paid_article_in_full(grace_days in 0i64..30) {
            let policy = Policy { past_due_grace: Duration::days(grace_days), ..Policy::default() };
            prop_assert!(!decide(&Reader::Anonymous, Visibility::Paid, NOW, &policy).is_full());
        }
    }
}
