//! Parameters several operations share, as `IntoParams` types for `#[utoipa::path(params(..))]`.
//! Handlers read them through their own extractors; these only document them.

use serde::Deserialize;
use utoipa::IntoParams;

/// The headers every Amigo operation of the vendor's document declares. Roster accepts and
/// ignores them (one database serves every organization).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct VendorHeaders {
    /// The Mongo cluster name (ignored by Roster).
    #[serde(rename = "x-mongo-cluster-name")]
    x_mongo_cluster_name: Option<String>,
    /// WebSocket sub-protocols (ignored by Roster).
    #[serde(rename = "Sec-WebSocket-Protocol")]
    sec_websocket_protocol: Option<Vec<String>>,
}

/// create-organization declares the Mongo cluster header as required, and Roster checks it.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct VendorHeadersClusterRequired {
    /// The Mongo cluster name: required by the vendor's contract; its value is ignored.
    #[serde(rename = "x-mongo-cluster-name")]
    x_mongo_cluster_name: String,
    /// WebSocket sub-protocols (ignored by Roster).
    #[serde(rename = "Sec-WebSocket-Protocol")]
    sec_websocket_protocol: Option<Vec<String>>,
}

/// `limit` and `continuation_token` of the Amigo listings.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct Paging {
    /// How many items at most (0 or more).
    limit: Option<i64>,
    /// The `continuation_token` of the previous page.
    continuation_token: Option<i64>,
}
