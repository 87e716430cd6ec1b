//! The JSON schema of each event type, published in the native OpenAPI document: one component
//! per type (`UserCreatedEvent`, ...) that describes both a webhook's body (`{type, timestamp,
//! data}`) and a feed entry (the same, with `id` and `cursor`). Every object is closed
//! (`additionalProperties: false`), so a field that is not documented here, a secret included,
//! breaks the schema. The feed's page lists its entries as one of these.

use roster_domain::events::EVENT_TYPES;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, Array, ArrayBuilder, ObjectBuilder, OneOfBuilder,
    SchemaType, Type,
};
use utoipa::openapi::{ComponentsBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Schema};

/// What an event's `data` says of the user the change is about.
#[derive(Debug, Clone, Copy, PartialEq)]
enum About {
    /// No user: `user_id` and `user` are absent.
    Nobody,
    /// `user_id` and `user` (as the change committed it).
    User,
    /// `user_id` only: the user is gone.
    Gone,
    /// Sometimes a user (an organization made by `roster bootstrap` names its administrator).
    Maybe,
}

/// A field of `details`: name, JSON kind, required.
type Detail = (&'static str, Kind, bool);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Flag,
    Texts,
    NullableText,
}

/// The shape of one event type: whom it is about, and its `details` (`None`: any object,
/// the keys being the caller's own, as a privacy override's or variables' names).
fn shape(event_type: &str) -> Option<(About, Option<&'static [Detail]>)> {
    use Kind::*;
    Some(match event_type {
        "organization.created" => (About::Maybe, Some(&[("name", Text, true)])),
        "organization.updated" => (About::Nobody, Some(&[])),
        "organization.deleted" => (About::Nobody, Some(&[("org_id", Text, true)])),
        "user.created" => (About::User, Some(&[("role", Text, false)])),
        "user.updated" => (About::User, None),
        "user.activated" => (About::User, Some(&[("role", Text, false)])),
        "user.deactivated" | "invitation.accepted" => (About::User, Some(&[])),
        "user.deleted" => (About::Gone, Some(&[("soft", Flag, true)])),
        "user.role_assigned" => (
            About::User,
            Some(&[
                ("role", Text, false),
                ("previous", Texts, false),
                ("roles", Texts, false),
                ("environment", Text, false),
            ]),
        ),
        // An eva environment's role (bulk revoke), or an organization role (SCIM).
        "user.role_revoked" => (
            About::User,
            Some(&[("environment", Text, false), ("role", Text, false)]),
        ),
        "invitation.created" => (
            About::User,
            Some(&[
                ("role", Text, false),
                ("email", Text, false),
                ("roles", Texts, false),
                ("resent", Flag, false),
            ]),
        ),
        "role.created" | "role.deleted" => (About::Nobody, Some(&[("role", Text, true)])),
        // A directory's change of a group's external id names it.
        "role.updated" => (
            About::Nobody,
            Some(&[("role", Text, true), ("external_id", NullableText, false)]),
        ),
        "api_key.created" => (
            About::Nobody,
            Some(&[("key_id", Text, true), ("role", NullableText, false)]),
        ),
        "api_key.deleted" => (About::Nobody, Some(&[("key_id", Text, true)])),
        "grant.created" => (About::User, Some(&[("permission", Text, true)])),
        _ => return None,
    })
}

/// The component name of an event type's schema: `user.role_assigned` → `UserRoleAssignedEvent`.
pub fn schema_name(event_type: &str) -> String {
    let mut out = String::new();
    for word in event_type.split(['.', '_']) {
        let mut c = word.chars();
        if let Some(first) = c.next() {
            out.extend(first.to_uppercase());
            out.push_str(c.as_str());
        }
    }
    out + "Event"
}

fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable_text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

