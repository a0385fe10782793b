//! Server-rendered pages (SPEC §7).

use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dev/outbox", get(outbox))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Demo mode only: the text messages the `log` provider "sent".
async fn outbox(State(state): State<AppState>) -> Response {
    let Some(outbox) = &state.outbox else {
        return crate::error::ApiError::NotFound("page".into()).into_response();
    };
    let items: String = outbox
        .messages()
        .iter()
        .map(|m| {
            format!(
                "<li><p class=\"meta\">To {} at {}</p><pre>{}</pre></li>",
                escape(&m.to),
                crate::service::rfc3339(m.at),
                escape(&m.body)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Outbox · Twostep demo</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body><main>\
         <h1>Demo outbox</h1><p>Text messages sent by the demo (newest first).</p><ol id=\"outbox\">{items}</ol>\
         </main></body></html>"
    ))
    .into_response()
}
