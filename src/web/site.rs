//! The reader's website: the front page, article pages, the account page.

use crate::domain::signup_source::SignupSource;
use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, http::header, post, web};

use crate::web::{
    error::{PageResult, Problem},
    join,
    page_cache::{self, PageKey},
    pages,
};
use crate::{
    accounts,
    db::{self, articles::Article, billing},
    domain::{
        access::{Access, Banner, Reader, Standing},
        article::{ArticleKind, Visibility},
        settings::Publication,
    },
    gifts::{self, GiftError, GiftRequest},
    reading::{self, Lookup, Page},
    state::AppState,
    web::{
        csrf::CsrfForm,
        extract::{CurrentReader, SignedIn},
        views::{
            self, AccountPage, ArticlePage, ArticleSummary, BannerView, CtaView, GiftLinkView, HomePage,
            NewsletterChoiceView, Pager, SessionView,
        },
    },
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Readers' pages first: routes are tried in order, and each pattern
    // tried costs a match on every request.
    cfg.service(article_page)
        .service(home)
        .service(archive)
        .service(tag_page)
        .service(author_page)
        .service(gift_page)
        .service(email_copy_page)
        .service(create_gift)
        .service(revoke_gift)
        .service(account)
        .service(rotate_feed)
        .service(revoke_other_sessions)
        .service(set_password)
        .service(revoke_session)
        .service(stylesheet)
        .service(theme)
        .service(favicon)
        .service(admin_script);
}

/// `/{slug}`: the site's pages (About, Terms…). Registered after every
/// other route, so it only sees single-segment paths nothing else took.
pub fn configure_pages(cfg: &mut web::ServiceConfig) {
    cfg.service(static_page);
}

/// How many articles a page of the front page lists.
const HOME_PAGE_SIZE: i64 = 30;

#[derive(serde::Deserialize)]
struct HomeQuery {
    page: Option<i64>,
}

/// The front page: the newest posts, 30 a page (`/?page=2`…), with newer
/// and older links; a page past the end is a 404.
#[get("/")]
async fn home(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    query: web::Query<HomeQuery>,
) -> PageResult<HttpResponse> {
    let page = list_page(query.page)?;
    let latest = reading::latest_page(&state, reader.who(), page).await?;
    not_past_the_end(&latest, page)?;
    let render = || async {
        let layout = pages::layout(&req, &reader).await;
        views::render(&HomePage {
            subscribe: (reader.user.is_none() && page.number == 1).then(|| {
                let trail = pages::arrival(&req, &state.config);
                join::form_view(&state, &layout.site, &SignupSource::Home, &trail)
            }),
            articles: cards(&latest, &layout.site),
            pager: Pager::new("/", page.number, latest.has_older),
            layout,
        })
    };
    Ok(page_cache::respond(&req, &reader, &state, |key| listing(key, &latest), render).await?)
}

/// A list page's key: the posts it shows, as loaded. Cards show no part of
/// a body but the free preview, whatever the reader may read.
fn listing(key: PageKey, listed: &reading::LatestPage) -> PageKey {
    listed
        .articles
        .iter()
        .fold(key, |key, readable| key.from(&readable.article))
}

/// A list page from `?page=` (30 posts a page), or the 404 for one that
/// cannot exist.
fn list_page(raw: Option<i64>) -> Result<Page, Problem> {
    let number = raw.unwrap_or(1);
    if (1..=100_000).contains(&number) {
        Ok(Page {
            number,
            per_page: HOME_PAGE_SIZE,
        })
    } else {
        Err(past_the_end(number))
    }
}

/// The 404 for a page of a list past its end.
fn not_past_the_end(listed: &reading::LatestPage, page: Page) -> Result<(), Problem> {
    if page.number > 1 && listed.articles.is_empty() {
        return Err(past_the_end(page.number));
    }
    Ok(())
}

/// The cards of a list page.
fn cards(listed: &reading::LatestPage, site: &Publication) -> Vec<ArticleSummary> {
    listed
        .articles
        .iter()
        .map(|a| summary(&a.article, site))
        .collect()
}