fn closed(o: ObjectBuilder) -> ObjectBuilder {
    o.schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

fn texts() -> ArrayBuilder {
    ArrayBuilder::new().items(text())
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn organization() -> Schema {
    closed(ObjectBuilder::new())
        .description(Some("The organization the event belongs to."))
        .property("id", text())
        .required("id")
        .into()
}

fn actor() -> Schema {
    closed(ObjectBuilder::new())
        .description(Some("Who made the change, as the audit log names them."))
        .property(
            "kind",
            text().enum_values(Some([
                "user",
                "api_key",
                "directory_token",
                "service",
                "system",
                "anonymous",
            ])),
        )
        .property("user_id", nullable_text())
        .property("org_id", nullable_text())
        .required("kind")
        .required("user_id")
        .required("org_id")
        .into()
}

fn user() -> Schema {
    let mut o = closed(ObjectBuilder::new()).description(Some(
        "The user as the change committed it: never a credential, never a sensitive variable.",
    ));
    for f in ["id", "email", "first_name", "last_name"] {
        o = o.property(f, text()).required(f);
    }
    let free = || ObjectBuilder::new().schema_type(Type::Object);
    o.property(
        "status",
        text().enum_values(Some(["invited", "active", "inactive"])),
    )
    .property("is_admin", ObjectBuilder::new().schema_type(Type::Boolean))
    .property("role_ids", texts())
    .property("preferences", free())
    .property(
        "variables",
        free()
            .description(Some("Non-sensitive variables only."))
            .additional_properties(Some(text())),
    )
    .property(
        "created_at",
        text().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        ))),
    )
    .property(
        "updated_at",
        text().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        ))),
    )
    .required("status")
    .required("is_admin")
    .required("role_ids")
    .required("preferences")
    .required("variables")
    .required("created_at")
    .required("updated_at")
    .into()
}

fn details(spec: Option<&[Detail]>) -> ObjectBuilder {
    let Some(spec) = spec else {
        return ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("What the audit log shows of the change."));
    };
    let mut o =
        closed(ObjectBuilder::new()).description(Some("What the audit log shows of the change."));
    for (name, kind, required) in spec {
        o = match kind {
            Kind::Text => o.property(*name, text()),
            Kind::NullableText => o.property(*name, nullable_text()),
            Kind::Flag => o.property(*name, ObjectBuilder::new().schema_type(Type::Boolean)),
            Kind::Texts => o.property(*name, texts()),
        };
        if *required {
            o = o.required(*name);
        }
    }
    o
}

/// One event type's schema.
fn event(event_type: &str, about: About, spec: Option<&[Detail]>) -> Schema {
    let mut data = closed(ObjectBuilder::new())
        .property("organization", reference("EventOrganization"))
        .property("actor", reference("EventActor"))
        .property("request_id", nullable_text())
        .property("details", details(spec))
        .required("organization")
        .required("actor")
        .required("request_id")
        .required("details");
    if about != About::Nobody {
        data = data.property("user_id", text());
    }
    if matches!(about, About::User | About::Maybe) {
        data = data.property("user", reference("EventUser"));
    }
    if matches!(about, About::User | About::Gone) {
        data = data.required("user_id");
    }
    if about == About::User {
        data = data.required("user");
    }
    closed(ObjectBuilder::new())
        .title(Some(event_type))
        .description(Some(format!(
            "`{event_type}`: a webhook's body; a feed entry also has `id` and `cursor`."
        )))
        .property(
            "id",
            text().description(Some(
                "Feed only: the event's id (`webhook-id` is `msg_<id>`).",
            )),
        )
        .property(
            "cursor",
            text().description(Some("Feed only: its position in commit order (`after`).")),
        )
        .property("type", text().enum_values(Some([event_type])))
        .property(
            "timestamp",
            text().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            ))),
        )
        .property("data", data)
        .required("type")
        .required("timestamp")
        .required("data")
        .into()
}

/// The components: one schema per event type, and the parts they share.
pub fn document() -> OpenApi {
    let mut c = ComponentsBuilder::new()
        .schema("EventOrganization", organization())
        .schema("EventActor", actor())
        .schema("EventUser", user());
    for t in EVENT_TYPES {
        if let Some((about, spec)) = shape(t) {
            c = c.schema(schema_name(t), event(t, about, spec));
        }
    }
    OpenApiBuilder::new().components(Some(c.build())).build()
}

/// The schema of the feed's `events`: each entry one of the event types, with its id and cursor.
pub fn feed_entries() -> Array {
    let mut one_of = OneOfBuilder::new();
    for t in EVENT_TYPES {
        one_of = one_of.item(reference(&schema_name(t)));
    }
    ArrayBuilder::new()
        .items(
            AllOfBuilder::new()
                .item(ObjectBuilder::new().required("id").required("cursor"))
                .item(one_of),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_a_shape_and_a_name() {
        for t in EVENT_TYPES {
            assert!(shape(t).is_some(), "{t} has no schema");
        }
        assert_eq!(schema_name("user.role_assigned"), "UserRoleAssignedEvent");
        assert_eq!(schema_name("api_key.created"), "ApiKeyCreatedEvent");
    }
}
