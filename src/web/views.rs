//! The askama templates' data: one struct per page, plus the layout every
//! page shares. Templates escape by default; only HTML we sanitized on save
//! is marked `|safe`.

use askama::Template;

use crate::domain::settings::Publication;

/// Versioned so browsers may cache it for a year; bump with the file.
use crate::domain::settings::WelcomeEmail;

pub const STYLESHEET_URL: &str = "/static/style.v7.css";
pub const STYLESHEET: &str = include_str!("../../static/style.css");
pub const ADMIN_SCRIPT_URL: &str = "/static/admin.v2.js";
pub const ADMIN_SCRIPT: &str = include_str!("../../static/admin.js");

/// The stylesheet that sets the publication's accent colour.
pub fn theme_url(site: &Publication) -> String {
    format!(
        "/theme.css?accent={}",
        site.settings.accent_color.trim_start_matches('#')
    )
}

/// Six hex digits, lower case, or nothing.
pub fn theme_color(raw: &str) -> Option<String> {
    (raw.len() == 6 && raw.chars().all(|c| c.is_ascii_hexdigit())).then(|| raw.to_ascii_lowercase())
}

/// The generated favicon: the first letter of the publication's name.
pub fn favicon_url(site: &Publication) -> String {
    let initial = site.title().chars().find(|c| c.is_alphanumeric()).unwrap_or('B');
    let mut encoded = [0u8; 4];
    format!(
        "/favicon.svg?initial={}&accent={}",
        percent_encoding::utf8_percent_encode(
            initial.encode_utf8(&mut encoded),
            percent_encoding::NON_ALPHANUMERIC
        ),
        site.settings.accent_color.trim_start_matches('#')
    )
}

/// A square of the accent colour with one white letter; `None` unless
/// `initial` is one letter or digit and `accent` a colour.
pub fn favicon_svg(initial: &str, accent: &str) -> Option<String> {
    let mut chars = initial.chars();
    let letter = chars
        .next()
        .filter(|c| c.is_alphanumeric() && chars.next().is_none())?;
    let color = theme_color(accent)?;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\">\
         <rect width=\"64\" height=\"64\" rx=\"12\" fill=\"#{color}\"/>\
         <text x=\"32\" y=\"45\" font-family=\"Georgia, serif\" font-size=\"40\" font-weight=\"bold\" \
         text-anchor=\"middle\" fill=\"#fff\">{}</text></svg>",
        letter.to_uppercase()
    ))
}

/// What the header and footer of every page need.
#[derive(Clone)]
pub struct Layout {
    /// The publication's settings: name, description, look, navigation.
    pub site: std::sync::Arc<crate::domain::settings::Publication>,
    /// The footer's copyright line.
    pub copyright: String,
    /// Where the header's "Subscribe" leads: the plans when billing is on,
    /// the free email-only form when it is off.
    pub subscribe_url: &'static str,
    /// A signed-in member without a plan, when billing is on.
    pub upgrade: bool,
    pub user_email: Option<String>,
    pub csrf_token: String,
    pub flash: Option<String>,
    /// This page's path, for "Log in" links that come back here.
    pub here: String,
    /// Authors, editors and admins get a link to the editor.
    pub is_staff: bool,
}

pub fn render(template: &impl Template) -> anyhow::Result<String> {
    render_sized(template, 0)
}

/// `render` into a buffer with room for `extra` bytes of dynamic content
/// (an article's body) beyond the template's own text, so the page is not
/// copied again each time the buffer would have grown.
pub fn render_sized<T: Template>(template: &T, extra: usize) -> anyhow::Result<String> {
    let mut page = String::with_capacity(T::SIZE_HINT + extra);
    template
        .render_into(&mut page)
        .map_err(|e| anyhow::anyhow!("rendering a template: {e}"))?;
    Ok(page)
}

