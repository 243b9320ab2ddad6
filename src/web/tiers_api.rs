//! The price catalogue in the admin API: `/admin/api/tiers` and
//! `/admin/api/prices/{id}`. Staff read it (authors gate posts by tier);
//! admins change it. Listed in the admin API's OpenAPI document.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    catalogue::{self, CatalogueError, NewPrice, PriceChange},
    db::tiers::{StoredPrice, StoredTier},
    domain::{
        InvalidInput, Whole,
        tier::{self, PriceStatus, StripePriceId, TierDraft},
    },
    state::AppState,
    web::extract::ApiStaff,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_tiers)
        .service(create_tier)
        .service(get_tier)
        .service(patch_tier)
        .service(delete_tier)
        .service(add_price)
        .service(patch_price)
        .service(delete_price);
}

impl From<CatalogueError> for Problem {
    fn from(e: CatalogueError) -> Self {
        match e {
            CatalogueError::Forbidden(message) => Problem::forbidden(message),
            CatalogueError::NotFound(message) => Problem::not_found(message),
            CatalogueError::Invalid(invalid) => Problem::from(invalid),
            CatalogueError::Conflict(message) => {
                Problem::new(actix_web::http::StatusCode::CONFLICT, "conflict", message)
            }
            CatalogueError::StripeDown(e) => {
                tracing::error!(error = ?e, "reading a Stripe price");
                Problem::new(
                    actix_web::http::StatusCode::BAD_GATEWAY,
                    "billing_unavailable",
                    "Stripe did not answer; nothing was changed. Try again in a minute.",
                )
            }
            CatalogueError::Internal(e) => Problem::internal(e),
        }
    }
}

/// A tier as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct TierJson {
    id: i32,
    slug: String,
    name: String,
    description: String,
    benefits: Vec<String>,
    /// Shown on `/subscribe` and open to new subscribers.
    active: bool,
    /// Display order, smallest first.
    position: i32,
    /// On-sale prices first.
    prices: Vec<PriceJson>,
}

#[derive(Serialize, ToSchema)]
pub struct PriceJson {
    stripe_price_id: String,
    status: PriceStatus,
    trial_days: Option<i32>,
    /// From Stripe's price object; `null` until it was read.
    currency: Option<String>,
    /// In the currency's smallest unit.
    unit_amount: Option<i64>,
    /// `day`, `week`, `month`, `year`; `null` for a one-time price.
    interval: Option<String>,
    interval_count: Option<u32>,
    /// "$8 a month".
    label: Option<String>,
}

impl From<StoredTier> for TierJson {
    fn from(tier: StoredTier) -> Self {
        Self {
            id: tier.id,
            slug: tier.slug,
            name: tier.name,
            description: tier.description,
            benefits: tier.benefits,
            active: tier.active,
            position: tier.position,
            prices: tier.prices.into_iter().map(PriceJson::from).collect(),
        }
    }
}

impl From<StoredPrice> for PriceJson {
    fn from(price: StoredPrice) -> Self {
        let details = price.details.as_ref();
        Self {
            label: details.map(|d| d.label()),
            currency: details.map(|d| d.currency.clone()),
            unit_amount: details.and_then(|d| d.unit_amount),
            interval: details.and_then(|d| d.interval).map(|i| i.as_str().to_owned()),
            interval_count: details.filter(|d| d.interval.is_some()).map(|d| d.interval_count),
            stripe_price_id: price.stripe_price_id,
            status: price.status,
            trial_days: price.trial_days,
        }
    }
}

/// A price to add: a Stripe price id of the connected account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBody {
    #[schema(
        pattern = "^[A-Za-z0-9_-]{1,255}$",
        example = "price_1PgafmB7WZ01zgkW6dKueIc5"
    )]
    stripe_price_id: String,
    /// `active` (default): on sale; `legacy`: counts for readers on it, sold no more.
    status: Option<PriceStatus>,
    /// A free trial given in Checkout.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 730)]
    trial_days: Option<Whole<u32>>,
}

impl TryFrom<PriceBody> for NewPrice {
    type Error = InvalidInput;

    fn try_from(body: PriceBody) -> Result<Self, InvalidInput> {
        Ok(NewPrice {
            stripe_price_id: StripePriceId::parse(&body.stripe_price_id)?,
            status: body.status.unwrap_or(PriceStatus::Active),
            trial_days: body.trial_days.map(|d| tier::trial_days(d.0)).transpose()?,
        })
    }
}

