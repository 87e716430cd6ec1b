//! What the service provider says of itself (RFC 7643 sections 5 to 7): its configuration, its
//! resource types and their schemas, truthful to what this surface does.

use serde_json::{json, Value};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SP_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Most resources one listing page holds (`filter.maxResults`).
pub const MAX_RESULTS: u32 = roster_domain::core::DIRECTORY_PAGE_MAX;

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SP_CONFIG],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "SCIM token",
            "description": "A bearer token of the organization, from `roster scim-token create` or POST /admin/v1/orgs/{org}/scim-tokens.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A member of the organization (userName is the login email, or the directory's own name of the person).",
            "schema": USER,
            "schemaExtensions": [{ "schema": ENTERPRISE, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": [RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A role of the organization; its members hold it.",
            "schema": GROUP,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

fn attr(name: &str, kind: &str, mutability: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": "none",
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn user_schema(base: &str) -> Value {
    let name = with(
        attr("name", "complex", "readWrite", "The person's name."),
        "subAttributes",
        json!([
            attr(
                "givenName",
                "string",
                "readWrite",
                "The given (first) name."
            ),
            attr(
                "familyName",
                "string",
                "readWrite",
                "The family (last) name."
            ),
        ]),
    );
    let mut user_name = attr(
        "userName",
        "string",
        "immutable",
        "The login email, or the directory's own name of the person (then the login email comes from emails): set when the user is created.",
    );
    user_name["required"] = json!(true);
    user_name["uniqueness"] = json!("server");
    let mut id = attr("id", "string", "readOnly", "Roster's user id.");
    id["caseExact"] = json!(true);
    id["returned"] = json!("always");
    id["uniqueness"] = json!("server");
    let mut external = attr(
        "externalId",
        "string",
        "readWrite",
        "The directory's id of the person.",
    );
    external["caseExact"] = json!(true);
    let mut value = attr("value", "string", "immutable", "The address.");
    value["required"] = json!(true);
    let mut emails = with(
        attr(
            "emails",
            "complex",
            "immutable",
            "The login email, as the one work address. When userName is not an email, the login email is taken from them at creation (the primary one, else the work one, else the first); afterwards it is the person's own and other addresses are not kept.",
        ),
        "subAttributes",
        json!([
            value,
            with(
                attr("type", "string", "immutable", "Always work."),
                "canonicalValues",
                json!(["work"])
            ),
            attr("primary", "boolean", "immutable", "Always true."),
        ]),
    );
    emails["multiValued"] = json!(true);
    emails["required"] = json!(true);
    let mut active = attr(
        "active",
        "boolean",
        "readWrite",
        "false deactivates the user: their sessions end. Every user has it (true when left out on create).",
    );
    active["required"] = json!(true);
    let mut groups = with(
        attr("groups", "complex", "readOnly", "The roles the user holds."),
        "subAttributes",
        json!([
            attr("value", "string", "readOnly", "The group's id."),
            attr("display", "string", "readOnly", "The role's name."),
            with(
                attr("$ref", "reference", "readOnly", "The group's URI."),
                "referenceTypes",
                json!(["Group"])
            ),
            with(
                attr("type", "string", "readOnly", "Always direct."),
                "canonicalValues",
                json!(["direct"])
            ),
        ]),
    );
    groups["multiValued"] = json!(true);
    json!({
        "schemas": [SCHEMA],
        "id": USER,
        "name": "User",
        "description": "A member of the organization.",
        "attributes": [
            id,
            user_name,
            external,
            name,
            attr("displayName", "string", "readOnly", "The given and family names."),
            emails,
            active,
            groups,
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER}") },
    })
}

fn enterprise_schema(base: &str) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": ENTERPRISE,
        "name": "EnterpriseUser",
        "description": "The enterprise attributes Roster keeps.",
        "attributes": [
            attr("organization", "string", "readWrite", "The person's company, as Roster shows it."),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{ENTERPRISE}") },
    })
}

fn group_schema(base: &str) -> Value {
    let mut display = attr(
        "displayName",
        "string",
        "immutable",
        "The role's name: roles are not renamed.",
    );
    display["required"] = json!(true);
    display["uniqueness"] = json!("server");
    let mut members = with(
        attr(
            "members",
            "complex",
            "readWrite",
            "The users holding the role.",
        ),
        "subAttributes",
        json!([
            attr("value", "string", "immutable", "The user's id."),
            with(
                attr("$ref", "reference", "immutable", "The user's URI."),
                "referenceTypes",
                json!(["User"])
            ),
            with(
                attr("type", "string", "immutable", "Always User."),
                "canonicalValues",
                json!(["User"])
            ),
        ]),
    );
    members["multiValued"] = json!(true);
    let mut external = attr(
        "externalId",
        "string",
        "readWrite",
        "The directory's id of the group.",
    );
    external["caseExact"] = json!(true);
    json!({
        "schemas": [SCHEMA],
        "id": GROUP,
        "name": "Group",
        "description": "A role of the organization.",
        "attributes": [display, external, members],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP}") },
    })
}

pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        user_schema(base),
        enterprise_schema(base),
        group_schema(base),
    ]
}

/// The attribute names (lower case, dotted for sub-attributes, URN-prefixed for extensions)
/// that `attributes`, `excludedAttributes` and PATCH paths may name on a resource type.
pub fn known(resource: &str, name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n
        .strip_prefix(&format!("{}:", USER.to_ascii_lowercase()))
        .or_else(|| n.strip_prefix(&format!("{}:", GROUP.to_ascii_lowercase())))
        .unwrap_or(&n)
        .to_owned();
    let common = [
        "id",
        "externalid",
        "schemas",
        "meta",
        "meta.created",
        "meta.lastmodified",
        "meta.version",
        "meta.location",
        "meta.resourcetype",
    ];
    if common.contains(&n.as_str()) {
        return true;
    }
    if resource == "User" {
        let ent = ENTERPRISE.to_ascii_lowercase();
        if n == ent || n == format!("{ent}:organization") {
            return true;
        }
        let top = n.split('.').next().unwrap_or_default();
        // Attributes of the core schema this surface takes and ignores (RFC 7643 4.1), so
        // that a directory's full profile is accepted.
        let ignored = [
            "nickname",
            "profileurl",
            "title",
            "usertype",
            "preferredlanguage",
            "locale",
            "timezone",
            "password",
            "phonenumbers",
            "ims",
            "photos",
            "addresses",
            "entitlements",
            "roles",
            "x509certificates",
        ];
        return matches!(
            n.as_str(),
            "username"
                | "name"
                | "name.givenname"
                | "name.familyname"
                | "name.formatted"
                | "displayname"
                | "emails"
                | "emails.value"
                | "emails.type"
                | "emails.primary"
                | "active"
                | "groups"
                | "groups.value"
                | "groups.display"
        ) || ignored.contains(&top);
    }
    matches!(
        n.as_str(),
        "displayname"
            | "members"
            | "members.value"
            | "members.display"
            | "members.type"
            | "members.$ref"
    )
}
