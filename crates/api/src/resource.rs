//! Typed ManageIQ resources and collections. Ids are strings (ManageIQ's ids may exceed
//! 2^32 and the API sends them as strings); columns a type does not name are kept in
//! `extra`, so nothing the server sent is lost.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::{ApiError, ErrorKind};
use crate::query::Query;

fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, got {other}"
        ))),
    }
}

fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected an id, got {other}"
        ))),
    }
}

/// An action a resource offers (`request_retire`, `retire`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRef {
    /// The action name.
    pub name: String,
    /// The HTTP method.
    pub method: String,
    /// Where to send it.
    pub href: String,
}

/// A service (`/api/services/:id`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Its id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// Its href.
    #[serde(default)]
    pub href: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// `provisioned`, `error_in_provisioning` …
    #[serde(default)]
    pub lifecycle_state: Option<String>,
    /// Retired.
    #[serde(default)]
    pub retired: Option<bool>,
    /// `initializing`, `retiring`, `retired`, `error`.
    #[serde(default)]
    pub retirement_state: Option<String>,
    /// The ancestry (`"1000"` for a child of 1000; none for a top-level service).
    #[serde(default, deserialize_with = "opt_id_string")]
    pub ancestry: Option<String>,
    /// The actions it offers.
    #[serde(default)]
    pub actions: Vec<ActionRef>,
    /// Every other column or attribute sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A VM (`/api/vms/:id`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vm {
    /// Its id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// Its href.
    #[serde(default)]
    pub href: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Retired.
    #[serde(default)]
    pub retired: Option<bool>,
    /// Retirement state.
    #[serde(default)]
    pub retirement_state: Option<String>,
    /// The actions it offers.
    #[serde(default)]
    pub actions: Vec<ActionRef>,
    /// Every other column or attribute sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A request (`/api/requests/:id`, `/api/service_requests/:id`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Its id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// `service_retire`, `clone_to_service` …
    #[serde(default)]
    pub request_type: Option<String>,
    /// `pending`, `active`, `finished` …
    #[serde(default)]
    pub request_state: Option<String>,
    /// `Ok`, `Warn`, `Error` …
    #[serde(default)]
    pub status: Option<String>,
    /// The server's message.
    #[serde(default)]
    pub message: Option<String>,
    /// The request's options (`src_ids` …).
    #[serde(default)]
    pub options: Value,
    /// Every other column sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A request task (`…/request_tasks/:id`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestTask {
    /// Its id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// The parent task; none for a bundle's top task.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub miq_request_task_id: Option<String>,
    /// `finished` …
    #[serde(default)]
    pub state: Option<String>,
    /// `Ok`, `Error` …
    #[serde(default)]
    pub status: Option<String>,
    /// What it provisions into (`Service` …).
    #[serde(default)]
    pub destination_type: Option<String>,
    /// Its id.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub destination_id: Option<String>,
    /// Every other column sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A task (`/api/tasks/:id`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Its id.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// `Queued`, `Active`, `Finished` …
    #[serde(default)]
    pub state: Option<String>,
    /// `Ok`, `Error` …
    #[serde(default)]
    pub status: Option<String>,
    /// The server's message.
    #[serde(default)]
    pub message: Option<String>,
    /// Every other column sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A collection read in full (every page).
#[derive(Clone, Debug, PartialEq)]
pub struct Collection<T> {
    /// The collection's `count` (all resources, unfiltered).
    pub count: Option<u64>,
    /// The resources.
    pub resources: Vec<T>,
}

fn decode<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, ApiError> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::new(ErrorKind::Decode, what, format!("unexpected {what}: {e}")))
}

impl Client {
    /// `GET /api/services/:id` (all columns and actions).
    pub async fn service(&self, id: &str) -> Result<Service, ApiError> {
        decode(
            self.get(&format!("services/{id}"), &Query::new()).await?,
            "service",
        )
    }

    /// `GET /api/vms/:id`.
    pub async fn vm(&self, id: &str) -> Result<Vm, ApiError> {
        decode(self.get(&format!("vms/{id}"), &Query::new()).await?, "vm")
    }

    /// `GET /api/requests/:id`.
    pub async fn request(&self, id: &str) -> Result<Request, ApiError> {
        decode(
            self.get(&format!("requests/{id}"), &Query::new()).await?,
            "request",
        )
    }

    /// `GET /api/tasks/:id`.
    pub async fn task(&self, id: &str) -> Result<Task, ApiError> {
        decode(
            self.get(&format!("tasks/{id}"), &Query::new()).await?,
            "task",
        )
    }

    /// Every service matching `query` (resources expanded, pages followed).
    pub async fn services(&self, query: &Query) -> Result<Collection<Service>, ApiError> {
        self.collection("services", query).await
    }

    /// Every resource of `collection` matching `query`, typed.
    pub async fn collection<T: DeserializeOwned>(
        &self,
        collection: &str,
        query: &Query,
    ) -> Result<Collection<T>, ApiError> {
        let mut query = query.clone();
        if !query.expand.iter().any(|e| e == "resources") {
            query = query.expand_resources();
        }
        let (values, count) = self.get_all_counted(collection, &query).await?;
        let resources = values
            .into_iter()
            .map(|v| decode(v, collection))
            .collect::<Result<Vec<T>, _>>()?;
        Ok(Collection { count, resources })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_become_strings_and_extra_columns_are_kept() {
        let s: Service = serde_json::from_value(json!({
            "id": 1000, "name": "b", "ancestry": null, "retired": false, "description": "d",
            "actions": [{"name": "request_retire", "method": "post", "href": "h"}]
        }))
        .unwrap();
        assert_eq!(s.id, "1000");
        assert_eq!(s.extra["description"], "d");
        assert_eq!(s.actions[0].name, "request_retire");
        let t: RequestTask = serde_json::from_value(
            json!({"id": "4004", "miq_request_task_id": "4000", "destination_id": 1004}),
        )
        .unwrap();
        assert_eq!(
            (
                t.miq_request_task_id.as_deref(),
                t.destination_id.as_deref()
            ),
            (Some("4000"), Some("1004"))
        );
        assert!(serde_json::from_value::<Vm>(json!({"id": [1]})).is_err());
    }
}
