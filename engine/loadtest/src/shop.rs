//! A stand-in for a shop's own order API, for benchmarks of `fetch` nodes: `GET /orders/<n>`
//! answers `{"status":"shipped"}` after a fixed delay, on Tokio's timer (no thread per
//! request, so the delay is the API's and not the stand-in's own queueing). Headers and body
//! go out in one write.

use std::time::Duration;

use poem::listener::TcpListener;
use poem::web::{Data, Path};
use poem::{get, handler, EndpointExt, Response, Route, Server};

const ANSWER: &str = r#"{"status":"shipped"}"#;

#[handler]
async fn order(Path(_number): Path<String>, delay: Data<&Duration>) -> Response {
    tokio::time::sleep(*delay.0).await;
    Response::builder()
        .content_type("application/json")
        .body(ANSWER)
}

/// Serves the stand-in on `bind` until the process ends.
pub async fn serve(bind: &str, delay: Duration) -> std::io::Result<()> {
    let app = Route::new().at("/orders/:number", get(order)).data(delay);
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
    async fn an_order_is_shipped_after_the_delay_and_other_paths_are_not_found() {
        let app = Route::new()
            .at("/orders/:number", get(order))
            .data(Duration::from_millis(20));
        let started = std::time::Instant::now();
        let response = app
            .get_response(Request::builder().uri_str("/orders/12345").finish())
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(response.into_body().into_string().await.unwrap(), ANSWER);
        let other = app
            .get_response(Request::builder().uri_str("/other").finish())
            .await;
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
    }
}
