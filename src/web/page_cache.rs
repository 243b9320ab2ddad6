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

use std::{any::Any, fmt::Debug, sync::Arc};

use actix_web::{HttpRequest, HttpResponse, http::StatusCode};

use crate::{
    cache::RenderedPage,
    state::AppState,
    web::{extract::CurrentReader, pages},
};

/// Everything an anonymous reader's page is rendered from.
pub struct PageKey {
    key: String,
    inputs: Vec<Arc<dyn Any + Send + Sync>>,
}

impl PageKey {
    /// For a reader the page says nothing about: signed out, with no
    /// one-time message waiting. `None` for anyone else.
    fn anonymous(req: &HttpRequest, reader: &CurrentReader, state: &AppState) -> Option<Self> {
        if reader.user.is_some() || req.cookie(pages::FLASH_COOKIE).is_some() {
            return None;
        }
        let asked = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let trail = pages::arrival(req, &state.config).encode();
        Some(Self {
            key: format!("{asked}\u{1f}{trail}"),
            inputs: Vec::new(),
        })
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

/// The page for this reader: for an anonymous one, the page cached under
/// the key `pin` completes (with what was decided and the loads it is
/// rendered from; the settings are added here), rendered by `render` when
/// no stranger has asked for it within the cache's lifetime; for anyone
/// else, `render`'s page of their own.
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
    let Some(key) = PageKey::anonymous(req, reader, state) else {
        return Ok(pages::html_page(req, StatusCode::OK, render().await?));
    };
    let site = pages::publication(req, state).await;
    let PageKey { key, inputs } = pin(key).from(&site);
    let page = state
        .read_cache
        .page(&key, async move {
            let html = render().await?;
            Ok(RenderedPage::new(html.into(), inputs))
        })
        .await?;
    Ok(pages::html_page(req, StatusCode::OK, page.html))
}
