//! The Amigo document's component schemas are the vendor's own, by name and byte for byte
//! (`reference/amigo-classic-user.openapi.json`, embedded): clients generated from the vendor's
//! document keep working, and the test suite checks every Amigo response against them. The
//! handlers name the schema each operation takes and returns with the marker types below.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde_json::{Map, Value};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema};

static VENDOR: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!(
        "../../../../reference/amigo-classic-user.openapi.json"
    ))
    .unwrap_or(Value::Null)
});

/// The vendor's document.
pub fn document() -> &'static Value {
    &VENDOR
}

fn component(name: &str) -> Option<&'static Value> {
    VENDOR["components"]["schemas"].get(name)
}

/// Replaces each vendor-named placeholder with the vendor's schema, and adds every vendor
/// schema those reference.
pub fn fill(schemas: &mut Map<String, Value>) {
    let mut todo: Vec<String> = schemas
        .keys()
        .filter(|k| component(k).is_some())
        .cloned()
        .collect();
    let mut done = std::collections::BTreeSet::new();
    while let Some(name) = todo.pop() {
        let Some(schema) = component(&name) else {
            continue;
        };
        schemas.insert(name.clone(), schema.clone());
        done.insert(name);
        let mut refs = Vec::new();
        collect_refs(schema, &mut refs);
        for r in refs {
            if component(&r).is_some() && !done.contains(&r) && !todo.contains(&r) {
                todo.push(r);
            }
        }
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                if let Some(name) = r.strip_prefix("#/components/schemas/") {
                    out.push(name.to_owned());
                }
            }
            m.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn placeholder() -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .description(Some("replaced by the vendor's schema"))
            .build(),
    ))
}

macro_rules! vendor_schemas {
    ($($(#[$doc:meta])* $ty:ident => $name:literal,)*) => {$(
        $(#[$doc])*
        pub struct $ty;
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                placeholder()
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    )*
        /// Every vendor schema the handlers name.
        pub const NAMED: &[&str] = &[$($name),*];
    };
}

vendor_schemas! {
    GetOrganizationResponse => "src__app__endpoints__organization__get_organization__Response",
    CreateOrganizationRequest => "src__app__endpoints__organization__create_organization__Request",
    CreateOrganizationResponse => "src__app__endpoints__organization__create_organization__Response",
    ModifyOrganizationRequest => "src__app__endpoints__organization__modify_organization__Request",
    CreateApiKeyRequest => "src__app__endpoints__organization__create_api_key__Request",
    CreateApiKeyResponse => "src__app__endpoints__organization__create_api_key__Response",
    GetApiKeysResponse => "src__app__endpoints__organization__get_api_keys__Response",
    DeleteApiKeyResponse => "src__app__endpoints__organization__delete_api_key__Response",
    CreateInvitedUserRequest => "src__app__endpoints__user__create_invited_user__Request",
    CreateInvitedUserResponse => "src__app__endpoints__user__create_invited_user__Response",
    GetUsersResponse => "src__app__endpoints__user__get_users__Response",
    SignInWithApiKeyResponse => "src__app__endpoints__user__sign_in_with_api_key__Response",
    SignInWithEmailRequest => "src__app__endpoints__user__sign_in_with_email__Request",
    UpdateUserInfoRequest => "src__app__endpoints__user__update_user_info__Request",
    GetUserModelResponse => "src__app__endpoints__user__get_user_model__Response",
    GetMemoriesResponse => "src__app__endpoints__user__get_memories__Response",
    SearchUsersResponse => "src__app__endpoints__user__search_users__Response",
    ModifyUserVariablesRequest => "src__app__endpoints__user__modify_user_variables__Request",
    CreateGrantRequest => "src__app__endpoints__role__create_temporary_permission_grant__Request",
    CreateGrantResponse => "src__app__endpoints__role__create_temporary_permission_grant__Response",
    GetGrantsResponse => "src__app__endpoints__role__get_temporary_permission_grants__Response",
    CreateRoleRequest => "src__app__endpoints__role__create_role__Request",
    CreateRoleResponse => "src__app__endpoints__role__create_role__Response",
    GetRolesResponse => "src__app__endpoints__role__get_roles__Response",
    ModifyRoleRequest => "src__app__endpoints__role__modify_role__Request",
    ModifyRoleResponse => "src__app__endpoints__role__modify_role__Response",
    AssignRoleRequest => "src__app__endpoints__role__assign_role__Request",
    AssignRoleResponse => "src__app__endpoints__role__assign_role__Response",
}
