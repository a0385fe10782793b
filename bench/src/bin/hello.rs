//! The bare-endpoint ceiling: axum's hello world on the same runtime settings as Twostep
//! (tokio's multi-threaded runtime, one worker per core). Usage: `hello 127.0.0.1:18081`.

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