/// The body of `POST /admin/api/tiers`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTierBody {
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", example = "gold")]
    slug: String,
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: String,
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    description: Option<String>,
    /// One line each, 1 to 140 characters.
    #[schema(max_items = 12)]
    benefits: Option<Vec<String>>,
    /// Default true.
    active: Option<bool>,
    /// Display order, smallest first (default 0).
    #[schema(value_type = Option<i32>, minimum = -1000000, maximum = 1000000)]
    position: Option<Whole<i32>>,
    #[schema(max_items = 20)]
    prices: Option<Vec<PriceBody>>,
}

/// Each benefit is one line of 1 to 140 characters: utoipa cannot say that
/// of a list's items in an attribute, so this writes it into the document.
pub struct BenefitLines;

impl utoipa::Modify for BenefitLines {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            RefOr,
            schema::{ArrayItems, ObjectBuilder, Schema, Type},
        };
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for body in ["CreateTierBody", "PatchTierBody"] {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(body) else {
                continue;
            };
            if let Some(RefOr::T(Schema::Array(list))) = object.properties.get_mut("benefits") {
                let line = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(tier::MAX_BENEFIT_CHARS))
                    .pattern(Some(
                        r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$",
                    ));
                list.items = ArrayItems::RefOrSchema(Box::new(RefOr::T(Schema::Object(line.build()))));
            }
        }
    }
}

/// The body of `PATCH /admin/api/tiers/{id}`: only the fields sent change.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchTierBody {
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: Option<String>,
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    description: Option<String>,
    /// One line each, 1 to 140 characters.
    #[schema(max_items = 12)]
    benefits: Option<Vec<String>>,
    active: Option<bool>,
    #[schema(value_type = Option<i32>, minimum = -1000000, maximum = 1000000)]
    position: Option<Whole<i32>>,
}

/// The body of `PATCH /admin/api/prices/{id}`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchPriceBody {
    /// Move the price to the tier with this slug.
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    tier: Option<String>,
    status: Option<PriceStatus>,
    /// `null` removes the trial.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 730)]
    trial_days: Option<Option<Whole<u32>>>,
}

/// Prices a tier may be created with in one request (each is a call to
/// Stripe).
const MAX_PRICES_AT_ONCE: usize = 20;

