//! Demo content for a first run on an empty embedded database: an editor and
//! three articles, one of each visibility, so a newcomer sees the paywall at
//! work straight away.

use anyhow::Context;

use crate::{
    accounts,
    db::{self, users},
    domain::{
        article::{ArticleMarkdown, ArticleTitle, Visibility},
        editorial::Actor,
        email::EmailAddress,
        password::Password,
        role::Role,
    },
    publishing::{self, ArticleDraft},
    security::token,
    state::AppState,
};

pub const DEMO_EDITOR_EMAIL: &str = "editor@broadsheet.local";

/// The demo editor's credentials, printed once at first start.
pub struct DemoEditor {
    pub email: String,
    pub password: String,
}

const ARTICLES: &[(&str, Visibility, &str)] = &[
    (
        "Welcome to Broadsheet",
        Visibility::Public,
        "Broadsheet is a newsletter you run yourself: one small binary, your own database, your readers' email.\n\n\
         This post is **public**: anyone can read all of it, logged in or not.\n\n\
         Members-only posts need a free account; paid posts need a subscription. Try them below.",
    ),
    (
        "Notes for members: how we pick our stories",
        Visibility::Members,
        "Every Monday the three of us bring one story we cannot stop thinking about.\n\n\
         We argue for an hour, then keep the one that still matters in a year.\n\n\
         This post is for **members**: sign up for free and you can read the rest.",
    ),
    (
        "The long read: what the river remembers",
        Visibility::Paid,
        "In the spring of 1953 the river rose nine metres in a night, and the town of Vell learned what its grandparents had known.\n\n\
         What follows is the story of the people who rebuilt it, told by the ones who are left.\n\n\
         <!-- paywall -->\n\n\
         The first to return was the baker, Ines Mora, who lit her oven on the fourth day because, she said, a town that smells of bread is a town that intends to stay.\n\n\
         This part of the article is for **paying subscribers** only.",
    ),
];

/// Seeds the demo when the database has no users yet; returns the editor's
/// credentials when it did.
pub async fn seed_if_empty(state: &AppState) -> anyhow::Result<Option<DemoEditor>> {
    let users = db::run(&state.pool, |conn| Ok(users::count(conn)?)).await?;
    if users > 0 {
        return Ok(None);
    }
    let password = token::generate("")[..20].to_owned();
    let email = EmailAddress::parse(DEMO_EDITOR_EMAIL)?;
    let editor = accounts::create_staff(
        state,
        email.clone(),
        Some("Demo Editor".into()),
        Role::Editor,
        Password::choose(password.clone(), Some(&email))?,
        accounts::Promotion::default(),
    )
    .await?;
    let accounts::StaffOutcome::Created(editor) = editor else {
        anyhow::bail!("the demo editor's address already had an account");
    };
    for (title, visibility, markdown) in ARTICLES {
        let draft = ArticleDraft {
            publish: true,
            ..ArticleDraft::new(
                ArticleTitle::parse(title)?,
                ArticleMarkdown::parse((*markdown).to_owned())?,
                *visibility,
            )
        };
        publishing::create_article(
            state,
            Actor {
                user_id: editor.id,
                role: Role::Editor,
            },
            draft,
        )
        .await
        .with_context(|| format!("creating the demo article {title:?}"))?;
    }
    tracing::info!("seeded demo content");
    Ok(Some(DemoEditor {
        email: DEMO_EDITOR_EMAIL.into(),
        password,
    }))
}
