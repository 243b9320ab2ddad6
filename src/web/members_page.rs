//! `/admin/members`: the member list in the editor, for editors and admins
//! (authors are refused): search, filters, the counts per status, and a
//! member's page with their timeline and the admins' actions (labels, note,
//! comp, delete). Plain forms: it works without JavaScript. The same
//! services as `/admin/api/members`.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use serde::Deserialize;

use crate::web::{
    csrf::CsrfForm,
    error::{PageResult, Problem},
    extract::SiteStaff,
    members_api::MembersQuery,
    pages,
    views::{AdminMemberPage, AdminMembersPage, CountView, MemberRowView, MemberView, TimelineView},
};
use crate::{
    domain::{
        InvalidInput,
        member::{self, MemberQuery, MemberStatus},
        time::parse_rfc3339,
    },
    members::{
        self, MemberError,
        directory::{self, MemberProfile},
        editing::{self, MemberEdit},
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(show)
        .service(set_labels)
        .service(set_note)
        .service(grant_comp)
        .service(revoke_comps)
        .service(delete);
}

/// What each status is called on the page.
fn status_label(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Free => "Free",
        MemberStatus::Paid => "Paid",
        MemberStatus::Comped => "Comped",
        MemberStatus::Lapsed => "Lapsed",
        MemberStatus::CardFailed => "Card failed",
        MemberStatus::Staff => "Staff",
    }
}

/// The link to this list with `status` as its only filter.
fn status_link(status: Option<MemberStatus>) -> String {
    match status {
        Some(status) => format!("/admin/members?status={status}"),
        None => "/admin/members".to_owned(),
    }
}

