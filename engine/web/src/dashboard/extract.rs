//! What every dashboard handler starts with, as poem extractors: the dashboard itself
//! ([`Board`]), a signed-in user ([`SignedIn`]), a CSRF-checked form of a signed-in user
//! ([`SignedForm`]). A handler that cannot get one is never called: the extractor's
//! [`PageError`] answers instead (the login redirect or the error page).

use std::sync::Arc;

use poem::{FromRequest, Request, RequestBody};
use serde::de::DeserializeOwned;

use super::{check_csrf, Dashboard, PageError, Text, MAX_FORM_BYTES};
use crate::AppState;
use liza_store::admin::SessionUser;

/// The dashboard, for pages that need no session (the login page).
pub struct Board<'a>(pub &'a Dashboard);

impl<'a> FromRequest<'a> for Board<'a> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(dashboard(req)?))
    }
}

fn dashboard(req: &Request) -> Result<&Dashboard, PageError> {
    req.data::<Arc<AppState>>()
        .and_then(|state| state.dashboard.as_deref())
        .ok_or(PageError::Unavailable)
}

/// A request of a signed-in user (session cookie); without one, the login page.
pub struct SignedIn<'a> {
    pub d: &'a Dashboard,
    pub user: SessionUser,
}

impl<'a> FromRequest<'a> for SignedIn<'a> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let d = dashboard(req)?;
        let user = d.signed_in(req).await?;
        super::i18n::remember_user(&user);
        Ok(Self { d, user })
    }
}

/// A form a signed-in user sent, its `csrf` field checked against the session's token,
/// its fields read into `T` (the `csrf` field itself is left out of `T`).
pub struct SignedForm<'a, T> {
    pub d: &'a Dashboard,
    pub user: SessionUser,
    pub form: T,
}

impl<'a, T: DeserializeOwned> FromRequest<'a> for SignedForm<'a, T> {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let SignedIn { d, user } = SignedIn::from_request(req, body).await?;
        let bytes = read_body(body).await?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        check_csrf(&pairs, &user.csrf_token)?;
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| PageError::BadRequest(Text::new("error-form-incomplete")))?;
        Ok(Self { d, user, form })
    }
}

/// A form a signed-in user sent, CSRF-checked, as its name/value pairs (for forms with a
/// repeated field, such as the ids of the calls ticked in a list).
pub struct SignedPairs<'a> {
    pub d: &'a Dashboard,
    pub user: SessionUser,
    pub pairs: Vec<(String, String)>,
}

impl<'a> FromRequest<'a> for SignedPairs<'a> {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let SignedIn { d, user } = SignedIn::from_request(req, body).await?;
        let bytes = read_body(body).await?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        check_csrf(&pairs, &user.csrf_token)?;
        Ok(Self { d, user, pairs })
    }
}

/// The form body, refused when larger than [`MAX_FORM_BYTES`].
pub(super) async fn read_body(body: &mut RequestBody) -> Result<Vec<u8>, PageError> {
    let body = body
        .take()
        .map_err(|_| PageError::BadRequest(Text::new("error-form-incomplete")))?;
    body.into_bytes_limit(MAX_FORM_BYTES)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| PageError::BadRequest(Text::new("error-form-too-large")))
}

/// An id in a path: anything but a number is a page that does not exist.
pub fn id(text: &str) -> Result<i64, PageError> {
    text.parse().map_err(|_| PageError::NotFound)
}