fn past_the_end(number: i64) -> Problem {
    Problem::not_found(format!(
        "There is no page {number} of posts. The archive lists every one."
    ))
}

/// The posts carrying a tag, 30 a page, newest first; a renamed tag's old
/// slug answers 301.
#[get("/tag/{slug}")]
async fn tag_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
    query: web::Query<HomeQuery>,
) -> PageResult<HttpResponse> {
    let page = list_page(query.page)?;
    let (tag, listed) = match reading::tagged(&state, reader.who(), slug.into_inner(), page).await? {
        reading::TagLookup::Found(tag, listed) => (tag, listed),
        reading::TagLookup::Moved(new_slug) => {
            return Ok(pages::moved_permanently(&format!("/tag/{new_slug}")));
        }
        reading::TagLookup::Missing => return Err(Problem::not_found("There is no tag by that name.").into()),
    };
    not_past_the_end(&listed, page)?;
    let render = || async {
        let layout = pages::layout(&req, &reader).await;
        views::render(&views::TagPage {
            articles: cards(&listed, &layout.site),
            pager: Pager::new(&format!("/tag/{}", tag.slug), page.number, listed.has_older),
            name: tag.name.clone(),
            slug: tag.slug.clone(),
            layout,
        })
    };
    let pin = |key: PageKey| listing(key, &listed).showing(&tag.name);
    Ok(page_cache::respond(&req, &reader, &state, pin, render).await?)
}

/// How many posts a page of the archive lists: titles and dates only, so
/// a page is about 15 KB.
const ARCHIVE_PAGE_SIZE: i64 = 100;

/// Every post on the site by month, newest first: titles and dates only,
/// 100 a page (`/archive?page=2`…); a page past the end is a 404.
#[get("/archive")]
async fn archive(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    query: web::Query<HomeQuery>,
) -> PageResult<HttpResponse> {
    let page = Page {
        per_page: ARCHIVE_PAGE_SIZE,
        ..list_page(query.page)?
    };
    let listed = reading::archive(&state, page).await?;
    if page.number > 1 && listed.entries.is_empty() {
        return Err(past_the_end(page.number).into());
    }
    let render = || async {
        let layout = pages::layout(&req, &reader).await;
        views::render(&views::ArchivePage {
            months: archive_months(listed.posts(page), &layout.site),
            pager: Pager::new("/archive", page.number, listed.has_older),
            layout,
        })
    };
    let pin = |key: PageKey| key.from(&listed.entries);
    Ok(page_cache::respond(&req, &reader, &state, pin, render).await?)
}

/// The archive's posts grouped by the month they came out in, in order.
fn archive_months(
    posts: &[crate::db::articles::ArchiveEntry],
    site: &Publication,
) -> Vec<views::ArchiveMonth> {
    let mut months: Vec<views::ArchiveMonth> = Vec::new();
    for entry in posts {
        let published = entry.published_at.unwrap_or_else(crate::db::now);
        let label = site.month(published);
        let post = views::ArchivePost {
            slug: entry.slug.clone(),
            title: entry.title.clone(),
            published_iso: crate::domain::time::rfc3339(published),
            published_human: site.date(published),
        };
        match months.last_mut() {
            Some(month) if month.label == label => month.posts.push(post),
            _ => months.push(views::ArchiveMonth {
                label,
                posts: vec![post],
            }),
        }
    }
    months
}

#[get("/p/{slug}")]
async fn article_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
) -> PageResult<HttpResponse> {
    let slug = slug.into_inner();
    let missing = |slug: &str| {
        Problem::not_found(format!(
            "There is no article at /p/{slug}. It may have moved or been unpublished."
        ))
    };
    show_article(&req, &state, &reader, slug, ArticleKind::Post, missing).await
}

/// A page (About, Terms…) at `/{slug}`, under the same access rules as a
/// post. A post's slug here is sent to the post.
#[get("/{slug}")]
async fn static_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
) -> PageResult<HttpResponse> {
    let slug = slug.into_inner();
    let missing = |slug: &str| Problem::not_found(format!("There is nothing at /{slug}."));
    show_article(&req, &state, &reader, slug, ArticleKind::Page, missing).await
}

