//! Finding the failed bundle and its members: from a service id, from a failed service
//! request, or by scanning for top-level bundles in `error_in_provisioning`.

use miq_automate_core::log::sanitize;
use serde_json::Value;

use crate::action::id_text;
use crate::client::Client;
use crate::error::{ApiError, ErrorKind};
use crate::query::Query;
use crate::retire::{check_id, open_retirements, Bundle, ItemKind, Member, VmRef};

/// Where the bundle comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The bundle's service id.
    Service(String),
    /// A failed service request: its top task's destination is the bundle, its Error task's
    /// destination the failed item.
    Request(String),
    /// Every top-level service in `error_in_provisioning`.
    Scan,
}

/// The bundles a target names (one, or any number for a scan), each member marked with the
/// retire request or task already open for it (read once for all the bundles).
pub async fn discover(
    client: &Client,
    target: &Target,
    with_vms: bool,
) -> Result<Vec<Bundle>, ApiError> {
    let mut bundles = read_bundles(client, target, with_vms).await?;
    if !bundles.is_empty() {
        let vms = bundles
            .iter()
            .any(|b| b.members.iter().any(|m| m.kind == ItemKind::Vm));
        let open = open_retirements(client, vms).await?;
        for bundle in &mut bundles {
            bundle.open = open.get(ItemKind::Service, &bundle.id).cloned();
            for m in &mut bundle.members {
                m.open = open.get(m.kind, &m.id).cloned();
            }
        }
    }
    Ok(bundles)
}

async fn read_bundles(
    client: &Client,
    target: &Target,
    with_vms: bool,
) -> Result<Vec<Bundle>, ApiError> {
    match target {
        Target::Service(id) => Ok(vec![bundle(client, id, None, with_vms).await?]),
        Target::Request(id) => {
            let (bundle_id, failed, message) = from_request(client, id).await?;
            let mut found = bundle(client, &bundle_id, failed, with_vms).await?;
            found.failed_message = message;
            Ok(vec![found])
        }
        Target::Scan => {
            let query = Query::new()
                .attributes(["id"])
                .filter("ancestry=NULL")
                .filter("lifecycle_state='error_in_provisioning'")
                .expand_resources();
            let found = client.get_all("services", &query).await?;
            let mut bundles = Vec::new();
            for service in found {
                let Some(id) = service.get("id").and_then(id_text) else {
                    continue;
                };
                let Ok(id) = check_id(&id) else {
                    tracing::warn!("ignoring a service with an invalid id {id:?}");
                    continue;
                };
                bundles.push(bundle(client, &id, None, with_vms).await?);
            }
            Ok(bundles)
        }
    }
}

/// The bundle id, the failed item and its error (the failed task's `message`, secrets
/// masked) of a service request.
async fn from_request(
    client: &Client,
    request_id: &str,
) -> Result<(String, Option<String>, Option<String>), ApiError> {
    let query = Query::new().expand_resources();
    let tasks = match client
        .get_all(
            &format!("service_requests/{request_id}/request_tasks"),
            &query,
        )
        .await
    {
        Err(e) if e.kind == ErrorKind::NotFound => {
            client
                .get_all(&format!("requests/{request_id}/request_tasks"), &query)
                .await?
        }
        other => other?,
    };
    let field = |t: &Value, k: &str| t.get(k).and_then(id_text);
    let top = tasks
        .iter()
        .find(|t| field(t, "miq_request_task_id").is_none() && field(t, "destination_type").as_deref() == Some("Service"))
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!("GET service_requests/{request_id}/request_tasks"),
                format!("request {request_id} has no top task with a Service destination (is it a service request?)"),
            )
        })?;
    let bad = |what: &str| {
        ApiError::new(
            ErrorKind::Decode,
            format!("GET service_requests/{request_id}/request_tasks"),
            what.to_string(),
        )
    };
    let bundle =
        field(top, "destination_id").ok_or_else(|| bad("the top task has no destination_id"))?;
    let bundle = check_id(&bundle)
        .map_err(|e| bad(&format!("the top task's destination: {}", e.message)))?;
    let failed_task = tasks
        .iter()
        .filter(|t| field(t, "miq_request_task_id").is_some())
        .find(|t| field(t, "status").as_deref() == Some("Error"));
    let failed = failed_task
        .and_then(|t| field(t, "destination_id"))
        .map(|id| check_id(&id))
        .transpose()
        .map_err(|e| bad(&format!("the failed task's destination: {}", e.message)))?;
    let message = failed_task
        .and_then(|t| field(t, "message"))
        .map(|m| sanitize(m.trim()))
        .filter(|m| !m.is_empty());
    Ok((bundle, failed, message))
}

