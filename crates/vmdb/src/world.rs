//! Worlds read as scenarios.
//!
//! A world (docs/world.schema.json, read in Ruby by `MiqAutomate::World.load`) is a scenario
//! with more sections and more keys on its records. The mock serves what it knows (services,
//! VMs, templates, requests, request tasks, tasks, users, groups, under either spelling) and
//! keeps the rest as written in [`WorldParts`]. A key that is neither a scenario key nor a
//! world key is still an error naming its JSON path, with a suggestion.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Sections only a world has: kept as written, the mock does not serve them.
pub const WORLD_SECTIONS: &[&str] = &[
    "ext_management_systems",
    "hosts",
    "ems_clusters",
    "storages",
    "service_templates",
    "tenants",
    "classifications",
    "categories",
    "orchestration_stacks",
    "models",
    "run",
    "behaviour",
    "execute",
    "class_methods",
];

/// The scenario's own top-level keys.
const SCENARIO_SECTIONS: &[&str] = &[
    "description",
    "server",
    "settings",
    "groups",
    "users",
    "services",
    "vms",
    "templates",
    "requests",
    "request_tasks",
    "tasks",
    "faults",
];

/// The world's ManageIQ spellings of the mock's sections: (world name, scenario name).
pub const SECTION_ALIASES: &[(&str, &str)] = &[
    ("miq_groups", "groups"),
    ("miq_requests", "requests"),
    ("miq_request_tasks", "request_tasks"),
    ("miq_tasks", "tasks"),
];

/// Keys of a world record that are not columns: inline rows, behaviour, tags. The rest of a
/// record's world-only keys are columns (`host_id`, `ems_id`, `guid`…).
const NOT_COLUMNS: &[&str] = &[
    "columns",
    "hardware",
    "tags",
    "custom_attributes",
    "ems_custom_attributes",
    "on",
    "timeline",
];

/// One served section's keys: what the scenario's record reads, and what a world adds.
struct RecordKeys {
    scenario: &'static [&'static str],
    world: &'static [&'static str],
}

const VM_WORLD: &[&str] = &[
    "allocated_disk_storage",
    "boot_time",
    "cloud",
    "columns",
    "connection_state",
    "cpu_limit",
    "cpu_reserve",
    "cpu_total_cores",
    "created_on",
    "custom_attributes",
    "description",
    "ems_cluster_id",
    "ems_created_on",
    "ems_custom_attributes",
    "ems_id",
    "ems_ref",
    "evm_owner_id",
    "format",
    "guid",
    "hardware",
    "host_id",
    "hostnames",
    "ipaddresses",
    "last_scan_on",
    "linked_clone",
    "location",
    "mac_addresses",
    "mem_cpu",
    "memory_limit",
    "memory_reserve",
    "miq_group_id",
    "num_cpu",
    "on",
    "orchestration_stack_id",
    "os_image_name",
    "platform",
    "power_state",
    "previous_state",
    "provisioned_storage",
    "publicly_available",
    "ram_size",
    "raw_power_state",
    "retired",
    "retirement_last_warn",
    "retirement_requester",
    "retirement_state",
    "retirement_warn",
    "retires_on",
    "service_id",
    "state_changed_on",
    "storage_id",
    "tags",
    "template",
    "tenant_id",
    "timeline",
    "tools_status",
    "type",
    "uid_ems",
    "updated_on",
    "used_disk_storage",
    "vendor",
    "version",
];

fn record_keys(section: &str) -> Option<RecordKeys> {
    Some(match section {
        "groups" => RecordKeys {
            scenario: &["id", "description", "role", "read_only"],
            world: &[
                "columns",
                "created_on",
                "custom_attributes",
                "group_type",
                "on",
                "sequence",
                "tags",
                "tenant_id",
                "timeline",
                "updated_on",
            ],
        },
        "users" => RecordKeys {
            scenario: &["id", "userid", "name", "password", "groups"],
            world: &[
                "columns",
                "created_on",
                "current_group_id",
                "custom_attributes",
                "email",
                "first_name",
                "last_name",
                "lastlogon",
                "on",
                "tags",
                "timeline",
                "updated_on",
            ],
        },
        "services" => RecordKeys {
            scenario: &[
                "id",
                "name",
                "description",
                "type",
                "parent_id",
                "lifecycle_state",
                "retired",
                "retirement_state",
                "retires_on",
                "retirement_warn",
                "service_template_id",
                "visible",
                "created_at",
            ],
            world: &[
                "columns",
                "custom_attributes",
                "display",
                "evm_owner_id",
                "guid",
                "miq_group_id",
                "on",
                "options",
                "orchestration_manager_id",
                "retirement_last_warn",
                "retirement_requester",
                "stack_name",
                "tags",
                "tenant_id",
                "timeline",
                "updated_at",
            ],
        },
        "vms" => RecordKeys {
            scenario: &[
                "id",
                "name",
                "service_id",
                "type",
                "vendor",
                "power_state",
                "retired",
                "retirement_state",
                "retires_on",
                "template",
            ],
            world: VM_WORLD,
        },
        "templates" => RecordKeys {
            scenario: &["id", "name", "vendor", "guid"],
            world: VM_WORLD,
        },
        "requests" => RecordKeys {
            scenario: &[
                "id",
                "type",
                "request_type",
                "description",
                "approval_state",
                "request_state",
                "status",
                "message",
                "userid",
                "options",
                "source_id",
                "source_type",
                "created_on",
                "updated_on",
                "fulfilled_on",
            ],
            world: &[
                "cancelation_status",
                "columns",
                "on",
                "process",
                "reason",
                "requester_id",
                "requester_name",
                "stamped_by",
                "stamped_on",
                "tags",
                "tenant_id",
                "timeline",
            ],
        },
        "request_tasks" => RecordKeys {
            // miq_request_id and miq_request_task_id are serde aliases of request_id and
            // parent_task_id: ManageIQ's names for the mock's.
            scenario: &[
                "id",
                "request_id",
                "miq_request_id",
                "parent_task_id",
                "miq_request_task_id",
                "type",
                "request_type",
                "description",
                "state",
                "status",
                "message",
                "destination_type",
                "destination_id",
                "source_id",
                "source_type",
                "options",
                "userid",
                "phase",
            ],
            world: &[
                "cancelation_status",
                "columns",
                "created_on",
                "on",
                "tags",
                "tenant_id",
                "timeline",
                "updated_on",
            ],
        },
        "tasks" => RecordKeys {
            scenario: &[
                "id",
                "name",
                "state",
                "status",
                "message",
                "userid",
                "pct_complete",
                "created_on",
                "updated_on",
            ],
            world: &["columns", "context_data", "on", "results", "timeline"],
        },
        _ => return None,
    })
}

