//! Extractors that say who is asking, so a handler's signature states who
//! may call it: `CurrentReader` (anyone, maybe signed in) for the site and the
//! reader API (session cookie, or `Authorization: Bearer <session token>`);
//! `SignedIn` (a member; anyone else is sent to sign in first, or gets a 401
//! on JSON); `SiteStaff` (staff on the site's editor); `ApiStaff` for the
//! admin API (`Authorization: Bearer <API key>`).

use crate::domain::access;
use std::sync::Arc;

use actix_web::{FromRequest, HttpRequest, dev::Payload, error::InternalError, http::header, web};
use futures_util::future::LocalBoxFuture;

use crate::security::token;
use crate::{
    db::{self, api_keys, members, sessions, users::User},
    domain::{
        access::{Member, Reader},
        editorial::Actor,
    },
    state::AppState,
    web::error::{ApiError, Problem},
};

pub const SESSION_COOKIE: &str = "bs_session";

/// The person behind the request, as the access policy sees them.
pub struct CurrentReader {
    pub user: Option<User>,
    pub reader: Reader,
    /// The raw session token, to end the session on logout.
    pub session_token: Option<String>,
}

impl CurrentReader {
    /// Nobody signed in.
    pub fn anonymous() -> Self {
        Self {
            user: None,
            reader: Reader::Anonymous,
            session_token: None,
        }
    }

    pub fn email(&self) -> Option<String> {
        self.user.as_ref().map(|u| u.email.clone())
    }

    /// Who is reading, for `reading`.
    pub fn who(&self) -> crate::reading::Who<'_> {
        crate::reading::Who {
            reader: &self.reader,
            user_id: self.user.as_ref().map(|u| u.id),
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim().to_owned())
        .filter(|c| !c.is_empty())
}

fn state(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>()
        .expect("AppState is registered on the app")
        .clone()
}

impl FromRequest for CurrentReader {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        let session_token = req
            .cookie(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .or_else(|| bearer(&req));
        Box::pin(async move {
            let Some(session_token) = session_token else {
                return Ok(CurrentReader {
                    user: None,
                    reader: Reader::Anonymous,
                    session_token: None,
                });
            };
            let state = state(&req);
            let token_hash = token::hash(&session_token);
            let load = db::run(&state.pool, {
                let token_hash = token_hash.clone();
                move |conn| {
                    let Some((_, user)) = sessions::find_live(conn, &token_hash, db::now())? else {
                        return Ok(None);
                    };
                    let member = members::load_member(conn, &user)?;
                    Ok(Some(Arc::new((user, member))))
                }
            });
            let found = state
                .read_cache
                .session(&token_hash, load)
                .await
                .map_err(|e| Problem::internal(e).for_request(&req))?;
            Ok(match found.as_deref() {
                Some((user, member)) => CurrentReader {
                    user: Some(user.clone()),
                    reader: Reader::Member(member.clone()),
                    session_token: Some(session_token),
                },
                // An expired or unknown token is simply a visitor.
                None => CurrentReader {
                    user: None,
                    reader: Reader::Anonymous,
                    session_token: None,
                },
            })
        })
    }
}

/// A staff member (author, editor or admin), identified by an API key.
/// What they may do to which article is the service's to decide.
pub struct ApiStaff {
    pub user: User,
    pub actor: Actor,
    /// Staff read every body in full: the proof the body chooser wants.
    pub proof: access::FullBody,
}

impl FromRequest for ApiStaff {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = bearer(req);
        let state = state(req);
        Box::pin(async move {
            let key = key.ok_or_else(|| {
                Problem::unauthorized("Send your API key as `Authorization: Bearer <key>`.")
            })?;
            // Looking up the key's SHA-256 compares hashes, never the secret,
            // so response time says nothing about how much of a guess was right.
            let key_hash = token::hash(&key);
            let user = db::run(&state.pool, move |conn| {
                Ok(api_keys::owner_of_live_key(conn, &key_hash, db::now())?)
            })
            .await?
            .ok_or_else(|| Problem::unauthorized("That API key is not valid or has been revoked."))?;
            let role = user.role();
            let proof = access::staff_view(role).filter(|_| role.can_use_admin_api());
            let Some(proof) = proof else {
                return Err(
                    Problem::forbidden("This key belongs to a reader; the admin API is for staff.").into(),
                );
            };
            Ok(ApiStaff {
                actor: Actor {
                    user_id: user.id,
                    role,
                },
                user,
                proof,
            })
        })
    }
}

