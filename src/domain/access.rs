//! The access policy (DESIGN §4): the one function that decides what a reader
//! sees of an article. Every output (site, JSON, feeds, email) asks it; nothing
//! else looks at subscriptions to decide.

use time::{Duration, PrimitiveDateTime};

use super::{article::Visibility, role::Role, subscription::SubscriptionStatus};

/// The tunable parts of the policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long a `past_due` subscriber keeps full access after the period
    /// they paid for ended, while Stripe retries the card.
    pub past_due_grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            past_due_grace: Duration::days(7),
        }
    }
}

/// The facts of one subscription that matter to access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub status: SubscriptionStatus,
    pub current_period_end: Option<PrimitiveDateTime>,
}

/// Complimentary access granted by the publisher; `None` never expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comp {
    pub expires_at: Option<PrimitiveDateTime>,
}

/// A logged-in person and everything the policy needs to know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub role: Role,
    pub subscriptions: Vec<Subscription>,
    pub comps: Vec<Comp>,
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
    pub fn of(member: &Member, now: PrimitiveDateTime, policy: &Policy) -> Standing {
        if member.role.is_staff() {
            return Standing::Staff;
        }
        let from_comps = member
            .comps
            .iter()
            .filter(|comp| comp.expires_at.is_none_or(|end| now < end))
            .map(|_| Standing::Paid);
        let from_subscriptions = member
            .subscriptions
            .iter()
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
        Active | Trialing => Standing::Paid,
        PastDue => {
            // Without a period end we cannot place the grace window: deny
            // rather than leak.
            let in_grace = sub
                .current_period_end
                .is_some_and(|end| now <= end + policy.past_due_grace);
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
}

impl CallToAction {
    /// The name used in the JSON API.
    pub fn kind(self) -> &'static str {
        match self {
            CallToAction::Login => "login",
            CallToAction::Subscribe => "subscribe",
            CallToAction::UpdateCard => "update_card",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            CallToAction::Login => "Already a subscriber? Log in",
            CallToAction::Subscribe => "Subscribe to keep reading",
            CallToAction::UpdateCard => "Your card on file needs updating",
        }
    }
}

/// A notice shown above an article the reader may read in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Banner {
    /// In the grace period after a failed renewal.
    UpdateCard,
}

impl Banner {
    pub fn message(self) -> &'static str {
        match self {
            Banner::UpdateCard => {
                "Your last payment failed. Update your card to keep reading without interruption."
            }
        }
    }
}

/// The decision: the whole body, or the preview and a call to action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Full { banner: Option<Banner> },
    Preview { cta: CallToAction },
}

impl Access {
    pub fn is_full(self) -> bool {
        matches!(self, Access::Full { .. })
    }
}

