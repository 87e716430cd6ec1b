//! `/docs`: Swagger UI over the published documents, with its assets compiled into the binary
//! (`assets/swagger-ui/`, see its README), so the page works with no internet access.

use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::SPECS;

/// (file name, content type, bytes) of each asset served under `/docs/`.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui-standalone-preset.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui-standalone-preset.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
    ),
    (
        "LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/LICENSE"),
    ),
];

/// The page: the bundle, and the initializer that offers every document.
pub async fn page() -> Response {
    let html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
        <title>Roster API documentation</title>\n\
        <link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n</head>\n<body>\n\
        <div id=\"swagger-ui\"></div>\n\
        <script src=\"/docs/swagger-ui-bundle.js\"></script>\n\
        <script src=\"/docs/swagger-ui-standalone-preset.js\"></script>\n\
        <script src=\"/docs/initializer.js\"></script>\n</body>\n</html>\n";
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

/// The Swagger UI configuration: one entry per document, picked from the top bar.
pub fn initializer() -> String {
    let urls: Vec<serde_json::Value> = SPECS
        .iter()
        .map(|s| serde_json::json!({ "url": format!("/openapi/{}.json", s.name), "name": s.title }))
        .collect();
    format!(
        "window.onload = function () {{\n  window.ui = SwaggerUIBundle({{\n    urls: {},\n    \
         dom_id: '#swagger-ui',\n    deepLinking: true,\n    \
         presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],\n    \
         layout: 'StandaloneLayout'\n  }});\n}};\n",
        serde_json::Value::Array(urls)
    )
}

/// `/docs/{file}`: the initializer or one of the embedded assets.
pub async fn asset(Path(file): Path<String>) -> Response {
    if file == "initializer.js" {
        return (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            initializer(),
        )
            .into_response();
    }
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => super::not_found(),
    }
}
