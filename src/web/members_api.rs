//! Members in the admin API: `/admin/api/members` (find, read, add, change,
//! delete, timeline, comps, billing, export) and `/admin/api/labels`.
//! Editors read; admins write. Listed in the admin API's OpenAPI document.

use actix_web::{HttpResponse, delete, get, http::header, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    db::{labels::StoredLabel, personal_data::SubscriptionData},
    domain::{
        InvalidInput,
        access::Standing,
        attribution::AttributionKind,
        delivery::DeliveryStatus,
        email::EmailAddress,
        member::{self, MemberQuery, MemberStatus},
        newsletters::newsletter_slug,
        time::{parse_rfc3339, rfc3339},
    },
    members::{
        self, MemberError,
        directory::{self, MemberListItem, MemberProfile},
        editing::{self, CompGrant, MemberDraft, MemberEdit},
    },
    state::AppState,
    web::extract::ApiStaff,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The fixed paths first: `/members/{id}` would take "export" and "counts".
    cfg.service(list_members)
        .service(member_counts)
        .service(export_members)
        // Any other method there is a 405 naming GET, not `/members/{id}`.
        .service(web::resource(["/members/counts", "/members/export"]).to(super::not_found))
        .service(create_member)
        .service(get_member)
        .service(patch_member)
        .service(delete_member)
        .service(member_activity)
        .service(grant_comp)
        .service(revoke_comp)
        .service(member_billing)
        .service(list_labels)
        .service(create_label)
        .service(patch_label)
        .service(delete_label);
}

impl From<MemberError> for Problem {
    fn from(e: MemberError) -> Self {
        use actix_web::http::StatusCode;
        match e {
            MemberError::NotFound(message) => Problem::not_found(message),
            MemberError::Forbidden => Problem::forbidden("Your role may not do this to members."),
            MemberError::Invalid(invalid) => Problem::from(invalid),
            MemberError::Conflict(message) => Problem::new(StatusCode::CONFLICT, "conflict", message),
            MemberError::StripeDown(e) => {
                tracing::error!(error = ?e, "stopping a member's renewals at Stripe");
                Problem::new(
                    StatusCode::BAD_GATEWAY,
                    "billing_unavailable",
                    "Stripe did not answer, so the subscription could not be stopped; nothing was deleted. Try again in a minute.",
                )
            }
            MemberError::Internal(e) => Problem::internal(e),
        }
    }
}

fn member_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "member")
}

/// The access policy's own word for a standing.
fn standing_name(standing: Standing) -> &'static str {
    match standing {
        Standing::Staff => "staff",
        Standing::Paid => "paid",
        Standing::InGrace => "in_grace",
        Standing::CardFailed => "card_failed",
        Standing::Lapsed => "lapsed",
        Standing::Free => "free",
    }
}

/// `GET /admin/api/members`: every filter combined, newest first.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MembersQuery {
    /// A piece of the email or the name (case-insensitive).
    #[param(max_length = 200)]
    pub(crate) q: Option<String>,
    /// Where they stand: `free`, `paid`, `comped`, `lapsed`, `card_failed`, `staff`.
    #[param(value_type = Option<MemberStatus>)]
    pub(crate) status: Option<String>,
    /// A label's slug.
    pub(crate) label: Option<String>,
    /// A newsletter's slug: its subscribers.
    pub(crate) newsletter: Option<String>,
    /// What brought them (`home`, `import`, `article:my-post`); end with `*`
    /// for a prefix (`article:*`).
    #[param(max_length = 200)]
    pub(crate) source: Option<String>,
    /// RFC 3339: joined after this time.
    #[param(format = DateTime)]
    pub(crate) created_after: Option<String>,
    /// 1-based; default 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub(crate) page: Option<i64>,
    /// Default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub(crate) per_page: Option<i64>,
}

fn slug_filter(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<crate::domain::slug::Slug>, InvalidInput> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            crate::domain::slug::Slug::parse(s).map_err(|_| {
                InvalidInput::new(
                    field,
                    format!("{field} must be a slug (lowercase letters, digits, hyphens)"),
                )
            })
        })
        .transpose()
}