/// An article as the list and the article page show it.
pub struct ArticleSummary {
    pub slug: String,
    /// `/p/{slug}`, or `/{slug}` for a page.
    pub path: String,
    pub is_page: bool,
    pub title: String,
    /// The byline as one line ("Ada and Grace").
    pub author: String,
    /// The same writers, each linking to their page.
    pub authors: Vec<AuthorLink>,
    pub visibility: &'static str,
    pub visibility_label: &'static str,
    pub published_iso: String,
    pub published_human: String,
    pub preview_html: String,
    pub excerpt: String,
    pub cover: Option<CoverImage>,
    pub tags: Vec<crate::db::tags::TagRef>,
}

/// A writer on a byline.
pub struct AuthorLink {
    pub name: String,
    pub slug: String,
}

/// What a post page tells search engines and link previews: its address,
/// its image, and JSON-LD structured data (with the paywalled part marked).
pub struct Sharing {
    pub canonical: String,
    /// Absolute.
    pub image: Option<String>,
    pub modified_iso: String,
    /// `Article` JSON, made safe to sit inside a `<script>` element.
    pub json_ld: String,
}

/// A post's cover image as a page shows it.
pub struct CoverImage {
    pub url: String,
    pub alt: String,
    pub caption: String,
}

/// `/admin/profile`: a staff member's own author profile.
#[derive(Template)]
#[template(path = "pages/admin_profile.html")]
pub struct AdminProfilePage {
    pub layout: Layout,
    pub name: String,
    pub slug: String,
    pub bio: String,
    pub avatar_url: String,
    pub error: Option<String>,
}

/// `/search`: the form, and what it found.
#[derive(Template)]
#[template(path = "pages/search.html")]
pub struct SearchPage {
    pub layout: Layout,
    /// As typed (trimmed).
    pub query: String,
    /// Why the query could not be searched.
    pub error: Option<String>,
    pub searched: bool,
    pub count_label: String,
    pub results: Vec<SearchResultView>,
}

/// One search result: the post's card, and where the words matched.
pub struct SearchResultView {
    pub article: ArticleSummary,
    /// Escaped text with `<mark>`s, from what the reader may read.
    pub snippet_html: String,
}

/// A writer's page.
#[derive(Template)]
#[template(path = "pages/author.html")]
pub struct AuthorPage {
    pub layout: Layout,
    pub name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    /// Absolute: the page's canonical address.
    pub url: String,
    pub articles: Vec<ArticleSummary>,
    pub pager: Pager,
}

#[derive(Template)]
#[template(path = "pages/home.html")]
pub struct HomePage {
    pub layout: Layout,
    /// The email-only form, for visitors not signed in.
    pub subscribe: Option<SubscribeFormView>,
    pub articles: Vec<ArticleSummary>,
    pub pager: Pager,
}

/// A list's links to its newer and older pages.
pub struct Pager {
    /// The page of newer posts, when this is not the first.
    pub newer: Option<String>,
    /// The page of older posts, when there are more.
    pub older: Option<String>,
}

