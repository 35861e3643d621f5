//! A stand-in for a shop's own API, for benchmarks of `fetch` nodes: every `GET` (whatever
//! its path: the flow decides what it asks for) answers `{"status":"shipped"}` after a fixed
//! delay, on Tokio's timer (no thread per request, so the delay is the API's and not the
//! stand-in's own queueing). Headers and body go out in one write.

use std::time::Duration;

use poem::listener::TcpListener;
use poem::web::{Data, Path};
use poem::{get, handler, EndpointExt, Response, Route, Server};

const ANSWER: &str = r#"{"status":"shipped"}"#;

#[handler]
async fn answer(Path(_path): Path<String>, delay: Data<&Duration>) -> Response {
    tokio::time::sleep(*delay.0).await;
    Response::builder()
        .content_type("application/json")
        .body(ANSWER)
}

/// Serves the stand-in on `bind` until the process ends.
pub async fn serve(bind: &str, delay: Duration) -> std::io::Result<()> {
    let app = Route::new().at("/*path", get(answer)).data(delay);
    Server::new(TcpListener::bind(bind.to_owned()))
        .run(app)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::StatusCode;
    use poem::{Endpoint, Request};

    #[tokio::test]
    async fn a_get_is_answered_after_the_delay_and_a_post_is_refused() {
        let app = Route::new()
            .at("/*path", get(answer))
            .data(Duration::from_millis(20));
        let started = std::time::Instant::now();
        let response = app
            .get_response(Request::builder().uri_str("/items/12345").finish())
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(response.into_body().into_string().await.unwrap(), ANSWER);
        let post = app
            .get_response(
                Request::builder()
                    .method(poem::http::Method::POST)
                    .uri_str("/items/1")
                    .finish(),
            )
            .await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
