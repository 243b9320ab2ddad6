//! Pages rendered once for every anonymous reader who would see the same
//! thing: most readers of a post are signed out and arrive the same way, and
//! rendering the layout, the sharing head and the call to action for each of
//! them was most of a page view's work.
//!
//! What makes this safe: the access decision is still made per request and
//! is part of the key (so is every input of an anonymous page: the address
//! asked for with its query, the attribution trail, the loaded article and
//! settings), and only pages that carry nothing of the reader are cached —
//! no session, no one-time message. A page is reused only while the read
//! cache hands out the very loads it was rendered from (`RenderedPage` holds
//! them), so it is never staler than those reads; every write on this
//! instance empties it with the rest of the read cache.
//!
//! One thing is shared that was per request: the subscribe form's "shown"
//! stamp (the fill-time check against bots) can be up to the cache's
//! lifetime (`BROADSHEET_READ_CACHE_MS`, one second) older than the view.
//!
//! Signed-in readers share pages too, where the page says so
//! (`PageKey::for_members_too`, with what it shows differently to
//! different members): everything the layout shows of the reader goes into
//! the key (`ReaderFlags`) except their email and form token, which are
//! rendered as stand-ins (`SharedRender`) and put in per response. A post
//! that many subscribers open at once is rendered once a second per access
//! decision, not once per reader. The stand-ins are random per process, so
//! no post can carry one to collect a reader's token.

use std::{any::Any, fmt::Debug, sync::Arc};

use actix_web::{HttpMessage, HttpRequest, HttpResponse, http::StatusCode};
use anyhow::Context;

use crate::{
    cache::RenderedPage,
    security::token,
    state::AppState,
    web::{
        csrf,
        extract::CurrentReader,
        pages::{self, ReaderFlags, SharedRender},
    },
};

/// Everything a shared page is rendered from.
pub struct PageKey {
    key: String,
    inputs: Vec<Arc<dyn Any + Send + Sync>>,
    /// Whether signed-in readers may share this page (see the module doc).
    members_too: bool,
}

impl PageKey {
    /// For a reader with no one-time message waiting (a message is shown
    /// once, to them): the address asked for with its attribution trail,
    /// and for a signed-in reader what the layout shows differently to
    /// them. `None` for a reader with a message waiting.
    fn for_request(req: &HttpRequest, reader: &CurrentReader, state: &AppState) -> Option<Self> {
        if req.cookie(pages::FLASH_COOKIE).is_some() {
            return None;
        }
        let asked = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let trail = pages::arrival(req, &state.config).encode();
        let mut key = format!("{asked}\u{1f}{trail}");
        if reader.user.is_some() {
            key.push_str(&format!("\u{1f}member {:?}", ReaderFlags::of(req, reader)));
        }
        Some(Self {
            key,
            inputs: Vec::new(),
            members_too: false,
        })
    }

    /// Lets signed-in readers share the page, with what the page (beyond
    /// the layout and the decisions already in the key) shows differently
    /// to different members.
    pub fn for_members_too(mut self, differs_by: impl Debug) -> Self {
        self.members_too = true;
        self.showing(differs_by)
    }

    /// What was decided for this reader (an access decision): pages that
    /// show different things are different pages.
    pub fn showing(mut self, decided: impl Debug) -> Self {
        self.key.push_str(&format!("\u{1f}{decided:?}"));
        self
    }

    /// A load from the read cache the page is rendered from, by address.
    pub fn from<T: Send + Sync + 'static>(mut self, loaded: &Arc<T>) -> Self {
        self.key.push_str(&format!("\u{1f}{:p}", Arc::as_ptr(loaded)));
        self.inputs.push(loaded.clone());
        self
    }
}

/// The page for this reader: the page cached under the key `pin`
/// completes (with what was decided and the loads it is rendered from; the
/// settings are added here), rendered by `render` when nobody with the same
/// key has asked for it within the cache's lifetime — for a signed-in
/// reader only where `pin` allows it (`for_members_too`), with their own
/// email and form token put in; for anyone else, `render`'s page of their
/// own.
pub async fn respond<F, Fut>(
    req: &HttpRequest,
    reader: &CurrentReader,
    state: &AppState,
    pin: impl FnOnce(PageKey) -> PageKey,
    render: F,
) -> anyhow::Result<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<String>>,
{
    let Some(key) = PageKey::for_request(req, reader, state) else {
        return Ok(pages::html_page(req, StatusCode::OK, render().await?));
    };
    let site = pages::publication(req, state).await;
    let PageKey {
        key,
        inputs,
        members_too,
    } = pin(key).from(&site);
    let signed_in = reader.user.as_ref();
    if signed_in.is_some() && !members_too {
        return Ok(pages::html_page(req, StatusCode::OK, render().await?));
    }
    if signed_in.is_some() {
        req.extensions_mut().insert(stand_ins().clone());
    }
    let page = state
        .read_cache
        .page(&key, async move {
            let html = render().await?;
            Ok(RenderedPage::new(html.into(), inputs))
        })
        .await?;
    match signed_in {
        None => Ok(pages::html_page(req, StatusCode::OK, page.html)),
        Some(user) => {
            let stand_ins = stand_ins();
            let shared = std::str::from_utf8(&page.html).context("a rendered page is UTF-8")?;
            let own = shared
                .replace(stand_ins.csrf_token, &csrf::token_for(req))
                .replace(stand_ins.email, &html_escape::encode_safe(&user.email));
            Ok(pages::html_page(req, StatusCode::OK, own))
        }
    }
}

/// This process's stand-ins for a reader's email and form token: random,
/// so that nothing a writer puts in a post can be one.
fn stand_ins() -> &'static SharedRender {
    static STAND_INS: std::sync::OnceLock<SharedRender> = std::sync::OnceLock::new();
    STAND_INS.get_or_init(|| SharedRender {
        csrf_token: Box::leak(token::generate("csrf").into_boxed_str()),
        email: Box::leak(token::generate("email").into_boxed_str()),
    })
}