impl Pager {
    /// For page `number` of the list at `base` (`/`, `/tag/rust`).
    pub fn new(base: &str, number: i64, has_older: bool) -> Self {
        let at = |n: i64| {
            if n == 1 {
                base.to_owned()
            } else {
                format!("{base}?page={n}")
            }
        };
        Self {
            newer: (number > 1).then(|| at(number - 1)),
            older: has_older.then(|| at(number + 1)),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/tag.html")]
pub struct TagPage {
    pub layout: Layout,
    pub name: String,
    pub slug: String,
    pub articles: Vec<ArticleSummary>,
    pub pager: Pager,
}

#[derive(Template)]
#[template(path = "pages/archive.html")]
pub struct ArchivePage {
    pub layout: Layout,
    pub months: Vec<ArchiveMonth>,
    pub pager: Pager,
}

/// One month of the archive ("December 2026"), newest post first.
pub struct ArchiveMonth {
    pub label: String,
    pub posts: Vec<ArchivePost>,
}

pub struct ArchivePost {
    pub slug: String,
    pub title: String,
    pub published_iso: String,
    pub published_human: String,
}

/// The box under a teaser.
pub struct CtaView {
    pub kind: &'static str,
    pub message: String,
    pub button: &'static str,
    pub url: String,
}

#[derive(Template)]
#[template(path = "pages/article.html")]
pub struct ArticlePage<'a> {
    pub layout: Layout,
    /// The email-only form, for anonymous readers of public and members
    /// articles (under the article, or in the members-only teaser).
    pub subscribe: Option<SubscribeFormView>,
    /// `/subscribe`, with the page's trail for attribution.
    pub subscribe_url: String,
    pub article: ArticleSummary,
    pub sharing: Sharing,
    /// The body or the preview, as the access policy decided.
    pub html: &'a str,
    pub cta: Option<CtaView>,
    pub banner: Option<BannerView>,
    /// Why a gift link showed the teaser (expired, used up, withdrawn).
    pub notice: Option<&'static str>,
    /// A paying subscriber on a members or paid article: "Gift this article".
    pub may_gift: bool,
}

/// A notice above a full article: `kind` is `update_card`, `gifted` or
/// `free_read`, and picks the link beside it.
pub struct BannerView {
    pub kind: &'static str,
    pub message: String,
}

/// A gift link on the account page.
pub struct GiftLinkView {
    pub id: i32,
    pub url: String,
    pub title: String,
    pub status: String,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "pages/login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub next: String,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/signup.html")]
pub struct SignupPage {
    pub layout: Layout,
    pub next: String,
    pub email: String,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
    pub newsletters_error: Option<String>,
    /// The newsletters to tick (none when there is only one).
    pub choices: Vec<crate::domain::newsletters::SignupChoice>,
    /// The encoded trail, for attribution (may be empty).
    pub trail: String,
}

#[derive(Template)]
#[template(path = "pages/account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub email: String,
    pub plan: String,
    /// "Renews on 1 January 2027" or "Ends on …".
    pub renewal: Option<String>,
    pub notice: Option<&'static str>,
    pub show_subscribe: bool,
    /// A Stripe customer exists: show "Manage billing".
    pub manage_billing: bool,
    /// The member's private RSS address (full text where they may read it).
    pub feed_url: String,
    pub newsletters: Vec<NewsletterChoiceView>,
    pub email_verified: bool,
    pub sessions: Vec<SessionView>,
    pub gift_links: Vec<GiftLinkView>,
    /// Members who subscribed with an email only have none (yet).
    pub has_password: bool,
    /// Refunds and disputes, newest first: "4 December 2026 · Refund of $8".
    pub billing_history: Vec<String>,
}

/// A newsletter on the account page, with a checkbox.
pub struct NewsletterChoiceView {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub subscribed: bool,
    /// Paid-only and the member's plan does not read paid posts.
    pub needs_paid_plan: bool,
}

/// A signed-in device on the account page.
pub struct SessionView {
    pub id: i32,
    pub device: String,
    pub last_seen: String,
    pub current: bool,
}

/// Choosing a plan.
#[derive(Template)]
#[template(path = "pages/subscribe.html")]
pub struct SubscribePage {
    pub layout: Layout,
    pub tiers: Vec<TierCard>,
    /// Already subscribed: a choice here changes the plan in the Billing
    /// Portal rather than starting a second subscription.
    pub subscribed: bool,
    /// The currencies prices come in, when more than one: a chooser.
    pub currencies: Vec<CurrencyChoice>,
    /// The encoded trail, for attribution (may be empty).
    pub trail: String,
}

pub struct CurrencyChoice {
    /// "EUR"
    pub code: String,
    pub href: String,
    pub current: bool,
}

/// One tier on `/subscribe`: what it gives and a button per price.
pub struct TierCard {
    pub name: String,
    pub description: String,
    pub benefits: Vec<String>,
    pub prices: Vec<PriceButton>,
}

pub struct PriceButton {
    pub stripe_price_id: String,
    /// "$8 a month", or "See the price at checkout" when Stripe's price
    /// object could not be read.
    pub label: String,
    /// "14-day free trial".
    pub trial: Option<String>,
}

impl From<crate::catalogue::TierOnSale> for TierCard {
    fn from(on_sale: crate::catalogue::TierOnSale) -> Self {
        Self {
            name: on_sale.tier.name,
            description: on_sale.tier.description,
            benefits: on_sale.tier.benefits,
            prices: on_sale
                .prices
                .into_iter()
                .map(|price| PriceButton {
                    stripe_price_id: price.stripe_price_id,
                    label: price
                        .label
                        .unwrap_or_else(|| "See the price at checkout".to_owned()),
                    trial: price.trial_days.map(|days| format!("{days}-day free trial")),
                })
                .collect(),
        }
    }
}