/// Decides what `reader` sees of an article with `visibility` at `now`.
pub fn decide(reader: &Reader, visibility: Visibility, now: PrimitiveDateTime, policy: &Policy) -> Access {
    let member = match reader {
        Reader::Anonymous if visibility == Visibility::Public => {
            return Access::Full { banner: None };
        }
        Reader::Anonymous => {
            return Access::Preview {
                cta: CallToAction::Login,
            };
        }
        Reader::Member(member) => member,
    };
    let standing = Standing::of(member, now, policy);
    let banner = (standing == Standing::InGrace).then_some(Banner::UpdateCard);
    match visibility {
        Visibility::Public | Visibility::Members => Access::Full { banner },
        Visibility::Paid if standing.is_paying() => Access::Full { banner },
        Visibility::Paid => Access::Preview {
            cta: match standing {
                Standing::CardFailed => CallToAction::UpdateCard,
                _ => CallToAction::Subscribe,
            },
        },
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
        })
    }

    fn sub(status: SubscriptionStatus, days_from_now: i64) -> Subscription {
        Subscription {
            status,
            current_period_end: Some(NOW + Duration::days(days_from_now)),
        }
    }

    fn paid(reader: &Reader) -> Access {
        decide(reader, Visibility::Paid, NOW, &Policy::default())
    }

    #[test]
    fn the_access_table_holds_for_paid_articles() {
        use SubscriptionStatus::*;
        let full = Access::Full { banner: None };
        let preview = |cta| Access::Preview { cta };
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
                Access::Full {
                    banner: Some(Banner::UpdateCard),
                },
            ),
            (
                "past_due after grace",
                member(Role::Reader, vec![sub(PastDue, -8)], vec![]),
                preview(CallToAction::UpdateCard),
            ),
            (
                "past_due with no period end",
                member(
                    Role::Reader,
                    vec![Subscription {
                        status: PastDue,
                        current_period_end: None,
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
                member(Role::Reader, vec![], vec![Comp { expires_at: None }]),
                full,
            ),
            (
                "comp until next week",
                member(
                    Role::Reader,
                    vec![],
                    vec![Comp {
                        expires_at: Some(NOW + Duration::days(7)),
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
                    }],
                ),
                preview(CallToAction::Subscribe),
            ),
            (
                "canceled but comped",
                member(
                    Role::Reader,
                    vec![sub(Canceled, -1)],
                    vec![Comp { expires_at: None }],
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
        };
        let reader = member(Role::Reader, vec![sub(SubscriptionStatus::PastDue, -3)], vec![]);
        assert!(decide(&reader, Visibility::Paid, NOW, &policy).is_full());
        let later = NOW + Duration::seconds(1);
        assert!(!decide(&reader, Visibility::Paid, later, &policy).is_full());
    }

    #[test]
    fn anonymous_readers_get_the_login_call_for_members_posts_and_full_public_ones() {
        let policy = Policy::default();
        assert_eq!(
            decide(&Reader::Anonymous, Visibility::Members, NOW, &policy),
            Access::Preview {
                cta: CallToAction::Login
            }
        );
        assert!(decide(&Reader::Anonymous, Visibility::Public, NOW, &policy).is_full());
    }

    #[test]
    fn any_member_reads_members_posts_in_full() {
        let reader = member(Role::Reader, vec![sub(SubscriptionStatus::Unpaid, -30)], vec![]);
        assert!(decide(&reader, Visibility::Members, NOW, &Policy::default()).is_full());
    }

    fn any_status() -> impl Strategy<Value = SubscriptionStatus> {
        proptest::sample::select(SubscriptionStatus::ALL)
    }

    fn any_time() -> impl Strategy<Value = Option<PrimitiveDateTime>> {
        proptest::option::of((-400i64..400).prop_map(|hours| NOW + Duration::hours(hours)))
    }

    fn any_member() -> impl Strategy<Value = Member> {
        (
            proptest::sample::select(Role::ALL),
            proptest::collection::vec((any_status(), any_time()), 0..4),
            proptest::collection::vec(any_time(), 0..3),
        )
            .prop_map(|(role, subs, comps)| Member {
                role,
                subscriptions: subs
                    .into_iter()
                    .map(|(status, current_period_end)| Subscription {
                        status,
                        current_period_end,
                    })
                    .collect(),
                comps: comps.into_iter().map(|expires_at| Comp { expires_at }).collect(),
            })
    }

    /// An independent statement of who is entitled to paid posts, written
    /// from the table rather than from the implementation.
    fn entitled(member: &Member, policy: &Policy) -> bool {
        use SubscriptionStatus::*;
        member.role != Role::Reader
            || member
                .comps
                .iter()
                .any(|c| c.expires_at.is_none_or(|end| end > NOW))
            || member.subscriptions.iter().any(|s| match s.status {
                Active | Trialing => true,
                PastDue => s
                    .current_period_end
                    .is_some_and(|end| end + policy.past_due_grace >= NOW),
                _ => false,
            })
    }

    proptest! {
        #[test]
        fn no_reader_without_entitlement_ever_reads_a_paid_article_in_full(member in any_member(), grace_days in 0i64..30) {
            let policy = Policy { past_due_grace: Duration::days(grace_days) };
            let access = decide(&Reader::Member(member.clone()), Visibility::Paid, NOW, &policy);
            prop_assert_eq!(access.is_full(), entitled(&member, &policy), "member: {:?}", member);
        }

        #[test]
        fn anonymous_readers_never_read_a_paid_article_in_full(grace_days in 0i64..30) {
            let policy = Policy { past_due_grace: Duration::days(grace_days) };
            prop_assert!(!decide(&Reader::Anonymous, Visibility::Paid, NOW, &policy).is_full());
        }
    }
}