impl TryFrom<MembersQuery> for MemberQuery {
    type Error = InvalidInput;

    fn try_from(raw: MembersQuery) -> Result<Self, InvalidInput> {
        Ok(MemberQuery {
            search: MemberQuery::search_text(raw.q.as_deref())?,
            status: raw.status.as_deref().map(MemberStatus::parse).transpose()?,
            label: slug_filter("label", raw.label.as_deref())?,
            newsletter: slug_filter("newsletter", raw.newsletter.as_deref())?,
            source: MemberQuery::source(raw.source.as_deref())?,
            created_after: raw
                .created_after
                .as_deref()
                .map(|t| parse_rfc3339(t, "created_after"))
                .transpose()?,
            page: MemberQuery::page(raw.page)?,
            per_page: MemberQuery::per_page(raw.per_page)?,
        })
    }
}

/// A member as a list row shows them.
#[derive(Serialize, ToSchema)]
pub struct MemberSummaryJson {
    id: i32,
    email: String,
    name: Option<String>,
    status: MemberStatus,
    labels: Vec<String>,
    email_verified: bool,
    source: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<MemberListItem> for MemberSummaryJson {
    fn from(item: MemberListItem) -> Self {
        Self {
            id: item.row.id,
            email: item.row.email,
            name: item.row.name,
            status: item.status,
            labels: item.labels,
            email_verified: item.row.email_verified_at.is_some(),
            source: item.row.source,
            created_at: rfc3339(item.row.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberListJson {
    members: Vec<MemberSummaryJson>,
    /// How many match in all.
    total: i64,
    page: i64,
    per_page: i64,
    pages: i64,
}

/// Finds members. Editors and admins.
#[utoipa::path(get, path = "/admin/api/members", params(MembersQuery),
    responses((status = 200, body = MemberListJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[get("/members")]
async fn list_members(
    state: web::Data<AppState>,
    staff: ApiStaff,
    query: web::Query<MembersQuery>,
) -> ApiResult<web::Json<MemberListJson>> {
    let query = MemberQuery::try_from(query.into_inner()).map_err(Problem::from)?;
    let page = directory::list(&state, staff.actor, query).await?;
    Ok(web::Json(MemberListJson {
        pages: (page.total + page.per_page - 1) / page.per_page,
        total: page.total,
        page: page.page,
        per_page: page.per_page,
        members: page.items.into_iter().map(MemberSummaryJson::from).collect(),
    }))
}

/// How many members stand where, for the top of the list.
#[derive(Serialize, ToSchema)]
pub struct MemberCountsJson {
    total: i64,
    free: i64,
    paid: i64,
    comped: i64,
    lapsed: i64,
    card_failed: i64,
    staff: i64,
    /// Joined since the first of this month (UTC).
    new_this_month: i64,
}

impl From<directory::StandingCounts> for MemberCountsJson {
    fn from(counts: directory::StandingCounts) -> Self {
        let of = |wanted: MemberStatus| {
            counts
                .by_status
                .iter()
                .find(|(status, _)| *status == wanted)
                .map_or(0, |(_, n)| *n)
        };
        Self {
            total: counts.total,
            free: of(MemberStatus::Free),
            paid: of(MemberStatus::Paid),
            comped: of(MemberStatus::Comped),
            lapsed: of(MemberStatus::Lapsed),
            card_failed: of(MemberStatus::CardFailed),
            staff: of(MemberStatus::Staff),
            new_this_month: counts.new_this_month,
        }
    }
}

/// Members per standing. Editors and admins.
#[utoipa::path(get, path = "/admin/api/members/counts",
    responses((status = 200, body = MemberCountsJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/members/counts")]
async fn member_counts(
    state: web::Data<AppState>,
    staff: ApiStaff,
) -> ApiResult<web::Json<MemberCountsJson>> {
    Ok(web::Json(directory::counts(&state, staff.actor).await?.into()))
}

#[derive(Serialize, ToSchema)]
struct NewsletterMembershipJson {
    slug: String,
    name: String,
    subscribed: bool,
}

#[derive(Serialize, ToSchema)]
struct EmailStatsJson {
    /// Newsletters delivered to them.
    sent: i64,
    failed: i64,
    /// Skipped because the address was suppressed or had left.
    suppressed: i64,
    /// Queued or being sent.
    pending: i64,
    /// Why nothing is sent to the address, if nothing is
    /// (`unsubscribed`, `hard_bounce`, `soft_bounces`, `complaint`, `manual`).
    suppressed_because: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct MemberCompJson {
    reason: String,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    #[schema(format = DateTime)]
    granted_at: String,
}

#[derive(Serialize, ToSchema)]
struct GiftLinkJson {
    article: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    expires_at: String,
    opens: i32,
    max_opens: i32,
    revoked: bool,
}

/// What brought the member: their sign-up and each paid subscription.
#[derive(Serialize, ToSchema)]
struct AttributionJson {
    /// `signup` or `paid`.
    kind: AttributionKind,
    /// The post whose form, teaser or gift link they used (its slug).
    post: Option<String>,
    /// The post whose newsletter link brought them (its slug).
    newsletter: Option<String>,
    gift_link_id: Option<i32>,
    gift_subscription_id: Option<i32>,
    /// The offer claimed (its code).
    offer: Option<String>,
    /// The page that framed the embedded form.
    embed_origin: Option<String>,
    /// The referring site's host, or a `?ref=` name.
    referrer: Option<String>,
    #[schema(format = DateTime)]
    at: String,
}

/// Everything editors see of one member.
#[derive(Serialize, ToSchema)]
pub struct MemberJson {
    id: i32,
    email: String,
    name: Option<String>,
    note: Option<String>,
    status: MemberStatus,
    /// The access policy's word: `paid`, `in_grace`, `card_failed`,
    /// `lapsed`, `free`, `staff`.
    standing: String,
    role: String,
    email_verified: bool,
    source: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    stripe_customer_id: Option<String>,
    labels: Vec<String>,
    newsletters: Vec<NewsletterMembershipJson>,
    subscriptions: Vec<SubscriptionJson>,
    comps: Vec<MemberCompJson>,
    emails: EmailStatsJson,
    gift_links: Vec<GiftLinkJson>,
    attribution: Vec<AttributionJson>,
}

impl From<MemberProfile> for MemberJson {
    fn from(profile: MemberProfile) -> Self {
        let count = |status: DeliveryStatus| profile.deliveries.get(&status).copied().unwrap_or(0);
        let data = profile.data;
        Self {
            id: profile.user.id,
            email: profile.user.email.clone(),
            name: profile.user.name.clone(),
            note: profile.user.note.clone(),
            status: profile.status,
            standing: standing_name(profile.standing).to_owned(),
            role: profile.user.role.to_string(),
            email_verified: profile.user.email_verified_at.is_some(),
            source: profile.user.source.clone(),
            created_at: rfc3339(profile.user.created_at),
            stripe_customer_id: profile.user.stripe_customer_id.clone(),
            labels: data.account.labels,
            newsletters: profile
                .newsletters
                .into_iter()
                .map(|choice| NewsletterMembershipJson {
                    slug: choice.newsletter.slug,
                    name: choice.newsletter.name,
                    subscribed: choice.subscribed,
                })
                .collect(),
            subscriptions: data
                .subscriptions
                .into_iter()
                .map(SubscriptionJson::from)
                .collect(),
            comps: data
                .complimentary_access
                .into_iter()
                .map(|comp| MemberCompJson {
                    reason: comp.reason,
                    expires_at: comp.expires_at.map(rfc3339),
                    granted_at: rfc3339(comp.granted_at),
                })
                .collect(),
            emails: EmailStatsJson {
                sent: count(DeliveryStatus::Sent),
                failed: count(DeliveryStatus::Failed),
                suppressed: count(DeliveryStatus::Suppressed),
                pending: count(DeliveryStatus::Pending) + count(DeliveryStatus::Sending),
                suppressed_because: data.suppressed,
            },
            gift_links: data
                .gift_links
                .into_iter()
                .map(|gift| GiftLinkJson {
                    article: gift.article,
                    created_at: rfc3339(gift.created_at),
                    expires_at: rfc3339(gift.expires_at),
                    opens: gift.opens,
                    max_opens: gift.max_opens,
                    revoked: gift.revoked,
                })
                .collect(),
            attribution: data
                .attribution
                .into_iter()
                .map(|a| AttributionJson {
                    kind: a.kind,
                    post: a.post,
                    newsletter: a.newsletter,
                    gift_link_id: a.gift_link_id,
                    gift_subscription_id: a.gift_subscription_id,
                    offer: a.offer_code,
                    embed_origin: a.embed_origin,
                    referrer: a.referrer,
                    at: rfc3339(a.created_at),
                })
                .collect(),
        }
    }
}

/// One member. Editors and admins.
#[utoipa::path(get, path = "/admin/api/members/{id}", params(("id" = i32, Path)),
    responses((status = 200, body = MemberJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/members/{id}")]
async fn get_member(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<MemberJson>> {
    let profile = directory::profile(&state, staff.actor, member_id(&id)?).await?;
    Ok(web::Json(profile.into()))
}

/// The body of `POST /admin/api/members`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemberBody {
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    name: Option<String>,
    /// Label names; a label that does not exist yet is made.
    #[schema(max_items = 50)]
    labels: Option<Vec<String>>,
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$")]
    note: Option<String>,
    /// Newsletter slugs; left out: those new members join.
    newsletters: Option<Vec<String>>,
    /// Complimentary access from the start.
    comp: Option<CompBody>,
    /// Email them a link to sign in (valid 15 minutes).
    send_sign_in_link: Option<bool>,
}

fn label_names(raw: Option<Vec<String>>) -> Result<Option<Vec<String>>, InvalidInput> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    if raw.len() > member::MAX_LABELS_PER_MEMBER {
        return Err(InvalidInput::new(
            "labels",
            format!(
                "a member carries at most {} labels",
                member::MAX_LABELS_PER_MEMBER
            ),
        ));
    }
    raw.iter()
        .map(|name| member::label_name(name).map_err(|e| InvalidInput::new("labels", e.message)))
        .collect::<Result<_, _>>()
        .map(Some)
}

fn newsletter_slugs(
    raw: Option<Vec<String>>,
) -> Result<Option<Vec<crate::domain::slug::Slug>>, InvalidInput> {
    raw.map(|slugs| {
        slugs
            .iter()
            .map(|s| newsletter_slug(s).map_err(|e| InvalidInput::new("newsletters", e.message)))
            .collect()
    })
    .transpose()
}

fn optional_name(raw: Option<&str>) -> Result<Option<String>, InvalidInput> {
    raw.map(|name| crate::domain::settings::one_line("name", name, 0, 100))
        .transpose()
        .map(|name| name.filter(|n| !n.is_empty()))
}

impl TryFrom<CreateMemberBody> for MemberDraft {
    type Error = InvalidInput;

    fn try_from(body: CreateMemberBody) -> Result<Self, InvalidInput> {
        Ok(MemberDraft {
            email: EmailAddress::parse(&body.email)?,
            name: optional_name(body.name.as_deref())?,
            labels: label_names(body.labels)?.unwrap_or_default(),
            note: body
                .note
                .as_deref()
                .map(member::member_note)
                .transpose()?
                .filter(|n| !n.is_empty()),
            newsletters: newsletter_slugs(body.newsletters)?,
            comp: body.comp.map(CompBody::parse).transpose()?,
            send_sign_in_link: body.send_sign_in_link.unwrap_or(false),
        })
    }
}

/// Adds a member by hand (verified: the admin vouches for the address).
/// Admins only.
#[utoipa::path(post, path = "/admin/api/members", request_body = CreateMemberBody,
    responses((status = 201, body = MemberJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/members")]
async fn create_member(
    state: web::Data<AppState>,
    staff: ApiStaff,
    body: web::Json<CreateMemberBody>,
) -> ApiResult<HttpResponse> {
    let draft = MemberDraft::try_from(body.into_inner()).map_err(Problem::from)?;
    let profile = editing::create(&state, staff.actor, draft).await?;
    if !profile.data.emails_sent_to_you.is_empty() {
        state.mail_wakeup.ring();
    }
    Ok(HttpResponse::Created().json(MemberJson::from(profile)))
}

/// The body of `PATCH /admin/api/members/{id}`; a field left out stays.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchMemberBody {
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    name: Option<Option<String>>,
    /// A new address: unconfirmed (no newsletters) until the member clicks
    /// the link sent to it.
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    /// Replaces their labels.
    #[schema(max_items = 50)]
    labels: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$")]
    note: Option<Option<String>>,
    /// Replaces their newsletters (slugs).
    newsletters: Option<Vec<String>>,
    /// `true` stops every email to them; `false` lifts any suppression.
    suppressed: Option<bool>,
}

impl TryFrom<PatchMemberBody> for MemberEdit {
    type Error = InvalidInput;

    fn try_from(body: PatchMemberBody) -> Result<Self, InvalidInput> {
        Ok(MemberEdit {
            name: body.name.map(|name| optional_name(name.as_deref())).transpose()?,
            email: body.email.as_deref().map(EmailAddress::parse).transpose()?,
            labels: label_names(body.labels)?,
            note: body
                .note
                .map(|note| {
                    note.as_deref()
                        .map(member::member_note)
                        .transpose()
                        .map(|n| n.filter(|n| !n.is_empty()))
                })
                .transpose()?,
            newsletters: newsletter_slugs(body.newsletters)?,
            suppressed: body.suppressed,
        })
    }
}

/// Changes a member. Admins only.
#[utoipa::path(patch, path = "/admin/api/members/{id}", params(("id" = i32, Path)), request_body = PatchMemberBody,
    responses((status = 200, body = MemberJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/members/{id}")]
async fn patch_member(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<PatchMemberBody>,
) -> ApiResult<web::Json<MemberJson>> {
    let id = member_id(&id)?;
    let edit = MemberEdit::try_from(body.into_inner()).map_err(Problem::from)?;
    let new_address = edit.email.is_some();
    let profile = editing::update(&state, staff.actor, id, edit).await?;
    if new_address {
        state.mail_wakeup.ring();
    }
    Ok(web::Json(profile.into()))
}

/// Deletes a member as they could themselves: Stripe renewals stopped
/// first (502 and nothing deleted if Stripe does not answer), then
/// everything that names them erased. Admins only.
#[utoipa::path(delete, path = "/admin/api/members/{id}", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
#[delete("/members/{id}")]
async fn delete_member(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    editing::delete(&state, staff.actor, member_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One line of a member's timeline.
#[derive(Serialize, ToSchema)]
pub struct ActivityJson {
    #[schema(format = DateTime)]
    at: String,
    /// `joined`, `email_verified`, `subscription_started`, `comp_granted`,
    /// `newsletter_sent`, `signed_in`, `newsletter_left`, …
    kind: String,
    summary: String,
}

/// A member's timeline, newest first, from what is recorded. Editors and
/// admins.
#[utoipa::path(get, path = "/admin/api/members/{id}/activity", params(("id" = i32, Path)),
    responses((status = 200, body = Vec<ActivityJson>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/members/{id}/activity")]
async fn member_activity(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<ActivityJson>>> {
    let entries = directory::activity(&state, staff.actor, member_id(&id)?).await?;
    Ok(web::Json(
        entries
            .into_iter()
            .map(|entry| ActivityJson {
                at: rfc3339(entry.at),
                kind: entry.kind,
                summary: entry.summary,
            })
            .collect(),
    ))
}

/// A label and how many members carry it.
#[derive(Serialize, ToSchema)]
pub struct LabelJson {
    id: i32,
    slug: String,
    name: String,
    members: i64,
}

impl LabelJson {
    fn of(label: StoredLabel, members: i64) -> Self {
        Self {
            id: label.id,
            slug: label.slug,
            name: label.name,
            members,
        }
    }
}

/// The body of `POST` and `PATCH /admin/api/labels`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: String,
}

fn label_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "label")
}

/// Every label, by name. Editors and admins.
#[utoipa::path(get, path = "/admin/api/labels",
    responses((status = 200, body = Vec<LabelJson>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/labels")]
async fn list_labels(state: web::Data<AppState>, staff: ApiStaff) -> ApiResult<web::Json<Vec<LabelJson>>> {
    let labels = members::labels::list(&state, staff.actor).await?;
    Ok(web::Json(
        labels.into_iter().map(|(l, n)| LabelJson::of(l, n)).collect(),
    ))
}

/// Makes a label. Admins only.
#[utoipa::path(post, path = "/admin/api/labels", request_body = LabelBody,
    responses((status = 201, body = LabelJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/labels")]
async fn create_label(
    state: web::Data<AppState>,
    staff: ApiStaff,
    body: web::Json<LabelBody>,
) -> ApiResult<HttpResponse> {
    let name = member::label_name(&body.into_inner().name).map_err(Problem::from)?;
    let label = members::labels::create(&state, staff.actor, name).await?;
    Ok(HttpResponse::Created().json(LabelJson::of(label, 0)))
}

/// Renames a label (its slug follows). Admins only.
#[utoipa::path(patch, path = "/admin/api/labels/{id}", params(("id" = i32, Path)), request_body = LabelBody,
    responses((status = 200, body = LabelJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/labels/{id}")]
async fn patch_label(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<LabelBody>,
) -> ApiResult<web::Json<LabelJson>> {
    let id = label_id(&id)?;
    let name = member::label_name(&body.into_inner().name).map_err(Problem::from)?;
    let label = members::labels::rename(&state, staff.actor, id, name).await?;
    let count = members::labels::list(&state, staff.actor)
        .await?
        .into_iter()
        .find(|(l, _)| l.id == id)
        .map_or(0, |(_, n)| n);
    Ok(web::Json(LabelJson::of(label, count)))
}

/// Deletes a label; members who carried it lose it. Admins only.
#[utoipa::path(delete, path = "/admin/api/labels/{id}", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/labels/{id}")]
async fn delete_label(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    members::labels::delete(&state, staff.actor, label_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
/// The body of `POST /admin/api/members/{id}/comp`, and a new member's comp.
/// Read through a JSON object only (serde would take `[expires_at, reason]`
/// as well, which the schema does not allow).
#[derive(Deserialize, ToSchema, Default)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct CompBody {
    /// RFC 3339; left out, the comp never expires.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// Why (kept for the record), at most 500 characters, no control
    /// characters but line breaks and tabs.
    #[schema(max_length = 500, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$")]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompFields {
    expires_at: Option<String>,
    reason: Option<String>,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for CompBody {
    type Error = serde_json::Error;

    fn try_from(object: serde_json::Map<String, serde_json::Value>) -> Result<Self, Self::Error> {
        let fields: CompFields = serde_json::from_value(serde_json::Value::Object(object))?;
        Ok(CompBody {
            expires_at: fields.expires_at,
            reason: fields.reason,
        })
    }
}

impl CompBody {
    fn parse(self) -> Result<CompGrant, InvalidInput> {
        let expires_at = self
            .expires_at
            .as_deref()
            .map(|t| parse_rfc3339(t, "expires_at"))
            .transpose()?;
        let reason = member::comp_reason(&self.reason.unwrap_or_default())?;
        Ok(CompGrant { expires_at, reason })
    }
}

#[derive(Serialize, ToSchema)]
struct CompJson {
    member_id: i32,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    reason: String,
}

/// Gives a member full access, until `expires_at` or for good. Admins only.
#[utoipa::path(post, path = "/admin/api/members/{id}/comp", params(("id" = i32, Path)), request_body(content = Option<CompBody>),
    responses((status = 201, body = CompJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/members/{id}/comp")]
async fn grant_comp(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = member_id(&id)?;
    let body: CompBody = super::optional_json(&body)?;
    let CompGrant { expires_at, reason } = body.parse().map_err(Problem::from)?;
    members::grant_comp(&state, staff.actor, id, expires_at, reason.clone()).await?;
    Ok(HttpResponse::Created().json(CompJson {
        member_id: id,
        expires_at: expires_at.map(rfc3339),
        reason,
    }))
}

/// Ends a member's complimentary access. Admins only.
#[utoipa::path(delete, path = "/admin/api/members/{id}/comp", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/members/{id}/comp")]
async fn revoke_comp(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    members::revoke_comps(&state, staff.actor, member_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A member's billing history: their subscriptions as Stripe last told
/// us, and the refunds and disputes of their payments.
#[derive(Serialize, ToSchema)]
struct BillingJson {
    member_id: i32,
    /// A dispute suspends their paid access (`BROADSHEET_ON_DISPUTE`).
    suspended: bool,
    subscriptions: Vec<SubscriptionJson>,
    incidents: Vec<IncidentJson>,
}

#[derive(Serialize, ToSchema)]
struct SubscriptionJson {
    stripe_subscription_id: String,
    status: String,
    price_id: String,
    #[schema(format = DateTime)]
    current_period_end: Option<String>,
    cancel_at_period_end: bool,
}

impl From<SubscriptionData> for SubscriptionJson {
    fn from(s: SubscriptionData) -> Self {
        Self {
            stripe_subscription_id: s.stripe_subscription_id,
            status: s.status,
            price_id: s.price_id,
            current_period_end: s.current_period_end.map(rfc3339),
            cancel_at_period_end: s.cancel_at_period_end,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct IncidentJson {
    /// `refund` or `dispute`.
    kind: String,
    /// The charge (a refund) or the dispute.
    stripe_id: String,
    charge_id: String,
    /// Refunded so far, or disputed, in the currency's smallest unit.
    amount: i64,
    currency: String,
    /// A refund: `refunded`, `partially_refunded`; a dispute: Stripe's status.
    status: String,
    suspends_access: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// A member's subscriptions, refunds and disputes. Editors and admins.
#[utoipa::path(get, path = "/admin/api/members/{id}/billing", params(("id" = i32, Path)),
    responses((status = 200, body = BillingJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/members/{id}/billing")]
async fn member_billing(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<BillingJson>> {
    let id = member_id(&id)?;
    let history = members::billing_history(&state, staff.actor, id).await?;
    Ok(web::Json(BillingJson {
        member_id: id,
        suspended: history.incidents.iter().any(|i| i.suspends_access),
        subscriptions: history
            .subscriptions
            .into_iter()
            .map(|s| SubscriptionJson {
                stripe_subscription_id: s.stripe_subscription_id,
                status: s.status,
                price_id: s.price_id,
                current_period_end: s.current_period_end.map(rfc3339),
                cancel_at_period_end: s.cancel_at_period_end,
            })
            .collect(),
        incidents: history
            .incidents
            .into_iter()
            .map(|i| IncidentJson {
                kind: i.kind,
                stripe_id: i.stripe_id,
                charge_id: i.charge_id,
                amount: i.amount,
                currency: i.currency,
                status: i.status,
                suspends_access: i.suspends_access,
                created_at: rfc3339(i.created_at),
                updated_at: rfc3339(i.updated_at),
            })
            .collect(),
    }))
}

/// Every member as CSV in Ghost's layout (`id,email,name,note,
/// subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,
/// deleted_at,labels,tiers`); `broadsheet admin import` reads it back.
/// Admins only: it is the whole list of people.
#[utoipa::path(get, path = "/admin/api/members/export",
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/members/export")]
async fn export_members(state: web::Data<AppState>, staff: ApiStaff) -> ApiResult<HttpResponse> {
    if !staff.actor.role.can_manage_members() {
        return Err(Problem::forbidden("Only admins export members.").into());
    }
    let csv = members::export_csv(&state).await?;
    tracing::info!(actor_id = staff.actor.user_id, "members exported");
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"broadsheet-members.csv\"",
        ))
        .body(csv))
}