#[get("/admin/members")]
async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    raw: web::Query<MembersQuery>,
) -> PageResult<HttpResponse> {
    let raw = raw.into_inner();
    let (search, status, label) = (
        raw.q.clone().unwrap_or_default(),
        raw.status.clone().unwrap_or_default(),
        raw.label.clone().unwrap_or_default(),
    );
    // A filter left at "any" in the form is sent empty.
    let raw = MembersQuery {
        status: raw.status.filter(|s| !s.is_empty()),
        created_after: raw.created_after.filter(|s| !s.is_empty()),
        ..raw
    };
    let query = MemberQuery::try_from(raw).map_err(Problem::from)?;
    let page_number = query.page;
    let found = directory::list(&state, staff.actor, query)
        .await
        .map_err(Problem::from)?;
    let counts = directory::counts(&state, staff.actor)
        .await
        .map_err(Problem::from)?;
    let labels = members::labels::list(&state, staff.actor)
        .await
        .map_err(Problem::from)?;
    let layout = pages::layout(&req, &staff.reader).await;
    let pages_in_all = (found.total + found.per_page - 1) / found.per_page;
    let link_to = |page: i64| {
        let query = serde_urlencoded::to_string([
            ("q", search.as_str()),
            ("status", status.as_str()),
            ("label", label.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/admin/members?{query}")
    };
    let count_of = |wanted: MemberStatus| {
        counts
            .by_status
            .iter()
            .find(|(s, _)| *s == wanted)
            .map_or(0, |(_, n)| *n)
    };
    let mut count_views = vec![CountView {
        label: "Members",
        value: counts.total,
        href: status_link(None),
    }];
    for status in [
        MemberStatus::Paid,
        MemberStatus::Free,
        MemberStatus::Comped,
        MemberStatus::CardFailed,
    ] {
        count_views.push(CountView {
            label: status_label(status),
            value: count_of(status),
            href: status_link(Some(status)),
        });
    }
    count_views.push(CountView {
        label: "New this month",
        value: counts.new_this_month,
        href: status_link(None),
    });
    let rows = found
        .items
        .into_iter()
        .map(|item| MemberRowView {
            id: item.row.id,
            email: item.row.email,
            name: item.row.name.unwrap_or_default(),
            status: status_label(item.status),
            labels: item.labels.join(", "),
            joined: layout.site.date(item.row.created_at),
        })
        .collect();
    let (previous, next) = (
        (page_number > 1).then(|| link_to(page_number - 1)),
        (page_number < pages_in_all).then(|| link_to(page_number + 1)),
    );
    let page = AdminMembersPage {
        layout,
        counts: count_views,
        search,
        status,
        label,
        statuses: MemberStatus::ALL
            .iter()
            .map(|s| (s.as_str(), status_label(*s)))
            .collect(),
        labels: labels.into_iter().map(|(l, _)| (l.slug, l.name)).collect(),
        rows,
        total: found.total,
        page: page_number,
        pages: pages_in_all,
        previous,
        next,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

fn member_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "member")
}

async fn member_page(
    req: &HttpRequest,
    state: &AppState,
    staff: &SiteStaff,
    id: i32,
    status: StatusCode,
    error: Option<String>,
) -> PageResult<HttpResponse> {
    let profile: MemberProfile = directory::profile(state, staff.actor, id)
        .await
        .map_err(Problem::from)?;
    let layout = pages::layout(req, &staff.reader).await;
    let timeline = directory::timeline(&profile.data, crate::db::now())
        .into_iter()
        .map(|entry| TimelineView {
            when: layout.site.date(entry.at),
            summary: entry.summary,
        })
        .collect();
    let data = &profile.data;
    let member = MemberView {
        id: profile.user.id,
        email: profile.user.email.clone(),
        name: profile.user.name.clone().unwrap_or_default(),
        status: status_label(profile.status),
        email_verified: profile.user.email_verified_at.is_some(),
        joined: layout.site.date(profile.user.created_at),
        source: profile.user.source.clone().unwrap_or_default(),
        labels: data.account.labels.join(", "),
        note: profile.user.note.clone().unwrap_or_default(),
        newsletters: profile
            .newsletters
            .iter()
            .filter(|n| n.subscribed)
            .map(|n| n.newsletter.name.clone())
            .collect::<Vec<_>>()
            .join(", "),
        suppressed: data.suppressed.clone(),
        has_comp: !data.complimentary_access.is_empty(),
        brought_by: data.attribution.iter().map(describe_attribution).collect(),
    };
    let page = AdminMemberPage {
        layout,
        may_change: staff.actor.role.can_manage_members(),
        member,
        timeline,
        error,
    };
    Ok(pages::render(req, status, &page)?)
}

#[get("/admin/members/{id}")]
async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    id: web::Path<String>,
) -> PageResult<HttpResponse> {
    member_page(&req, &state, &staff, member_id(&id)?, StatusCode::OK, None).await
}

/// After an action: back to the member's page with a flash, or the page
/// again (422) saying what to fix.
async fn after(
    req: &HttpRequest,
    state: &AppState,
    staff: &SiteStaff,
    id: i32,
    outcome: Result<(), MemberError>,
    done: &str,
) -> PageResult<HttpResponse> {
    match outcome {
        Ok(()) => Ok(pages::redirect_with_flash(&format!("/admin/members/{id}"), done)),
        Err(MemberError::Invalid(invalid)) => {
            member_page(
                req,
                state,
                staff,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(invalid.message),
            )
            .await
        }
        Err(MemberError::Conflict(message)) => {
            member_page(req, state, staff, id, StatusCode::CONFLICT, Some(message)).await
        }
        Err(other) => Err(Problem::from(other).into()),
    }
}

async fn apply(state: &AppState, staff: &SiteStaff, id: i32, edit: MemberEdit) -> Result<(), MemberError> {
    editing::update(state, staff.actor, id, edit).await.map(|_| ())
}

#[derive(Deserialize)]
struct LabelsForm {
    /// Label names, separated by commas.
    labels: String,
}

/// Label names typed as "VIP, Early backer".
fn typed_labels(text: &str) -> Result<Vec<String>, InvalidInput> {
    let names: Vec<&str> = text.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    if names.len() > member::MAX_LABELS_PER_MEMBER {
        return Err(InvalidInput::new(
            "labels",
            format!(
                "a member carries at most {} labels",
                member::MAX_LABELS_PER_MEMBER
            ),
        ));
    }
    names.into_iter().map(member::label_name).collect()
}

#[post("/admin/members/{id}/labels")]
async fn set_labels(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<LabelsForm>,
) -> PageResult<HttpResponse> {
    let id = member_id(&id)?;
    let outcome = match typed_labels(&form.labels) {
        Ok(labels) => {
            let edit = MemberEdit {
                labels: Some(labels),
                ..MemberEdit::default()
            };
            apply(&state, &staff, id, edit).await
        }
        Err(invalid) => Err(MemberError::Invalid(invalid)),
    };
    after(&req, &state, &staff, id, outcome, "Labels saved.").await
}

#[derive(Deserialize)]
struct NoteForm {
    note: String,
}

#[post("/admin/members/{id}/note")]
async fn set_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> PageResult<HttpResponse> {
    let id = member_id(&id)?;
    let outcome = match member::member_note(&form.note) {
        Ok(note) => {
            let edit = MemberEdit {
                note: Some(Some(note).filter(|n| !n.is_empty())),
                ..MemberEdit::default()
            };
            apply(&state, &staff, id, edit).await
        }
        Err(invalid) => Err(MemberError::Invalid(invalid)),
    };
    after(&req, &state, &staff, id, outcome, "Note saved.").await
}

#[derive(Deserialize)]
struct CompForm {
    /// `YYYY-MM-DD` (an `<input type="date">`); empty: for good.
    until: String,
    reason: String,
}

impl CompForm {
    /// The end of the comp: the end of the chosen day (UTC).
    fn expires_at(&self) -> Result<Option<time::PrimitiveDateTime>, InvalidInput> {
        let day = self.until.trim();
        if day.is_empty() {
            return Ok(None);
        }
        let start = parse_rfc3339(&format!("{day}T00:00:00Z"), "until")
            .map_err(|_| InvalidInput::new("until", "until must be a date like 2027-01-31"))?;
        Ok(Some(start + time::Duration::days(1)))
    }
}

#[post("/admin/members/{id}/comp")]
async fn grant_comp(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<CompForm>,
) -> PageResult<HttpResponse> {
    let id = member_id(&id)?;
    let parsed = form
        .expires_at()
        .and_then(|expires_at| Ok((expires_at, member::comp_reason(form.reason.trim())?)));
    let outcome = match parsed {
        Ok((expires_at, reason)) => members::grant_comp(&state, staff.actor, id, expires_at, reason).await,
        Err(invalid) => Err(MemberError::Invalid(invalid)),
    };
    after(&req, &state, &staff, id, outcome, "Complimentary access granted.").await
}

#[post("/admin/members/{id}/comp/revoke")]
async fn revoke_comps(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    id: web::Path<String>,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> PageResult<HttpResponse> {
    let id = member_id(&id)?;
    let outcome = members::revoke_comps(&state, staff.actor, id).await.map(|_| ());
    after(&req, &state, &staff, id, outcome, "Complimentary access ended.").await
}

#[derive(Deserialize)]
struct DeleteForm {
    /// The member's address, typed again.
    confirm_email: String,
}

#[post("/admin/members/{id}/delete")]
async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> PageResult<HttpResponse> {
    let id = member_id(&id)?;
    let profile = directory::profile(&state, staff.actor, id)
        .await
        .map_err(Problem::from)?;
    if !form
        .confirm_email
        .trim()
        .eq_ignore_ascii_case(&profile.user.email)
    {
        let refused = Err(MemberError::Invalid(InvalidInput::new(
            "confirm_email",
            "Type the member's email address to delete them.",
        )));
        return after(&req, &state, &staff, id, refused, "").await;
    }
    match editing::delete(&state, staff.actor, id).await {
        Ok(()) => Ok(pages::redirect_with_flash(
            "/admin/members",
            "The member is deleted.",
        )),
        Err(e) => after(&req, &state, &staff, id, Err(e), "").await,
    }
}

/// "Signed up from a-day-out, via news.ycombinator.com": one line of what
/// brought a member.
fn describe_attribution(a: &crate::db::attributions::MemberAttribution) -> String {
    let what = match a.kind {
        crate::domain::attribution::AttributionKind::Signup => "Signed up",
        crate::domain::attribution::AttributionKind::Paid => "Started paying",
    };
    let mut parts = Vec::new();
    if let Some(post) = &a.post {
        parts.push(format!("on the post {post}"));
    }
    if let Some(newsletter) = &a.newsletter {
        parts.push(format!("from the newsletter {newsletter}"));
    }
    if a.gift_link_id.is_some() {
        parts.push("through a gift link".to_owned());
    }
    if a.gift_subscription_id.is_some() {
        parts.push("with a gift subscription".to_owned());
    }
    if let Some(offer) = &a.offer_code {
        parts.push(format!("with the offer {offer}"));
    }
    if let Some(origin) = &a.embed_origin {
        parts.push(format!("in the form on {origin}"));
    }
    if let Some(referrer) = &a.referrer {
        parts.push(format!("via {referrer}"));
    }
    match parts.is_empty() {
        true => format!("{what} on this site"),
        false => format!("{what} {}", parts.join(", ")),
    }
}