/// `/offer/{code}`: the tier and price an offer discounts, and how to claim it.
#[derive(Template)]
#[template(path = "pages/offer.html")]
pub struct OfferPage {
    pub layout: Layout,
    pub card: TierCard,
    /// "Black Friday"
    pub name: String,
    /// "40% off for 3 months"
    pub discount: String,
    pub ends_on: Option<String>,
    pub signed_in: bool,
    pub subscribed: bool,
    /// Where the claim form posts.
    pub action: String,
    /// The encoded trail, for attribution (may be empty).
    pub trail: String,
    pub signup_url: String,
    pub login_url: String,
}

/// `/gift`: the tiers that can be given and the order form.
#[derive(Template)]
#[template(path = "pages/gift.html")]
pub struct GiftPage {
    pub layout: Layout,
    pub tiers: Vec<GiftTierView>,
    /// Why the last try was refused.
    pub error: Option<String>,
    pub buyer_email: String,
    pub buyer_name: String,
    pub recipient_email: String,
    pub message: String,
    pub deliver_on: String,
    /// The earliest delivery date (`YYYY-MM-DD`).
    pub today: String,
}

pub struct GiftTierView {
    pub name: String,
    pub description: String,
    pub choices: Vec<GiftChoice>,
}

pub struct GiftChoice {
    /// `tier:months:currency`
    pub value: String,
    /// "6 months for $48"
    pub label: String,
    pub checked: bool,
}

/// `/redeem/{code}`: what the gift gives and how to take it.
#[derive(Template)]
#[template(path = "pages/redeem.html")]
pub struct RedeemPage {
    pub layout: Layout,
    /// "6 months of Gold"
    pub gift: String,
    pub from: Option<String>,
    pub message: String,
    pub signed_in_as: Option<String>,
    pub action: String,
    pub signup_url: String,
    pub login_url: String,
}

/// A page with a title and a sentence: "billing is not configured" and such.
#[derive(Template)]
#[template(path = "pages/notice.html")]
pub struct NoticePage {
    pub layout: Layout,
    pub title: &'static str,
    pub message: std::borrow::Cow<'static, str>,
}

/// A page with one button that POSTs: confirming a magic link or an
/// unsubscribe (so a mail scanner's GET cannot use them up).
#[derive(Template)]
#[template(path = "pages/action.html")]
pub struct ActionPage {
    pub layout: Layout,
    pub title: String,
    pub message: String,
    pub action: String,
    pub button: &'static str,
    pub next: Option<String>,
}

/// The page behind an unsubscribe link: leave this newsletter, or all.
/// The signed token in the URL is the authority (no CSRF field: the
/// one-click POST of RFC 8058 comes with no cookie).
#[derive(Template)]
#[template(path = "pages/unsubscribe.html")]
pub struct UnsubscribePage {
    pub layout: Layout,
    pub newsletter: String,
    pub action: String,
}

/// A form asking for an email address: forgot password.
#[derive(Template)]
#[template(path = "pages/email_form.html")]
pub struct EmailFormPage {
    pub layout: Layout,
    pub title: &'static str,
    pub message: &'static str,
    pub action: &'static str,
    pub button: &'static str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/new_password.html")]
pub struct NewPasswordPage {
    pub layout: Layout,
    pub action: String,
    pub error: Option<String>,
}

/// A row of the editor's article list.
pub struct AdminRow {
    pub id: i32,
    pub title: String,
    pub status: String,
    pub visibility: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "pages/admin_list.html")]
pub struct AdminListPage {
    pub layout: Layout,
    pub articles: Vec<AdminRow>,
}

/// A count at the top of the member list, linking to its members.
pub struct CountView {
    pub label: &'static str,
    pub value: i64,
    pub href: String,
}

/// A row of the member list.
pub struct MemberRowView {
    pub id: i32,
    pub email: String,
    pub name: String,
    pub status: &'static str,
    pub labels: String,
    pub joined: String,
}