/// The post or page of `kind` at `slug` as this reader may read it; one of
/// the other kind, or renamed, is a 301 to where it lives.
async fn show_article(
    req: &HttpRequest,
    state: &AppState,
    reader: &CurrentReader,
    slug: String,
    kind: ArticleKind,
    missing: impl FnOnce(&str) -> Problem,
) -> PageResult<HttpResponse> {
    let readable = match reading::article(state, reader.who(), slug.clone(), Some(kind)).await? {
        Lookup::Found(readable) => readable,
        Lookup::Moved(moved) => return Ok(pages::moved_permanently(&moved.path())),
        Lookup::Missing => return Err(missing(&slug).into()),
    };
    // Staff reading their own site are not readers.
    if !reader.user.as_ref().is_some_and(|u| u.role().is_staff()) {
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let today = time::OffsetDateTime::now_utc().date();
        state.page_views.count(readable.article.row.id, user_agent, today);
    }
    // Members share the page too: what it shows of one beyond the layout is
    // the access decision (in the key) and whether they may gift the post.
    let gift_form = may_gift(reader, &readable, state);
    let pin = |key: PageKey| {
        key.showing(readable.access)
            .from(&readable.article)
            .for_members_too(("may gift", gift_form))
    };
    let render = || async {
        let page = article_page_for(req, reader, state, &readable, ArticleExtras::default()).await;
        views::render_sized(&page, page.html.len())
    };
    Ok(page_cache::respond(req, reader, state, pin, render).await?)
}

/// A writer's page: their name, bio and avatar, and their posts, 30 a page.
#[get("/author/{slug}")]
async fn author_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
    query: web::Query<HomeQuery>,
) -> PageResult<HttpResponse> {
    let page = list_page(query.page)?;
    let Some((profile, listed)) = reading::by_author(&state, reader.who(), slug.into_inner(), page).await?
    else {
        return Err(Problem::not_found("There is no author by that name here.").into());
    };
    not_past_the_end(&listed, page)?;
    let render = || async {
        let layout = pages::layout(&req, &reader).await;
        views::render(&views::AuthorPage {
            articles: cards(&listed, &layout.site),
            pager: Pager::new(
                &format!("/author/{}", profile.slug),
                page.number,
                listed.has_older,
            ),
            name: profile.display_name().to_owned(),
            bio: profile.bio.clone().unwrap_or_default(),
            avatar_url: profile.avatar_url.clone(),
            url: state.config.url_for(&format!("/author/{}", profile.slug)),
            layout,
        })
    };
    let shown = (profile.display_name(), &profile.bio, &profile.avatar_url);
    let pin = |key: PageKey| listing(key, &listed).showing(shown);
    Ok(page_cache::respond(&req, &reader, &state, pin, render).await?)
}

/// What the gift and email-copy routes change on an article page.
#[derive(Default)]
struct ArticleExtras {
    gifter: Option<String>,
    notice: Option<&'static str>,
    /// Opened from an email's "view in browser" link: the reader is the
    /// recipient, so no subscribe form and no gift button (the post may be
    /// email-only, where a gift link would not open).
    email_copy: bool,
    /// Opened through this gift link.
    gift_link: Option<i32>,
}