/// Where a visitor who is not signed in is sent before a `SignedIn` page,
/// and where they come back to afterwards.
pub trait SignInFirst {
    /// The page to come back to.
    const THEN: &'static str;
    /// Where to sign in: the login page, or the signup page for those who
    /// are likely new (subscribing).
    const VIA: &'static str = "/login";
}

/// Back to the account page (most account actions are forms on it).
pub struct ThenAccount;
impl SignInFirst for ThenAccount {
    const THEN: &'static str = "/account";
}

/// Back to the page that deletes the account.
pub struct ThenDeleteAccount;
impl SignInFirst for ThenDeleteAccount {
    const THEN: &'static str = "/account/delete";
}

/// Subscribing: sign up first (most are new), then back to the plans.
pub struct ThenSubscribe;
impl SignInFirst for ThenSubscribe {
    const THEN: &'static str = "/subscribe";
    const VIA: &'static str = "/signup";
}

/// A member signed in. Anyone else is sent to `Then::VIA?next=Then::THEN`
/// (a page), or answered 401 (the JSON API).
pub struct SignedIn<Then: SignInFirst = ThenAccount> {
    pub user: User,
    pub member: Member,
    /// The whole request's reader, for page layouts.
    pub reader: CurrentReader,
    pub then: std::marker::PhantomData<Then>,
}

impl<Then: SignInFirst + 'static> FromRequest for SignedIn<Then> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let reader = CurrentReader::from_request(req, payload);
        let wants_json = crate::web::error::wants_json(req.path());
        // Back to the page asked for with its query (the subscribe page's
        // `?trail=` and `?currency=`), when it is the page `Then` names.
        let then = match req.query_string() {
            query if req.path() == Then::THEN && !query.is_empty() => {
                crate::web::pages::via(Then::VIA, &format!("{}?{query}", Then::THEN))
            }
            _ => format!("{}?next={}", Then::VIA, Then::THEN),
        };
        Box::pin(async move {
            let reader = reader.await?;
            if let (Some(user), Reader::Member(member)) = (&reader.user, &reader.reader) {
                return Ok(SignedIn {
                    user: user.clone(),
                    member: member.clone(),
                    reader,
                    then: std::marker::PhantomData,
                });
            }
            let refusal = if wants_json {
                Problem::unauthorized(
                    "Sign in first: send your session cookie or `Authorization: Bearer <session token>`.",
                )
                .to_json_response()
            } else {
                crate::web::pages::redirect(&then)
            };
            Err(InternalError::from_response("not signed in", refusal).into())
        })
    }
}

/// A staff member signed in on the site. Anyone else is sent to log in
/// (anonymous) or shown a 403 page (readers).
pub struct SiteStaff {
    pub reader: CurrentReader,
    pub actor: Actor,
    /// Staff read every body in full: the proof the body chooser wants.
    pub proof: access::FullBody,
}

impl FromRequest for SiteStaff {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let reader = CurrentReader::from_request(req, payload);
        Box::pin(async move {
            let reader = reader.await?;
            let refusal = match &reader.user {
                Some(user) if let Some(proof) = access::staff_view(user.role()) => {
                    let actor = Actor {
                        user_id: user.id,
                        role: user.role(),
                    };
                    return Ok(SiteStaff { reader, actor, proof });
                }
                Some(_) => {
                    Problem::forbidden("The editor is for the publication's staff.").to_page_response()
                }
                None => crate::web::pages::redirect("/login?next=/admin"),
            };
            Err(InternalError::from_response("not staff", refusal).into())
        })
    }
}