/// What a world adds to a scenario, kept as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorldParts {
    /// The world-only sections (`hosts`, `ems_clusters`, `run`, `behaviour`, …) by name.
    pub sections: Map<String, Value>,
    /// The world-only keys of served records, by the record's JSON path (`vms[3]`).
    pub record_keys: BTreeMap<String, Map<String, Value>>,
}

/// A key that is neither a scenario key nor a world key, at `json_path`.
#[derive(Debug)]
pub(crate) struct UnknownKey {
    pub json_path: String,
    pub message: String,
}

/// Moves the world's own sections and record keys out of `doc` (a JSON object), leaving a
/// document the typed scenario parse reads. Record indices are kept, so the typed parse's
/// JSON paths are the file's.
pub(crate) fn split(doc: &mut Map<String, Value>) -> Result<WorldParts, UnknownKey> {
    let mut parts = WorldParts::default();
    let keys: Vec<String> = doc.keys().cloned().collect();
    for key in keys {
        let served = SECTION_ALIASES
            .iter()
            .find(|(alias, _)| *alias == key)
            .map_or(key.as_str(), |(_, name)| *name);
        if WORLD_SECTIONS.contains(&key.as_str()) {
            if let Some(value) = doc.remove(&key) {
                parts.sections.insert(key, value);
            }
            continue;
        }
        if !SCENARIO_SECTIONS.contains(&served) {
            let known = SCENARIO_SECTIONS
                .iter()
                .chain(WORLD_SECTIONS)
                .chain(SECTION_ALIASES.iter().map(|(a, _)| a));
            return Err(UnknownKey {
                json_path: key.clone(),
                message: unknown("section", &key, known),
            });
        }
        let Some(spec) = record_keys(served) else {
            continue;
        };
        // A section that is not an array is left to the typed parse's error.
        let Some(records) = doc.get_mut(&key).and_then(Value::as_array_mut) else {
            continue;
        };
        for (i, record) in records.iter_mut().enumerate() {
            let Some(record) = record.as_object_mut() else {
                continue;
            };
            let path = format!("{key}[{i}]");
            let mut kept = Map::new();
            for name in record.keys().cloned().collect::<Vec<_>>() {
                if spec.scenario.contains(&name.as_str()) {
                    continue;
                }
                if !spec.world.contains(&name.as_str()) {
                    let known = spec.scenario.iter().chain(spec.world);
                    return Err(UnknownKey {
                        json_path: format!("{path}.{name}"),
                        message: unknown("field", &name, known),
                    });
                }
                if let Some(value) = record.remove(&name) {
                    kept.insert(name, value);
                }
            }
            if !kept.is_empty() {
                parts.record_keys.insert(path, kept);
            }
        }
    }
    Ok(parts)
}

/// The columns among a `section` record's world-only keys, `columns` merged in: what the
/// REST API shows besides the mock's own columns (which a `columns` entry cannot replace).
pub(crate) fn extra_columns(section: &str, kept: &Map<String, Value>) -> Map<String, Value> {
    let own = record_keys(section).map_or(&[][..], |k| k.scenario);
    let mut columns = Map::new();
    for (key, value) in kept {
        if !NOT_COLUMNS.contains(&key.as_str()) {
            columns.insert(key.clone(), value.clone());
        }
    }
    if let Some(Value::Object(more)) = kept.get("columns") {
        for (key, value) in more {
            if !own.contains(&key.as_str()) {
                columns.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    columns
}

/// "unknown field `colour`; did you mean `color`?" (a close spelling), else the known names.
fn unknown<'a>(what: &str, word: &str, known: impl Iterator<Item = &'a &'a str>) -> String {
    let mut names: Vec<&str> = known.copied().collect();
    names.sort_unstable();
    names.dedup();
    let best = names
        .iter()
        .map(|n| (distance(word, n), *n))
        .filter(|(d, n)| *d <= 2.max(word.chars().count() / 3) && *d < n.chars().count())
        .min();
    match best {
        Some((_, name)) => format!(
            "unknown {what} `{word}` (neither a scenario nor a world key); did you mean `{name}`?"
        ),
        None => format!(
            "unknown {what} `{word}` (neither a scenario nor a world key); expected one of {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_name_the_closest_key() {
        let m = unknown("field", "hots_id", ["host_id", "ems_id"].iter());
        assert!(m.contains("did you mean `host_id`"), "{m}");
        let m = unknown("section", "zzzz", ["hosts", "vms"].iter());
        assert!(m.contains("expected one of `hosts`, `vms`"), "{m}");
    }
}