#[derive(Template)]
#[template(path = "pages/admin_members.html")]
pub struct AdminMembersPage {
    pub layout: Layout,
    pub counts: Vec<CountView>,
    /// The filters as typed, to keep them in the form.
    pub search: String,
    pub status: String,
    pub label: String,
    /// (value, label) of each status, and (slug, name) of each label.
    pub statuses: Vec<(&'static str, &'static str)>,
    pub labels: Vec<(String, String)>,
    pub rows: Vec<MemberRowView>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// A member as their page in the editor shows them.
pub struct MemberView {
    pub id: i32,
    pub email: String,
    pub name: String,
    pub status: &'static str,
    pub email_verified: bool,
    pub joined: String,
    pub source: String,
    /// Label names, comma-separated (as the labels field takes them).
    pub labels: String,
    pub note: String,
    pub newsletters: String,
    /// Why nothing is emailed to them, if nothing is.
    pub suppressed: Option<String>,
    pub has_comp: bool,
    /// What brought them, a line per sign-up or paid subscription.
    pub brought_by: Vec<String>,
}

pub struct TimelineView {
    pub when: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "pages/admin_member.html")]
pub struct AdminMemberPage {
    pub layout: Layout,
    /// Admins change members; editors only read.
    pub may_change: bool,
    pub member: MemberView,
    pub timeline: Vec<TimelineView>,
    pub error: Option<String>,
}

/// Send progress on the editor page.
pub struct SendView {
    pub total: i32,
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
    pub status: String,
}

/// What a post's email did, as the editor shows it under the post.
pub struct EmailStatsView {
    pub recipients: i32,
    pub delivered: i64,
    pub failed: i64,
    pub bounced: i64,
    pub complained: i64,
    pub unsubscribed: i64,
    /// "12 (40.0%)"; `None` while opens are not counted.
    pub opened: Option<String>,
    /// "2 (66.7%)".
    pub clicked: String,
    pub links: Vec<LinkStatsView>,
}

/// A tracked link's row: its address, readers who followed it, and their
/// share of those delivered (a `<meter>`, readable without CSS or JS).
pub struct LinkStatsView {
    pub url: String,
    pub clicked: i64,
    /// 0 to 100, one decimal.
    pub percent: f64,
}

impl EmailStatsView {
    pub fn new(stats: &crate::newsletter::engagement::EmailStats) -> Self {
        let delivered = stats.progress.sent;
        let e = &stats.engagement;
        let with_share = |n: i64| format!("{n} ({:.1}%)", percent(n, delivered));
        Self {
            recipients: stats.progress.send.total,
            delivered,
            failed: stats.progress.failed,
            bounced: e.bounced,
            complained: e.complained,
            unsubscribed: e.unsubscribed,
            opened: stats.opens_tracked.then(|| with_share(e.opened)),
            clicked: with_share(e.clicked),
            links: stats
                .links
                .iter()
                .map(|link| LinkStatsView {
                    url: link.url.clone(),
                    clicked: link.clicked,
                    percent: percent(link.clicked, delivered),
                })
                .collect(),
        }
    }
}

/// `part` of `whole` in percent, one decimal; 0 for no whole.
fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

#[derive(Template)]
#[template(path = "pages/admin_edit.html")]
pub struct AdminEditPage {
    pub layout: Layout,
    /// No member has confirmed an address: any email would reach nobody.
    pub nobody_confirmed: bool,
    pub id: Option<i32>,
    pub action: String,
    pub status: Option<String>,
    pub url: Option<String>,
    pub send: Option<SendView>,
    pub email_stats: Option<EmailStatsView>,
    /// What the post brought: views of its page and the members it won.
    pub reach: Option<ReachView>,
    pub error: Option<String>,
    pub title: String,
    pub markdown: String,
    pub visibility: String,
    pub email: String,
    pub publish_at: String,
    /// The running newsletters: (id, name); the first is the default.
    pub newsletters: Vec<(String, String)>,
    pub newsletter_id: String,
    pub email_subject: String,
    pub preheader: String,
    pub email_at: String,
    pub email_only: bool,
    pub feature_image: String,
    pub feature_image_alt: String,
    pub feature_image_caption: String,
    /// Comma-separated.
    pub tags: String,
    /// `post` or `page`.
    pub kind: String,
    /// Author slugs, comma-separated.
    pub authors: String,
    pub visibilities: Vec<(&'static str, &'static str)>,
    pub segments: Vec<(&'static str, &'static str)>,
    pub can_publish: bool,
    pub preview_full: String,
    pub preview_teaser: String,
}

