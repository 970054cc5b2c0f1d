//! The CDN paths Guildhall links to — guild icons, avatars, default avatars —
//! answered with generated pictures in a colour derived from the hash.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::images;
use crate::state::Shared;

/// Pixels when no `?size=` is given.
const DEFAULT_SIZE: u32 = 128;
/// Bigger requests are drawn at this size: the pictures are uncompressed.
const MAX_DRAWN: u32 = 256;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/icons/{id}/{file}", get(icon))
        .route("/avatars/{id}/{file}", get(avatar))
        .route("/embed/avatars/{file}", get(default_avatar))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404: Not Found").into_response()
}

fn image(seed: &str, file: &str, q: &HashMap<String, String>) -> Response {
    let Some((hash, ext)) = file.rsplit_once('.') else {
        return not_found();
    };
    // Discord accepts powers of two from 16 to 4096 and refuses anything else.
    let size = match q.get("size").map(|s| s.parse::<u32>()) {
        None => DEFAULT_SIZE,
        Some(Ok(n)) if (16..=4096).contains(&n) && n.is_power_of_two() => n,
        Some(_) => return (StatusCode::BAD_REQUEST, "Invalid size").into_response(),
    };
    let drawn = size.min(MAX_DRAWN);
    let palette = images::palette(seed);
    let animated = hash.starts_with("a_");
    let (mime, bytes) = match ext {
        "png" => ("image/png", images::png(palette, drawn)),
        "gif" => ("image/gif", images::gif(palette, drawn, animated)),
        // No WebP or JPEG encoder here: answer a PNG and say so, rather
        // than mislabel the bytes.
        "webp" | "jpg" | "jpeg" => ("image/png", images::png(palette, drawn)),
        _ => return not_found(),
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            // Hashes change when pictures change, so like Discord: cache long.
            (header::CACHE_CONTROL, "public, max-age=31536000"),
        ],
        bytes,
    )
        .into_response()
}

async fn icon(
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    image(&format!("{id}/{file}"), &file, &q)
}

async fn avatar(
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    image(&format!("{id}/{file}"), &file, &q)
}

async fn default_avatar(
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Discord has six default avatars, 0.png to 5.png.
    let valid = file
        .strip_suffix(".png")
        .and_then(|i| i.parse::<u8>().ok())
        .is_some_and(|i| i < 6);
    if !valid {
        return not_found();
    }
    image(&format!("embed/{file}"), &file, &q)
}
