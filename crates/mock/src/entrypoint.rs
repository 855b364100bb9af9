//! The API entrypoint (`GET /api`), in the shape ManageIQ's API renders it.

use miq_automate_vmdb::Vmdb;
use serde_json::{json, Value};

use crate::auth::Identity;
use crate::collection::ALL;
use crate::render::Render;

/// The one API version the mock serves (ManageIQ's `Api::SUPPORTED_VERSIONS`).
pub(crate) const API_VERSION: &str = "4.0.0";

/// `GET /api`: the API's name and version, who is asking, the appliance, and the
/// collections.
pub(crate) fn document(vmdb: &Vmdb, who: &Identity, r: &Render<'_>) -> Value {
    let server = vmdb.server();
    let groups = vmdb.groups_of(&who.user);
    let now = vmdb.clock().now();
    json!({
        "name": "API",
        "description": "REST API",
        "version": API_VERSION,
        // `#{@req.base}#{@req.prefix(false)}/v#{version}`: never itself versioned.
        "versions": [{"name": API_VERSION, "href": format!("{}/api/v{API_VERSION}", r.base)}],
        "settings": {"locale": "en", "asynchronous_notifications": true},
        "identity": {
            "userid": who.user.userid,
            "name": who.user.name,
            "user_href": r.href("users", &who.user.id.to_string()),
            "group": who.group.description,
            "group_href": r.href("groups", &who.group.id.to_string()),
            "role": who.group.role,
            "tenant": "My Company",
            "groups": groups.iter().map(|g| g.description.clone()).collect::<Vec<_>>(),
        },
        "server_info": {
            "version": server.version,
            "build": "mock",
            "release": "mock",
            "appliance": server.name,
            "time": miq_automate_vmdb::model::iso8601(&now),
            "server_href": r.href("servers", &server.id.to_string()),
            "zone_href": r.href("zones", "1"),
            "region_href": r.href("regions", "1"),
            "enterprise_href": r.href("enterprises", "1"),
            "plugins": {},
        },
        "product_info": {"name": "ManageIQ", "name_full": "ManageIQ (mock)"},
        "collections": ALL.iter().map(|c| json!({
            "name": c.name(),
            "href": r.collection_href(c.name()),
            "description": c.description(),
        })).collect::<Vec<_>>(),
    })
}