/// Reads a bundle with its members (open retirements are not read: see [`discover`]). A
/// child service appears both among
/// `direct_service_children` and `service_resources`: it is listed once. VMs are members
/// only when they are direct resources of the bundle (a child's VMs retire with the child).
pub async fn bundle(
    client: &Client,
    id: &str,
    failed: Option<String>,
    with_vms: bool,
) -> Result<Bundle, ApiError> {
    // Columns and actions, and the members: two reads in parallel (with an attribute list
    // ManageIQ returns only those attributes).
    let path = format!("services/{id}");
    let members_query = Query::new().attributes(["direct_service_children", "service_resources"]);
    let (body, listing) = futures::future::try_join(
        client.get(&path, &Query::new()),
        client.get(&path, &members_query),
    )
    .await?;
    let text = |v: &Value, k: &str| v.get(k).and_then(id_text);
    let mut members = Vec::new();
    for child in listing
        .get("direct_service_children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(member) = member(ItemKind::Service, child) {
            if !members
                .iter()
                .any(|m: &Member| m.kind == member.kind && m.id == member.id)
            {
                members.push(member);
            }
        }
    }
    let mut direct_vms = Vec::new();
    for resource in listing
        .get("service_resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(kind), Some(Ok(rid))) = (
            text(resource, "resource_type"),
            text(resource, "resource_id").map(|r| check_id(&r)),
        ) else {
            continue;
        };
        match kind.as_str() {
            "Service" | "ServiceAnsiblePlaybook" | "ServiceGeneric"
                if !members
                    .iter()
                    .any(|m| m.kind == ItemKind::Service && m.id == rid) =>
            {
                // A child only listed as a resource: read it.
                let child = client
                    .get(&format!("services/{rid}"), &Query::new())
                    .await?;
                members.extend(member(ItemKind::Service, &child));
            }
            "Service" | "ServiceAnsiblePlaybook" | "ServiceGeneric" => {}
            k if k.starts_with("Vm") || k.contains("Template") || k.ends_with("Vm") => {
                direct_vms.push(rid)
            }
            _ => {}
        }
    }
    let vm_reads = direct_vms
        .iter()
        .map(|vid| async move { client.get(&format!("vms/{vid}"), &Query::new()).await });
    for vm in futures::future::try_join_all(vm_reads).await? {
        members.extend(member(ItemKind::Vm, &vm));
    }
    if with_vms {
        let reads = members
            .iter()
            .filter(|m| m.kind == ItemKind::Service)
            .map(|m| async move {
                let query = Query::new().attributes(["name"]).expand_resources();
                client
                    .get_all(&format!("services/{}/vms", m.id), &query)
                    .await
            });
        let lists = futures::future::try_join_all(reads).await?;
        for (member, vms) in members
            .iter_mut()
            .filter(|m| m.kind == ItemKind::Service)
            .zip(lists)
        {
            member.vms = vms
                .iter()
                .filter_map(|v| {
                    Some(VmRef {
                        id: text(v, "id")?,
                        name: text(v, "name").unwrap_or_default(),
                    })
                })
                .collect();
        }
    }
    let actions = action_names(&body);
    Ok(Bundle {
        id: text(&body, "id").unwrap_or_else(|| id.to_string()),
        name: text(&body, "name").unwrap_or_default(),
        lifecycle_state: text(&body, "lifecycle_state"),
        retired: body
            .get("retired")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        retirement_state: text(&body, "retirement_state"),
        members,
        failed_id: failed,
        failed_message: None,
        supports_request_retire: (!actions.is_empty())
            .then(|| actions.iter().any(|a| a == "request_retire")),
        open: None,
    })
}

fn member(kind: ItemKind, v: &Value) -> Option<Member> {
    let text = |k: &str| v.get(k).and_then(id_text);
    let id = text("id")
        .or_else(|| text("href").and_then(|h| h.rsplit('/').next().map(str::to_string)))?;
    // An id from the server goes into URL paths too: it must be one.
    let Ok(id) = check_id(&id) else {
        tracing::warn!("ignoring a {kind:?} member with an invalid id {id:?}");
        return None;
    };
    Some(Member {
        kind,
        id,
        name: text("name").unwrap_or_default(),
        lifecycle_state: text("lifecycle_state"),
        retired: v.get("retired").and_then(Value::as_bool).unwrap_or(false),
        retirement_state: text("retirement_state"),
        vms: Vec::new(),
        open: None,
    })
}

fn action_names(v: &Value) -> Vec<String> {
    v.get("actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientConfig, Credentials, Secret};

    #[tokio::test]
    async fn a_request_tells_the_failed_item_and_its_error() {
        let scenario =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mocks/failed_bundle.json");
        let server = miq_automate_mock::MockServer::start_file(&scenario, 0)
            .await
            .unwrap();
        let creds = Credentials::Basic {
            user: "admin".into(),
            password: Secret::new("smartvm"),
        };
        let client = Client::new(ClientConfig::new(&server.url(), creds).unwrap()).unwrap();
        let bundles = discover(&client, &Target::Request("3000".into()), false)
            .await
            .unwrap();
        assert_eq!(bundles[0].failed_id.as_deref(), Some("1004"));
        assert_eq!(
            bundles[0].failed_message.as_deref(),
            Some("Error creating VM")
        );
        // From the service alone the error is not known.
        let bundles = discover(&client, &Target::Service("1000".into()), false)
            .await
            .unwrap();
        assert_eq!(bundles[0].failed_message, None);
    }
}