/// The article page for a decided article: the body or teaser the policy
/// chose, its call to action and banner, and the gift button for those who
/// may give one.
async fn article_page_for<'a>(
    req: &HttpRequest,
    reader: &CurrentReader,
    state: &AppState,
    readable: &'a reading::ReadableArticle,
    extras: ArticleExtras,
) -> ArticlePage<'a> {
    // What a sign-up or subscription from this page is attributed to.
    let mut trail = pages::arrival(req, &state.config);
    trail.post = crate::domain::slug::Slug::parse(&readable.article.row.slug).ok();
    trail.gift_link = extras.gift_link.or(trail.gift_link);
    if extras.email_copy {
        trail.newsletter = trail.post.clone();
    }
    let subscribe_url = trail.link("/subscribe");
    let cta = readable.call_to_action().map(|link| CtaView {
        kind: link.cta.kind(),
        message: link.message(),
        button: link.button(),
        url: match link.path.as_str() {
            "/subscribe" => subscribe_url.clone(),
            path => path.to_owned(),
        },
    });
    let banner = match readable.access {
        Access::Full {
            banner: Some(banner), ..
        } => Some(BannerView {
            kind: match banner {
                Banner::UpdateCard => "update_card",
                Banner::Gifted => "gifted",
                Banner::FreeRead { .. } => "free_read",
            },
            message: match (banner, extras.gifter) {
                (Banner::Gifted, Some(name)) => format!("{name} gifted you this article."),
                _ => banner.message(),
            },
        }),
        _ => None,
    };
    let may_gift = !extras.email_copy && may_gift(reader, readable, state);
    let layout = pages::layout(req, reader).await;
    // Anonymous readers of what members may read get the email-only form:
    // under a public article, or in a members-only teaser.
    let subscribe =
        (!extras.email_copy && reader.user.is_none() && readable.article.visibility() != Visibility::Paid)
            .then(|| {
                let source = crate::domain::slug::Slug::parse(&readable.article.row.slug)
                    .map_or(SignupSource::Home, SignupSource::Article);
                join::form_view(state, &layout.site, &source, &trail)
            });
    ArticlePage {
        subscribe,
        subscribe_url,
        html: readable.html(),
        sharing: super::sharing::for_article(&readable.article, &state.config, &layout.site),
        article: summary(&readable.article, &layout.site),
        layout,
        cta,
        banner,
        notice: extras.notice,
        may_gift,
    }
}

/// Whether the reader may give this article away (a paying member, of a
/// post that is not free to all anyway).
fn may_gift(reader: &CurrentReader, readable: &reading::ReadableArticle, state: &AppState) -> bool {
    match &reader.reader {
        Reader::Member(member) => {
            readable.article.visibility() != Visibility::Public
                && Standing::for_tiers(member, &readable.article.tiers, db::now(), &state.policy).is_paying()
        }
        Reader::Anonymous => false,
    }
}

/// An article opened through a gift link: in full while the link is open
/// (saying who gave it), otherwise the usual teaser and why.
#[get("/g/{token}")]
async fn gift_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    let Some(gifted) = gifts::open(&state, reader.who(), &token).await? else {
        return Err(Problem::not_found(
            "This gift link is not valid. Check that you copied all of it, or ask for a new one.",
        )
        .into());
    };
    let extras = ArticleExtras {
        gifter: gifted.gifter,
        notice: gifted.closed,
        email_copy: false,
        gift_link: Some(gifted.gift_id),
    };
    let page = article_page_for(&req, &reader, &state, &gifted.readable, extras).await;
    let mut response = pages::render(&req, StatusCode::OK, &page)?;
    // The token is the key: keep it out of Referer headers entirely.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// The post a member was emailed, from the "view in browser" link in that
/// email, as the recipient may read it (the access policy decides for the
/// member the link was made for, whoever opens it: it is their copy).
#[get("/email/{token}")]
async fn email_copy_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    let Some((readable, _recipient)) = reading::email_copy(&state, &token).await? else {
        return Err(Problem::not_found(
            "This link does not open a post any more. Check that you copied all of it from the email.",
        )
        .into());
    };
    let extras = ArticleExtras {
        email_copy: true,
        ..Default::default()
    };
    let page = article_page_for(&req, &reader, &state, &readable, extras).await;
    let mut response = pages::render(&req, StatusCode::OK, &page)?;
    let headers = response.headers_mut();
    // The token is the recipient's key: out of Referer headers, caches and
    // search engines.
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        header::HeaderValue::from_static("noindex, nofollow"),
    );
    Ok(response)
}

#[post("/p/{slug}/gift")]
async fn create_gift(
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    let slug = slug.into_inner();
    match gifts::create(&state, reader.who(), &slug, GiftRequest::default()).await {
        Ok(gift) => Ok(pages::redirect_with_flash(
            "/account#gifts",
            &format!(
                "Your gift link for “{}” is ready below: copy it and send it.",
                gift.title
            ),
        )),
        Err(GiftError::NotLoggedIn) => Ok(pages::redirect(&format!("/login?next=/p/{slug}"))),
        Err(GiftError::Internal(e)) => Err(Problem::internal(e).into()),
        Err(refused) => Ok(pages::redirect_with_flash(
            &format!("/p/{slug}"),
            &pages::as_sentence(&refused.to_string()),
        )),
    }
}

