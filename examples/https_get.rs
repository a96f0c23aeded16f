//! Fetches a URL with coring's pooled HTTP/1.1 client (HTTPS through
//! rustls) and prints the status, the headers and the body.
//!
//! `cargo run --release --features client --example https_get -- URL`

use http_body_util::BodyExt;
use std::io::{self, Write};

#[coring::main]
async fn main() -> io::Result<()> {
    let url = std::env::args()
        .nth(1)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "usage: https_get URL"))?;
    let client = coring::hyper::client::Client::new();
    let resp = client.get(&url).await?;
    println!("{:?} {}", resp.version(), resp.status());
    for (name, value) in resp.headers() {
        println!("{name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    println!();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    io::stdout().write_all(&body)?;
    Ok(())
}
