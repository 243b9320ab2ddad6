//! `/account/data.json` and `/account/delete`: a member's copy of their data,
//! and closing their account.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, http::header, post, web};
use serde::Deserialize;

use crate::web::{
    error::{PageResult, Problem},
    pages,
};
use crate::{
    accounts::data_rights::{self, DeleteError},
    domain::email::EmailAddress,
    state::AppState,
    web::{
        csrf::CsrfForm,
        extract::{CurrentReader, SignedIn, ThenDeleteAccount},
        views::DeleteAccountPage,
    },
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(download).service(delete_form).service(delete);
}

/// Everything we hold about the member, as a JSON file.
#[get("/account/data.json")]
async fn download(
    state: web::Data<AppState>,
    SignedIn { user, reader: _, .. }: SignedIn,
) -> PageResult<HttpResponse> {
    let data = data_rights::download(&state, &user).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"broadsheet-my-data.json\"",
        ))
        .json(data))
}

#[get("/account/delete")]
async fn delete_form(
    req: HttpRequest,
    SignedIn { reader, .. }: SignedIn<ThenDeleteAccount>,
) -> PageResult<HttpResponse> {
    render_form(&req, &reader, StatusCode::OK, None).await
}

async fn render_form(
    req: &HttpRequest,
    reader: &CurrentReader,
    status: StatusCode,
    error: Option<String>,
) -> PageResult<HttpResponse> {
    let page = DeleteAccountPage {
        layout: pages::layout(req, reader).await,
        error,
    };
    Ok(pages::render(req, status, &page)?)
}

#[derive(Deserialize)]
struct DeleteForm {
    /// The member types their email address to confirm.
    #[serde(default)]
    confirm_email: String,
}

#[post("/account/delete")]
async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    SignedIn { user, reader, .. }: SignedIn<ThenDeleteAccount>,
    form: CsrfForm<DeleteForm>,
) -> PageResult<HttpResponse> {
    let typed = EmailAddress::parse(&form.0.confirm_email).ok();
    if typed.as_ref().map(EmailAddress::as_str) != Some(user.email.as_str()) {
        let error = "Type the email address of this account to confirm.".to_owned();
        return render_form(&req, &reader, StatusCode::UNPROCESSABLE_ENTITY, Some(error)).await;
    }
    match data_rights::delete_account(&state, &user).await {
        Ok(()) => {
            let mut response = pages::redirect_with_flash(
                "/",
                "Your account is deleted. Any subscription runs to the end of the period you paid for and does not renew.",
            );
            response.add_cookie(&pages::session_cookie_removal())?;
            Ok(response)
        }
        Err(DeleteError::Internal(e)) => Err(Problem::internal(e).into()),
        Err(refused @ DeleteError::Billing(_)) => {
            tracing::warn!(error = ?refused, user_id = user.id, "account deletion stopped at Stripe");
            render_form(
                &req,
                &reader,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(pages::as_sentence(&refused.to_string())),
            )
            .await
        }
        Err(refused @ DeleteError::Staff) => {
            render_form(
                &req,
                &reader,
                StatusCode::FORBIDDEN,
                Some(pages::as_sentence(&refused.to_string())),
            )
            .await
        }
    }
}