#[post("/account/gifts/{id}/revoke")]
async fn revoke_gift(
    state: web::Data<AppState>,
    SignedIn { user, reader: _, .. }: SignedIn,
    id: web::Path<String>,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    let revoked = match super::path_id(&id, "gift link") {
        Ok(gift_id) => gifts::revoke(&state, user.id, gift_id).await?,
        Err(_) => false,
    };
    let flash = if revoked {
        "That gift link no longer opens the article."
    } else {
        "There is no such gift link."
    };
    Ok(pages::redirect_with_flash("/account#gifts", flash))
}

/// One line of the billing history: "4 December 2026 · Refund of $8".
fn describe_incident(
    incident: &billing::PaymentIncident,
    date: &impl Fn(time::PrimitiveDateTime) -> String,
) -> String {
    let amount = crate::domain::tier::money(&incident.currency, incident.amount);
    let what = match (incident.kind.as_str(), incident.status.as_str()) {
        ("refund", "refunded") => format!("Refund of {amount}"),
        ("refund", _) => format!("Partial refund: {amount} so far"),
        (_, "won") => format!("Dispute of {amount}: resolved in our favour"),
        (_, "lost") => format!("Dispute of {amount}: lost"),
        (_, "warning_closed") => format!("Inquiry about {amount}: closed"),
        (_, status) => format!("Dispute of {amount}: {}", status.replace('_', " ")),
    };
    format!("{} · {what}", date(incident.created_at))
}

