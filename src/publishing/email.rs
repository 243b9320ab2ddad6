//! A post's email beyond publishing: sending an already-published post by
//! email (once), and test sends of the exact copy a segment would get.

use crate::{
    db::{self, articles},
    domain::{InvalidInput, article::EmailSegment, editorial::Actor, email::EmailAddress},
    mail::SendFailure,
    newsletter::{
        self,
        copy::{Copies, Recipient, sample_reader},
    },
    state::AppState,
};

use super::{ArticleChanges, ArticleStatus, PublishingError, in_transaction, reload, visible};
use crate::db::articles::Article;

/// Emails a published post that was not emailed, now, to `segment` (or the
/// segment it names): once, as publishing would have. Editors only.
#[tracing::instrument(skip_all, fields(article_id = id, actor_id = actor.user_id))]
pub async fn email_article(
    state: &AppState,
    actor: Actor,
    id: i32,
    segment: Option<EmailSegment>,
) -> Result<Article, PublishingError> {
    if !actor.role.can_publish() {
        return Err(PublishingError::Forbidden(
            "Only editors and admins send posts by email.",
        ));
    }
    let policy = state.policy;
    let article = in_transaction(state, move |conn| {
        let article = visible(conn, actor, id)?;
        let now = db::now();
        if !(article.status() == ArticleStatus::Published && article.is_out(now)) {
            return Err(PublishingError::Conflict {
                field: "status",
                message: "The article is not published yet; publishing it sends its email.".into(),
            });
        }
        if let Some(send) = db::sends::find_by_article(conn, id)? {
            return Err(PublishingError::Conflict {
                field: "send_id",
                message: format!("The article was already emailed (send {}).", send.id),
            });
        }
        let segment = segment.unwrap_or(article.email_segment());
        crate::domain::article::check_page_email(article.kind(), segment)?;
        if segment == EmailSegment::None {
            return Err(
                InvalidInput::new("email", "say who gets it: email must be all, paid or free").into(),
            );
        }
        let changes = ArticleChanges {
            email: Some(segment.as_str()),
            email_at: Some(Some(now)),
            updated_at: Some(now),
            ..Default::default()
        };
        articles::update(conn, id, None, &changes)?;
        articles::record_event(conn, id, "emailed", Some(actor.user_id))?;
        let article = reload(conn, id)?;
        newsletter::fan_out(conn, &article, &policy)?;
        Ok(article)
    })
    .await?;
    state.mail_wakeup.ring();
    Ok(article)
}

/// The most addresses one test send goes to.
pub const MAX_TEST_RECIPIENTS: usize = 5;

/// A test send: to whom (staff addresses), as whom.
#[derive(Debug)]
pub struct TestEmail {
    pub to: Vec<EmailAddress>,
    /// The copy a paying subscriber gets; otherwise a free member's.
    pub as_paid: bool,
}

/// Sends `test` now, straight to the mail server: the copy the segment
/// would get, marked as a test, outside the sends ledger (no delivery row,
/// nothing counted). Only to staff addresses, so it cannot be used to mail
/// strangers. Returns the addresses it went to.
#[tracing::instrument(skip_all, fields(article_id = id, actor_id = actor.user_id))]
pub async fn send_test_email(
    state: &AppState,
    actor: Actor,
    id: i32,
    test: TestEmail,
) -> Result<Vec<String>, PublishingError> {
    if test.to.is_empty() || test.to.len() > MAX_TEST_RECIPIENTS {
        return Err(InvalidInput::new(
            "to",
            format!("a test goes to 1 to {MAX_TEST_RECIPIENTS} addresses"),
        )
        .into());
    }
    let addresses = test.to;
    let (article, through, staff) = in_transaction(state, move |conn| {
        let article = visible(conn, actor, id)?;
        let through = newsletter::newsletter_of(conn, &article)?.ok_or_else(|| {
            InvalidInput::new("newsletter_id", "no newsletter is running to send it through")
        })?;
        let mut staff = Vec::with_capacity(addresses.len());
        for address in &addresses {
            match db::users::find_by_email(conn, address)? {
                Some(user) if user.role.is_staff() => {
                    if !staff.iter().any(|(id, _)| *id == user.id) {
                        staff.push((user.id, user.email));
                    }
                }
                _ => {
                    return Err(InvalidInput::new(
                        "to",
                        format!("tests go only to the staff's addresses, and {address} is not one"),
                    )
                    .into());
                }
            }
        }
        Ok((article, through, staff))
    })
    .await?;
    let site = crate::publication::current(state).await;
    let reader = sample_reader(test.as_paid);
    let mut copies = Copies::new(&state.config, &state.signing_key, &state.policy, &site);
    copies.test_of = Some(if test.as_paid {
        "paid subscribers"
    } else {
        "free members"
    });
    let mut sent = Vec::with_capacity(staff.len());
    for (user_id, email) in staff {
        let recipient = Recipient {
            user_id,
            delivery_id: None,
            email: &email,
            reader: &reader,
        };
        let message_id = format!(
            "<test-{}.{}.{}@{}>",
            article.row.id,
            user_id,
            db::now().assume_utc().unix_timestamp_nanos(),
            state.config.public_host()
        );
        let message = copies.message(&article, &through, &recipient, message_id)?;
        state.mailer.send(message).await.map_err(|failure| {
            let (SendFailure::Transient(e)
            | SendFailure::Throttled(e)
            | SendFailure::Permanent(e)
            | SendFailure::RecipientRejected(e)) = failure;
            PublishingError::MailServer(format!("The mail server did not take the test for {email}: {e}"))
        })?;
        tracing::info!(article_id = id, to_user = user_id, "test email sent");
        sent.push(email);
    }
    Ok(sent)
}