#[derive(Template)]
#[template(path = "pages/error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
}

/// An error page inside the site's layout.
#[derive(Template)]
#[template(path = "pages/error_in_layout.html")]
pub struct LaidOutErrorPage<'a> {
    pub layout: Layout,
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
}

/// Confirming account deletion.
#[derive(Template)]
#[template(path = "pages/delete_account.html")]
pub struct DeleteAccountPage {
    pub layout: Layout,
    pub error: Option<String>,
}

/// The settings form's fields as text, as stored or as typed.
pub struct SettingsFormView {
    pub title: String,
    pub description: String,
    pub accent_color: String,
    pub logo_url: String,
    pub icon_url: String,
    pub sender_name: String,
    pub footer: String,
    pub navigation: String,
    pub locale: String,
    pub timezone: String,
    pub copyright: String,
    pub embed_origins: String,
    pub subscribe_asks_name: bool,
    pub welcome_free: WelcomeEmail,
    pub welcome_paid: WelcomeEmail,
    pub postal_address: String,
}

#[derive(Template)]
#[template(path = "pages/admin_settings.html")]
pub struct AdminSettingsPage {
    pub layout: Layout,
    /// Admins change; editors only read.
    pub may_change: bool,
    pub form: SettingsFormView,
    pub error: Option<String>,
    /// The field `error` is about ("" for none).
    pub error_field: &'static str,
    /// The `<iframe>` to paste on another site.
    pub embed_snippet: String,
}

/// The email-only subscribe form (`templates/partials/subscribe_form.html`).
pub struct SubscribeFormView {
    /// `home`, `article:{slug}`, `embed:{origin}`.
    pub source: String,
    /// The page's encoded trail, for attribution (may be empty).
    pub trail: String,
    /// The signed time the form was shown.
    pub shown: String,
    pub asks_name: bool,
    /// The newsletters to tick (none when there is only one).
    pub choices: Vec<crate::domain::newsletters::SignupChoice>,
    /// In the embeddable frame: the answer comes back in the frame.
    pub embed: bool,
    /// The captcha, when one is configured.
    pub captcha: Option<crate::security::human_check::Widget>,
    /// What was typed, when the form is shown again.
    pub email: String,
}

#[derive(Template)]
#[template(path = "pages/join.html")]
pub struct JoinPage {
    pub layout: Layout,
    pub form: SubscribeFormView,
    pub error: Option<String>,
    /// What was typed, when the form is shown again.
    pub email: String,
}

/// The frameable subscribe form: no site header, the publication's colour.
#[derive(Template)]
#[template(path = "pages/embed_subscribe.html")]
pub struct EmbedPage {
    pub title: String,
    pub description: String,
    pub theme_url: String,
    pub form: SubscribeFormView,
    /// "Check your inbox" once sent.
    pub done: Option<&'static str>,
    pub error: Option<String>,
}

/// A figure on the overview: "Members", "1,204".
pub struct FigureView {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "pages/admin_stats.html")]
pub struct AdminStatsPage {
    pub layout: Layout,
    pub from: String,
    pub to: String,
    pub tiles: Vec<FigureView>,
    /// Paying subscriptions on prices without an amount in the catalogue.
    pub unpriced: i64,
    /// Inline SVG, drawn by `charts` from numbers and escaped labels only.
    pub members_chart: String,
    pub signups_chart: String,
    /// Newest first.
    pub days: Vec<crate::domain::stats::DayCount>,
}

/// A post's page views and the members its page and newsletter brought.
pub struct ReachView {
    pub views: i64,
    pub signups: i64,
    pub paid_conversions: i64,
}