#[get("/account")]
async fn account(
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn {
        user, member, reader, ..
    }: SignedIn,
) -> PageResult<HttpResponse> {
    let standing = Standing::of(&member, crate::db::now(), &state.policy);
    let user_id = user.id;
    let (subscriptions, sessions, incidents) = db::run(&state.pool, move |conn| {
        Ok((
            billing::subscriptions_of(conn, user_id)?,
            db::sessions::live_for_user(conn, user_id, db::now())?,
            billing::incidents_of(conn, user_id)?,
        ))
    })
    .await?;
    let plan_name = match subscriptions.first() {
        Some(latest) => crate::catalogue::describe_price(&state, &latest.price_id).await?,
        None => None,
    }
    .unwrap_or_else(|| "Paid".to_owned());
    let now = db::now();
    let layout = pages::layout(&req, &reader).await;
    let human_date = |at| layout.site.date(at);
    let gift_links = gifts::list(&state, user_id)
        .await?
        .into_iter()
        .map(|gift| GiftLinkView {
            status: if gift.revoked {
                "revoked".to_owned()
            } else if gift.expires_at <= now {
                "expired".to_owned()
            } else if gift.reads_left == 0 {
                "used up".to_owned()
            } else {
                format!(
                    "{} opens left · until {}",
                    gift.reads_left,
                    human_date(gift.expires_at)
                )
            },
            open: !gift.revoked && gift.expires_at > now && gift.reads_left > 0,
            id: gift.id,
            url: gift.url,
            title: gift.title,
        })
        .collect();
    let current_hash = reader.session_token.as_deref().map(crate::security::token::hash);
    let sessions = sessions
        .into_iter()
        .map(|s| SessionView {
            current: current_hash.as_deref() == Some(s.token_hash.as_str()),
            id: s.id,
            device: s
                .user_agent
                .as_deref()
                .map_or("Unknown device".to_owned(), describe_device),
            last_seen: human_date(s.last_seen_at),
        })
        .collect();
    let newsletters = crate::members::newsletters::choices(&state, user_id, standing)
        .await?
        .into_iter()
        .map(|choice| NewsletterChoiceView {
            id: choice.newsletter.id,
            name: choice.newsletter.name,
            description: choice.newsletter.description,
            subscribed: choice.subscribed,
            needs_paid_plan: choice.needs_paid_plan,
        })
        .collect();
    let latest = subscriptions.first();
    let billing_history = incidents
        .iter()
        .map(|incident| describe_incident(incident, &human_date))
        .collect();
    let (plan, notice) = match standing {
        _ if member.suspended => (
            "Paused".to_owned(),
            Some(
                "A payment of yours is disputed with your bank: paid access is paused until the dispute is resolved in our favour.",
            ),
        ),
        Standing::Staff => ("Staff: you read everything".to_owned(), None),
        Standing::Paid if latest.is_none() => ("Complimentary subscription".to_owned(), None),
        Standing::Paid => (format!("Subscriber · {plan_name}"), None),
        Standing::InGrace => (
            format!("Subscriber · {plan_name}"),
            Some("Your last payment failed. Update your card to keep reading."),
        ),
        Standing::CardFailed => (
            format!("On hold · {plan_name}"),
            Some("Your card on file needs updating."),
        ),
        Standing::Lapsed => ("Free member (your subscription has ended)".to_owned(), None),
        Standing::Free => ("Free member".to_owned(), None),
    };
    // Never a date in the past: a failed card says when it failed instead.
    let renewal = latest.filter(|_| standing != Standing::Lapsed).and_then(|s| {
        let end = s.current_period_end?;
        if matches!(standing, Standing::InGrace | Standing::CardFailed) {
            let failed = human_date(s.past_due_since.unwrap_or(end));
            return Some(format!("Payment failed on {failed}; update your card"));
        }
        (end > now).then(|| {
            if s.cancel_at_period_end {
                format!("Ends on {}", human_date(end))
            } else if s.status == "trialing" {
                format!(
                    "Free trial until {}; the first payment is taken then",
                    human_date(end)
                )
            } else {
                format!("Renews on {}", human_date(end))
            }
        })
    });
    let page = AccountPage {
        layout,
        has_password: user.password_hash.is_some(),
        email: user.email.clone(),
        plan,
        renewal,
        notice,
        show_subscribe: matches!(standing, Standing::Free | Standing::Lapsed),
        manage_billing: state.billing.is_some() && user.stripe_customer_id.is_some(),
        billing_history,
        feed_url: state.config.url_for(&accounts::feed_path(&state, &user)),
        newsletters,
        email_verified: user.email_verified_at.is_some(),
        sessions,
        gift_links,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

/// A short name for a browser from its user agent.
fn describe_device(user_agent: &str) -> String {
    let browser = ["Firefox", "Edg", "Chrome", "Safari"]
        .into_iter()
        .find(|b| user_agent.contains(b))
        .map(|b| if b == "Edg" { "Edge" } else { b });
    let system = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
        .into_iter()
        .find(|s| user_agent.contains(s));
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        _ => user_agent.chars().take(40).collect(),
    }
}

#[post("/account/sessions/{id}/revoke")]
async fn revoke_session(
    state: web::Data<AppState>,
    SignedIn { user, reader: _, .. }: SignedIn,
    id: web::Path<String>,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    let (user_id, session_id) = (user.id, id.parse::<i32>().unwrap_or(0));
    let ended = db::run(&state.pool, move |conn| {
        Ok(db::sessions::delete_for_user(conn, user_id, session_id)?)
    })
    .await?;
    let flash = if ended {
        "That device is signed out."
    } else {
        "That session had already ended."
    };
    Ok(pages::redirect_with_flash("/account", flash))
}

#[derive(serde::Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
}

