//! The loader, checked against ManageIQ's importer (`app/models/miq_ae_yaml_import.rb`): no
//! single peer spec file covers it (the importer's specs import into the database).

use miq_automate_engine::Datastore;

use crate::support::{datastore, repo};

#[test]
fn loads_domains_classes_instances_and_methods() {
    let ds = datastore();
    let s = ds.stats();
    assert_eq!(s.domains, 3);
    assert!(
        s.classes >= 14 && s.instances >= 40 && s.methods >= 10,
        "{s}"
    );
    let (_, base) = ds.domain("base").unwrap();
    assert_eq!((base.priority, base.enabled), (10, true));
    assert!(!ds.domain("Off").unwrap().1.enabled);
    let id = ds
        .class_by_fqname("BASE/test", "attrs")
        .expect("case-insensitive");
    let class = ds.class(id);
    assert!(
        class.instance(".MISSING").is_some(),
        "_missing.yaml is .missing"
    );
    assert_eq!(class.instance("ONE").unwrap().name, "one");
    let m = ds.class(ds.class_by_fqname("Base/Test", "Methods").unwrap());
    assert_eq!(m.method("LOG_IT").unwrap().location, "builtin");
    assert!(m
        .method("set_attr")
        .unwrap()
        .data
        .as_deref()
        .unwrap()
        .contains("exit MIQ_OK"));
    assert_eq!(m.method("set_attr").unwrap().inputs.len(), 3);
}

#[test]
fn reports_every_bad_file_with_its_yaml_path() {
    let errors = Datastore::load(&[repo().join("tests/domains/bad")])
        .unwrap_err()
        .0;
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{text:#?}");
    assert!(text.iter().any(|e| e.ends_with(
        "BadPriority.class/__class__.yaml: object.schema[3].field.priority: expected integer, found a string"
    )), "{text:#?}");
    assert!(
        text.iter()
            .any(|e| e.contains("BadYaml.class/broken.yaml: not valid YAML")),
        "{text:#?}"
    );
    assert!(text.iter().any(|e| e.ends_with(
        "NoName.class/__methods__/m.yaml: object.attributes.name: missing: every export names its object"
    )), "{text:#?}");
    // The lenient form keeps what loaded, including an instance whose object_type is not
    // `instance` (the engine's importer does not check it).
    let (ds, errs) = Datastore::load_lenient(&[repo().join("tests/domains/bad")]);
    assert_eq!(errs.len(), 3);
    let good = ds.class(ds.class_by_fqname("Broken/NS", "Good").unwrap());
    assert!(good.instance("network.delete").is_some());
}

#[test]
fn refuses_a_directory_without_domains() {
    let errors = Datastore::load(&[repo().join("tests/domains/engine/Base/Test")]).unwrap_err();
    assert!(errors.0[0].message.contains("no __domain__.yaml"));
}
