//! The console's stylesheet and scripts, compiled into the binary: htmx 2.0.11 (npm
//! `htmx.org`, 0BSD, `crates/server/assets/htmx-LICENSE`), the console's own script and
//! stylesheet. Each is served under a name that carries its content's hash, with a year-long
//! immutable cache.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/htmx-2.0.11.min.js"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/console.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/console.css"),
    ),
];

/// `name` → `name-{hash}.ext`: a new build's file has a new address, so caches never serve
/// an old one.
fn versioned() -> &'static Vec<(String, &'static str, &'static [u8])> {
    static V: OnceLock<Vec<(String, &'static str, &'static [u8])>> = OnceLock::new();
    V.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, ty, bytes)| {
                let d = ring::digest::digest(&ring::digest::SHA256, bytes);
                let hash: String = d.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect();
                let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
                (format!("{stem}-{hash}.{ext}"), *ty, *bytes)
            })
            .collect()
    })
}

/// The address of an asset.
pub fn href(name: &str) -> String {
    let i = FILES.iter().position(|f| f.0 == name).unwrap_or(0);
    format!("/console/assets/{}", versioned()[i].0)
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, ty, bytes)) = versioned().iter().find(|(n, _, _)| *n == file) else {
        let mut r = (StatusCode::NOT_FOUND, "not found").into_response();
        r.headers_mut().insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        return r;
    };
    let mut r = (StatusCode::OK, *bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
