//! Welcome emails, in the words the admin wrote in the settings: the free
//! one when a member first confirms their address, the paid one on their
//! first paid subscription. Each goes to a member at most once (recorded in
//! `member_events`), through the outbox like every transactional email.

use crate::{
    config::Config,
    db::{self, DbConnection, member_events},
    domain::{member::MemberEventKind, settings::WelcomeEmail},
    mail::compose::Transactional,
    newsletter,
    state::AppState,
};

/// Which welcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Welcome {
    Free,
    Paid,
}

impl Welcome {
    fn name(self) -> &'static str {
        match self {
            Welcome::Free => "free",
            Welcome::Paid => "paid",
        }
    }

    /// From the settings form's `which` (`welcome_free`, `welcome_paid`).
    pub fn parse(field: &str) -> Option<Self> {
        match field {
            "welcome_free" => Some(Welcome::Free),
            "welcome_paid" => Some(Welcome::Paid),
            _ => None,
        }
    }
}

fn message(config: &Config, title: &str, words: &WelcomeEmail, which: Welcome, test: bool) -> Transactional {
    Transactional::Welcome {
        paid: which == Welcome::Paid,
        test,
        subject: words.subject_for(title),
        markdown: words.markdown_for(title),
        url: config.url_for("/"),
        account_url: config.url_for("/account"),
    }
}

/// Queues `which` welcome to the member unless it is switched off or they
/// had it already (call inside the transaction that makes them eligible).
/// Returns whether it was queued.
pub fn queue_once(
    conn: &mut DbConnection,
    config: &Config,
    user_id: i32,
    email: &str,
    which: Welcome,
) -> anyhow::Result<bool> {
    let settings = crate::publication::stored(conn, config)?;
    let words = match which {
        Welcome::Free => &settings.welcome_free,
        Welcome::Paid => &settings.welcome_paid,
    };
    if !words.enabled || member_events::exists(conn, user_id, MemberEventKind::WelcomeSent, which.name())? {
        return Ok(false);
    }
    newsletter::enqueue(
        conn,
        config,
        email,
        &message(config, &settings.title, words, which, false),
    )?;
    member_events::record(
        conn,
        user_id,
        MemberEventKind::WelcomeSent,
        which.name(),
        None,
        db::now(),
    )?;
    Ok(true)
}

/// Sends the saved `which` welcome to `to` (an admin trying it), marked as
/// a test, whether or not it is switched on; nothing is recorded.
pub async fn send_test(state: &AppState, to: String, which: Welcome) -> anyhow::Result<()> {
    let config = state.config.clone();
    db::run(&state.pool, move |conn| {
        let settings = crate::publication::stored(conn, &config)?;
        let words = match which {
            Welcome::Free => &settings.welcome_free,
            Welcome::Paid => &settings.welcome_paid,
        };
        newsletter::enqueue(
            conn,
            &config,
            &to,
            &message(&config, &settings.title, words, which, true),
        )
    })
    .await?;
    state.mail_wakeup.ring();
    Ok(())
}
