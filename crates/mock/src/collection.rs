//! The collections the mock serves, as ManageIQ's config/api.yml declares them: names,
//! model classes, attributes, virtual attributes, relationships, subcollections and actions.

use miq_automate_vmdb::model::ServerProfile;
use miq_automate_vmdb::Id;

use crate::reply::ApiError;

/// A top-level collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    Services,
    Vms,
    Requests,
    ServiceRequests,
    RequestTasks,
    Tasks,
}

/// Every collection, in the order the entrypoint lists them (by name).
pub(crate) const ALL: [Collection; 6] = [
    Collection::RequestTasks,
    Collection::Requests,
    Collection::ServiceRequests,
    Collection::Services,
    Collection::Tasks,
    Collection::Vms,
];

impl Collection {
    pub fn from_name(name: &str) -> Option<Collection> {
        ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Collection::Services => "services",
            Collection::Vms => "vms",
            Collection::Requests => "requests",
            Collection::ServiceRequests => "service_requests",
            Collection::RequestTasks => "request_tasks",
            Collection::Tasks => "tasks",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Collection::Services => "Services",
            Collection::Vms => "Virtual Machines",
            Collection::Requests => "Requests",
            Collection::ServiceRequests => "Service Requests",
            Collection::RequestTasks => "Request Tasks",
            Collection::Tasks => "Tasks",
        }
    }

    /// The model name ManageIQ uses in "Couldn't find X with 'id'=N".
    pub fn klass(self) -> &'static str {
        match self {
            Collection::Services => "Service",
            Collection::Vms => "Vm",
            Collection::Requests => "MiqRequest",
            Collection::ServiceRequests => "ServiceTemplateProvisionRequest",
            Collection::RequestTasks => "MiqRequestTask",
            Collection::Tasks => "MiqTask",
        }
    }

    /// Physical columns, sorted.
    pub fn physical(self) -> &'static [&'static str] {
        match self {
            Collection::Services => &[
                "ancestry",
                "created_at",
                "description",
                "id",
                "lifecycle_state",
                "name",
                "retired",
                "retirement_state",
                "retirement_warn",
                "retires_on",
                "service_template_id",
                "type",
                "visible",
            ],
            Collection::Vms => &[
                "id",
                "name",
                "power_state",
                "retired",
                "retirement_state",
                "retires_on",
                "template",
                "type",
                "vendor",
            ],
            Collection::Requests | Collection::ServiceRequests => &[
                "approval_state",
                "created_on",
                "description",
                "fulfilled_on",
                "id",
                "message",
                "options",
                "request_state",
                "request_type",
                "source_id",
                "source_type",
                "status",
                "type",
                "updated_on",
                "userid",
            ],
            Collection::RequestTasks => &[
                "description",
                "destination_id",
                "destination_type",
                "id",
                "message",
                "miq_request_id",
                "miq_request_task_id",
                "options",
                "phase",
                "request_type",
                "source_id",
                "source_type",
                "state",
                "status",
                "type",
                "userid",
            ],
            Collection::Tasks => &[
                "created_on",
                "id",
                "message",
                "name",
                "pct_complete",
                "state",
                "status",
                "updated_on",
                "userid",
            ],
        }
    }

    /// Virtual attributes and associations that `attributes=` may name, sorted.
    pub fn virtual_attrs(self) -> &'static [&'static str] {
        match self {
            Collection::Services => &[
                "all_service_children",
                "all_vms",
                "direct_service_children",
                "direct_vms",
                "parent_service",
                "root_service",
                "service_resources",
                "services",
                "vms",
            ],
            Collection::Vms => &["service"],
            Collection::Requests | Collection::ServiceRequests => &["miq_request_tasks"],
            Collection::RequestTasks => &["miq_request"],
            Collection::Tasks => &[],
        }
    }

    pub fn relationships(self) -> &'static [&'static str] {
        match self {
            Collection::Services => &["parent_service", "service_resources", "vms"],
            Collection::Vms => &["service"],
            Collection::Requests | Collection::ServiceRequests => &["miq_request_tasks"],
            Collection::RequestTasks => &["miq_request", "miq_request_task"],
            Collection::Tasks => &[],
        }
    }

    pub fn subcollections(self) -> &'static [&'static str] {
        match self {
            Collection::Services => &["vms"],
            Collection::Requests | Collection::ServiceRequests => &["request_tasks"],
            _ => &[],
        }
    }

    /// Actions on one resource, as (name, method).
    pub fn resource_actions(self, profile: ServerProfile) -> Vec<(&'static str, &'static str)> {
        let current = profile == ServerProfile::Current;
        let mut a = Vec::new();
        match self {
            Collection::Services | Collection::Vms => {
                a.push(("edit", "post"));
                a.push(("retire", "post"));
                if current {
                    a.push(("request_retire", "post"));
                }
                a.push(("set_ownership", "post"));
                a.push(("delete", "post"));
                a.push(("delete", "delete"));
            }
            Collection::Requests | Collection::ServiceRequests => {
                a.push(("approve", "post"));
                a.push(("deny", "post"));
            }
            Collection::RequestTasks => a.push(("edit", "post")),
            Collection::Tasks => {
                a.push(("delete", "post"));
                a.push(("delete", "delete"));
            }
        }
        a
    }

    /// Actions on the collection, as (name, method).
    pub fn collection_actions(self, profile: ServerProfile) -> Vec<(&'static str, &'static str)> {
        let mut a = vec![("query", "post")];
        if matches!(self, Collection::Services | Collection::Vms) {
            a.push(("retire", "post"));
            if profile == ServerProfile::Current {
                a.push(("request_retire", "post"));
            }
        }
        a
    }

    /// A member id from a path or a request body; anything but a `u64` is ManageIQ's 400.
    pub fn parse_id(self, raw: &str) -> Result<Id, ApiError> {
        raw.parse::<u64>().map(Id).map_err(|_| {
            ApiError::bad_request(format!("Invalid {} id {raw} specified", self.klass()))
        })
    }
}