/// Sets a first password (members who subscribed with an email only sign
/// in with links until they do) or changes the one they have.
#[post("/account/password")]
async fn set_password(
    state: web::Data<AppState>,
    SignedIn { user, reader, .. }: SignedIn,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> PageResult<HttpResponse> {
    let email = crate::domain::email::EmailAddress::parse(&user.email).ok();
    let new = match crate::domain::password::Password::choose(form.password, email.as_ref()) {
        Ok(new) => new,
        Err(invalid) => {
            return Ok(pages::redirect_with_flash(
                "/account#password",
                &capitalized(&invalid.message),
            ));
        }
    };
    let current = crate::domain::password::Password::for_login(form.current_password).ok();
    let session = reader.session_token.clone().unwrap_or_default();
    match accounts::set_password(&state, &user, current, new, &session).await {
        Ok(()) => Ok(pages::redirect_with_flash(
            "/account#password",
            "Your password is set. Other devices were signed out.",
        )),
        Err(accounts::SetPasswordError::WrongCurrent) => Ok(pages::redirect_with_flash(
            "/account#password",
            "Your current password is not right; nothing changed.",
        )),
        Err(accounts::SetPasswordError::Internal(e)) => Err(e.into()),
    }
}

fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect::<String>() + ".")
        .unwrap_or_default()
}

#[post("/account/sessions/revoke-others")]
async fn revoke_other_sessions(
    state: web::Data<AppState>,
    SignedIn { user, reader, .. }: SignedIn,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    let current = reader.session_token.clone().unwrap_or_default();
    let ended = accounts::sign_out_everywhere_else(&state, user.id, &current).await?;
    Ok(pages::redirect_with_flash(
        "/account",
        &format!(
            "Signed out of {ended} other session(s). Your private feed has a new address; the old one no longer works."
        ),
    ))
}

#[post("/account/feed")]
async fn rotate_feed(
    state: web::Data<AppState>,
    SignedIn { user, reader: _, .. }: SignedIn,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    accounts::rotate_feed(&state, user.id).await?;
    Ok(pages::redirect_with_flash(
        "/account",
        "Your private feed has a new address; the old one no longer works.",
    ))
}

#[get("/static/admin.v2.js")]
async fn admin_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(views::ADMIN_SCRIPT)
}

/// `:root { --accent: … }`: the publication's colour, as a stylesheet whose
/// address names it (`?accent=rrggbb`), so it is the same for everyone,
/// cacheable for good, and needs no inline style (the CSP allows none).
#[get("/theme.css")]
async fn theme(query: web::Query<ThemeQuery>) -> PageResult<HttpResponse> {
    let color =
        views::theme_color(&query.accent).ok_or_else(|| Problem::not_found("There is no such theme."))?;
    Ok(HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(format!(":root {{ --accent: #{color}; }}\n")))
}

#[derive(serde::Deserialize)]
struct ThemeQuery {
    accent: String,
}

/// The default favicon: the publication's initial on its colour, drawn from
/// the address alone (`?initial=B&accent=rrggbb`), like the theme.
#[get("/favicon.svg")]
async fn favicon(query: web::Query<FaviconQuery>) -> PageResult<HttpResponse> {
    let svg = views::favicon_svg(&query.initial, &query.accent)
        .ok_or_else(|| Problem::not_found("There is no such icon."))?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(svg))
}

#[derive(serde::Deserialize)]
struct FaviconQuery {
    initial: String,
    accent: String,
}

#[get("/static/style.v7.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(views::STYLESHEET)
}

pub(crate) fn summary(article: &Article, site: &Publication) -> ArticleSummary {
    let row = &article.row;
    let visibility = article.visibility();
    let published = row.published_at.unwrap_or(row.created_at);
    ArticleSummary {
        slug: row.slug.clone(),
        path: article.path(),
        is_page: article.kind() == ArticleKind::Page,
        title: row.title.clone(),
        author: article.author(),
        authors: article
            .authors
            .iter()
            .map(|a| views::AuthorLink {
                name: a.display_name().to_owned(),
                slug: a.slug.clone(),
            })
            .collect(),
        visibility: visibility.as_str(),
        visibility_label: match visibility {
            Visibility::Public => "Free",
            Visibility::Members => "Members",
            Visibility::Paid => "Paid",
        },
        published_iso: crate::domain::time::rfc3339(published),
        published_human: site.date(published),
        preview_html: row.preview_html.clone(),
        excerpt: row.excerpt.clone(),
        tags: article.tags.clone(),
        cover: row.feature_image.clone().map(|url| views::CoverImage {
            url,
            alt: row.feature_image_alt.clone().unwrap_or_default(),
            caption: row.feature_image_caption.clone().unwrap_or_default(),
        }),
    }
}
