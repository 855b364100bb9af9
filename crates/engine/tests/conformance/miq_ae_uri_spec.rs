//! Follows `spec/miq_ae_uri_spec.rb`: argument queries (`hash2query`, `query2hash`) and
//! URI splitting (the core's [`miq_automate_core::uri`]). Every example is ported.

use miq_automate_core::uri::{hash_to_query, query_to_hash, Uri};
use miq_automate_core::Value;

fn hash(pairs: &[(&str, &str)]) -> Vec<(String, Value)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

#[test]
fn queries_and_hashes_convert_both_ways() {
    let env = "dev";
    for (query, pairs) in [
        (
            "environment=dev&message=get_container_info&request=UI_PROVISION_INFO",
            vec![
                ("request", "UI_PROVISION_INFO"),
                ("message", "get_container_info"),
                ("environment", env),
            ],
        ),
        (
            "environment=dev&message=get_allowed_num_vms&request=UI_PROVISION_INFO",
            vec![
                ("request", "UI_PROVISION_INFO"),
                ("message", "get_allowed_num_vms"),
                ("environment", env),
            ],
        ),
        (
            "message=get_lease_times&request=UI_PROVISION_INFO",
            vec![
                ("request", "UI_PROVISION_INFO"),
                ("message", "get_lease_times"),
            ],
        ),
        (
            "message=get_ttl_warnings&request=UI_PROVISION_INFO",
            vec![
                ("request", "UI_PROVISION_INFO"),
                ("message", "get_ttl_warnings"),
            ],
        ),
        (
            "message=get_networks&request=UI_PROVISION_INFO",
            vec![
                ("request", "UI_PROVISION_INFO"),
                ("message", "get_networks"),
            ],
        ),
        (
            "message=get_vmname&request=UI_PROVISION_INFO",
            vec![("request", "UI_PROVISION_INFO"), ("message", "get_vmname")],
        ),
        (
            "message=get_dialogs&request=UI_PROVISION_INFO",
            vec![("request", "UI_PROVISION_INFO"), ("message", "get_dialogs")],
        ),
    ] {
        assert_eq!(hash_to_query(&hash(&pairs)).as_deref(), Some(query));
        let back = query_to_hash(query).unwrap();
        assert_eq!(back.len(), pairs.len(), "{query}");
        for (k, v) in pairs {
            assert_eq!(back[k], v, "{query}: {k}");
        }
    }
}

#[test]
fn keys_and_values_are_escaped_but_alphanumerics() {
    let pairs = hash(&[("test://dev?lab$", "OU=serverbuildingtest, OU=dev2")]);
    let query = hash_to_query(&pairs).unwrap();
    assert_eq!(
        query,
        "test%3A%2F%2Fdev%3Flab%24=OU%3Dserverbuildingtest%2C%20OU%3Ddev2"
    );
    let back = query_to_hash(&query).unwrap();
    assert_eq!(back["test://dev?lab$"], "OU=serverbuildingtest, OU=dev2");
}

#[test]
fn a_uri_is_trimmed_and_its_slashes_collapsed() {
    let uri = "/Cloud/VM/StateMachines/Sample  ";
    assert_eq!(
        Uri::split(uri, "miqaedb").unwrap().path.as_deref(),
        Some(uri.trim())
    );
    assert_eq!(
        Uri::split("//Cloud//VM/StateMachines//Sample  ", "miqaedb")
            .unwrap()
            .path
            .as_deref(),
        Some("/Cloud/VM/StateMachines/Sample")
    );
}
