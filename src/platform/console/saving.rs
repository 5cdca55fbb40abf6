//! What the console's saving pages share: running the vault's work off
//! the async workers, and turning a refused save into the errors shown
//! beside the fields (or a page, when it is not about the fields).

use axum::http::StatusCode;
use axum::response::Response;

use super::layout::{self, Place, segment};
use crate::platform::credentials::{FieldError, SaveError, edit};
use crate::platform::org::Org;

/// Run `f` off the async workers: opening a key store may take a second
/// of key derivation, and a vault write waits for the disk.
pub async fn off_the_workers<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SaveError> + Send + 'static,
) -> Result<T, SaveError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or(Err(SaveError::Unreadable))
}

/// The field errors of a refused save, or the page to show instead.
#[allow(clippy::result_large_err)]
pub fn as_field_errors(e: SaveError, name: &str) -> Result<Vec<FieldError>, Response> {
    edit::explain(e, name).map_err(|e| {
        let (status, sentence) = match e {
            SaveError::NotFound => (
                StatusCode::NOT_FOUND,
                "This credential no longer exists: it was deleted meanwhile.",
            ),
            SaveError::Storage(e) => {
                tracing::error!(error = %e, "vault write failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The vault could not be written. Nothing was saved; try again in a moment.",
                )
            }
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The credential could not be processed. Nothing was saved.",
            ),
        };
        layout::page(
            status,
            "Not saved",
            Place::UnderOrganisations,
            &format!("<p>{}</p>", layout::text(sentence)),
        )
    })
}

/// A form that could not be read at all.
pub fn unreadable(org: &Org, problem: &str) -> Response {
    let base = format!("/console/orgs/{}", segment(org.id.as_str()));
    layout::page(
        StatusCode::BAD_REQUEST,
        "Not saved",
        Place::UnderOrg(org.id.as_str()),
        &format!(
            "<p>{}. Nothing was saved.</p><p><a href=\"{}/new\">Add credential</a></p>",
            layout::text(problem),
            layout::attr(&base)
        ),
    )
}