fn draft(body: CreateTierBody) -> Result<(TierDraft, Vec<NewPrice>), InvalidInput> {
    let draft = TierDraft {
        slug: tier::tier_slug(&body.slug)?,
        name: tier::tier_name(&body.name)?,
        description: tier::tier_description(body.description.as_deref().unwrap_or(""))?,
        benefits: tier::benefits(&body.benefits.unwrap_or_default())?,
        active: body.active.unwrap_or(true),
        position: tier::position(body.position.map_or(0, |p| p.0))?,
    };
    let prices = body
        .prices
        .unwrap_or_default()
        .into_iter()
        .map(NewPrice::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    if prices.len() > MAX_PRICES_AT_ONCE {
        return Err(InvalidInput::new(
            "prices",
            format!("a tier is created with at most {MAX_PRICES_AT_ONCE} prices; add more one by one"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if !prices.iter().all(|p| seen.insert(p.stripe_price_id.clone())) {
        return Err(InvalidInput::new("prices", "a price is listed twice"));
    }
    Ok((draft, prices))
}

fn tier_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "tier")
}

fn price_id(raw: &str) -> Result<StripePriceId, Problem> {
    StripePriceId::parse(raw).map_err(|_| Problem::not_found("That price is not in the catalogue."))
}

/// Every tier with its prices, in display order. Any staff member.
#[utoipa::path(get, path = "/admin/api/tiers",
    responses((status = 200, body = Vec<TierJson>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/tiers")]
async fn list_tiers(state: web::Data<AppState>, staff: ApiStaff) -> ApiResult<web::Json<Vec<TierJson>>> {
    let tiers = catalogue::list(&state, staff.actor).await?;
    Ok(web::Json(tiers.into_iter().map(TierJson::from).collect()))
}

/// Creates a tier, with its first Stripe prices (each read from Stripe: an
/// id the account does not have is refused). Admins only.
#[utoipa::path(post, path = "/admin/api/tiers", request_body = CreateTierBody,
    responses((status = 201, body = TierJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
#[post("/tiers")]
async fn create_tier(
    state: web::Data<AppState>,
    staff: ApiStaff,
    body: web::Json<CreateTierBody>,
) -> ApiResult<HttpResponse> {
    let (draft, prices) = draft(body.into_inner()).map_err(Problem::from)?;
    let tier = catalogue::create(&state, staff.actor, draft, prices).await?;
    Ok(HttpResponse::Created().json(TierJson::from(tier)))
}

#[utoipa::path(get, path = "/admin/api/tiers/{id}", params(("id" = i32, Path)),
    responses((status = 200, body = TierJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/tiers/{id}")]
async fn get_tier(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<TierJson>> {
    let tier = catalogue::get(&state, staff.actor, tier_id(&id)?).await?;
    Ok(web::Json(tier.into()))
}

/// Changes the fields sent. `active: false` takes a tier off sale: its
/// subscribers keep it. Admins only.
#[utoipa::path(patch, path = "/admin/api/tiers/{id}", params(("id" = i32, Path)), request_body = PatchTierBody,
    responses((status = 200, body = TierJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/tiers/{id}")]
async fn patch_tier(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<PatchTierBody>,
) -> ApiResult<web::Json<TierJson>> {
    let id = tier_id(&id)?;
    let body = body.into_inner();
    let tier = catalogue::update(&state, staff.actor, id, move |mut draft| {
        if let Some(slug) = &body.slug {
            draft.slug = tier::tier_slug(slug)?;
        }
        if let Some(name) = &body.name {
            draft.name = tier::tier_name(name)?;
        }
        if let Some(description) = &body.description {
            draft.description = tier::tier_description(description)?;
        }
        if let Some(list) = &body.benefits {
            draft.benefits = tier::benefits(list)?;
        }
        draft.active = body.active.unwrap_or(draft.active);
        if let Some(position) = body.position {
            draft.position = tier::position(position.0)?;
        }
        Ok(draft)
    })
    .await?;
    Ok(web::Json(tier.into()))
}

/// Deletes a tier nobody subscribes to and no article is gated to (409
/// otherwise: take it off sale instead). Admins only.
#[utoipa::path(delete, path = "/admin/api/tiers/{id}", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/tiers/{id}")]
async fn delete_tier(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    catalogue::delete(&state, staff.actor, tier_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds a Stripe price to a tier (read from Stripe). Admins only.
#[utoipa::path(post, path = "/admin/api/tiers/{id}/prices", params(("id" = i32, Path)), request_body = PriceBody,
    responses((status = 201, body = TierJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
#[post("/tiers/{id}/prices")]
async fn add_price(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<PriceBody>,
) -> ApiResult<HttpResponse> {
    let id = tier_id(&id)?;
    let price = NewPrice::try_from(body.into_inner()).map_err(Problem::from)?;
    let tier = catalogue::add_price(&state, staff.actor, id, price).await?;
    Ok(HttpResponse::Created().json(TierJson::from(tier)))
}

/// Moves a price to another tier, makes it legacy or puts it on sale again,
/// or changes its trial. Returns the tier it is in. Admins only.
#[utoipa::path(patch, path = "/admin/api/prices/{id}", params(("id" = String, Path, description = "The Stripe price id")), request_body = PatchPriceBody,
    responses((status = 200, body = TierJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/prices/{id}")]
async fn patch_price(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<PatchPriceBody>,
) -> ApiResult<web::Json<TierJson>> {
    let price = price_id(&id)?;
    let body = body.into_inner();
    let change = PriceChange {
        tier: body
            .tier
            .as_deref()
            .map(|slug| tier::tier_slug(slug).map_err(|e| InvalidInput::new("tier", e.message)))
            .transpose()
            .map_err(Problem::from)?,
        status: body.status,
        trial_days: body
            .trial_days
            .map(|days| days.map(|d| tier::trial_days(d.0)).transpose())
            .transpose()
            .map_err(Problem::from)?,
    };
    let tier = catalogue::change_price(&state, staff.actor, price, change).await?;
    Ok(web::Json(tier.into()))
}

/// Removes a price nobody subscribes on (409 otherwise: make it legacy).
/// Admins only.
#[utoipa::path(delete, path = "/admin/api/prices/{id}", params(("id" = String, Path, description = "The Stripe price id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/prices/{id}")]
async fn delete_price(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    catalogue::remove_price(&state, staff.actor, price_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
