//! The ceiling: a bare poem server answering every webhook with a fixed TwiML document,
//! without parsing, validating or storing anything. Liza's throughput is reported as a
//! fraction of this one's, measured the same way on the same machine.

use poem::listener::TcpListener;
use poem::web::Path;
use poem::{handler, post, Body, Response, Route, Server};

const GATHER: &str = r##"<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf" finishOnKey="#" timeout="10" action="/webhook/order?seq=1" method="POST"><Say voice="Polly.Vicki" language="de-DE">Bitte nennen Sie Ihre Bestellnummer.</Say></Gather><Redirect method="POST">/webhook/order?seq=1</Redirect></Response>"##;
const GOODBYE: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Vicki" language="de-DE">Vielen Dank für Ihren Anruf. Auf Wiederhören!</Say><Hangup/></Response>"#;
const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

#[handler]
async fn webhook(Path(name): Path<String>, body: Body) -> Response {
    // Read the body as any server must, but leave it unparsed.
    let _ = body.into_bytes().await;
    let twiml = match name.as_str() {
        "voice" => GATHER,
        "status" => EMPTY,
        _ => GOODBYE,
    };
    Response::builder()
        .content_type("text/xml; charset=utf-8")
        .body(twiml)
}

/// Serves the fixed documents on `bind` until the process ends.
pub async fn serve(bind: &str) -> std::io::Result<()> {
    let app = Route::new().at("/webhook/:name", post(webhook));
    Server::new(TcpListener::bind(bind.to_owned()))
        .run(app)
        .await
}
