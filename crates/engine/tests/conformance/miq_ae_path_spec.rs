//! Follows `spec/miq_ae_path_spec.rb`: datastore paths as `MiqAePath` builds and splits
//! them (the core's [`AePath`]), and what a path with a trailing `/` names when
//! instantiated. Every example is ported.

use miq_automate_core::path::SplitOptions;
use miq_automate_core::{AePath, Value};

use crate::support::build::{attribute, TempDomains};
use crate::support::no_attrs;

fn path(
    ns: Option<&str>,
    class: Option<&str>,
    instance: Option<&str>,
    attr: Option<&str>,
) -> String {
    AePath::new(ns, class, instance, attr).to_string()
}

#[test]
fn an_empty_path_is_empty() {
    assert_eq!(AePath::default().to_string(), "");
}

#[test]
fn a_namespace_alone_keeps_the_empty_class_and_instance() {
    assert_eq!(path(Some("NAMESPACE"), None, None, None), "/NAMESPACE//");
    assert_eq!(
        path(Some("NAMESPACE/FOO"), None, None, None),
        "/NAMESPACE/FOO//"
    );
}

#[test]
fn namespace_class_instance_and_attribute_join_with_slashes() {
    assert_eq!(
        path(Some("NAMESPACE"), Some("CLASS"), None, None),
        "/NAMESPACE/CLASS/"
    );
    assert_eq!(
        path(Some("NAMESPACE"), Some("CLASS"), Some("INSTANCE"), None),
        "/NAMESPACE/CLASS/INSTANCE"
    );
    assert_eq!(
        path(
            Some("NAMESPACE"),
            Some("CLASS"),
            Some("INSTANCE"),
            Some("ATTRIBUTE")
        ),
        "/NAMESPACE/CLASS/INSTANCE/ATTRIBUTE"
    );
}

/// `.build` and `.parse`: parts in, the same parts out of the path's text.
#[test]
fn a_built_path_parses_back_to_its_parts() {
    let built = AePath::new(
        Some("TEST_NAMESPACE"),
        Some("TEST_CLASS"),
        Some("TEST_INSTANCE"),
        None,
    );
    assert_eq!(built.namespace.as_deref(), Some("TEST_NAMESPACE"));
    assert_eq!(built.class.as_deref(), Some("TEST_CLASS"));
    assert_eq!(built.instance.as_deref(), Some("TEST_INSTANCE"));
    let text = built.to_string();
    let parsed = AePath::split(&text, SplitOptions::default());
    assert_eq!(parsed, built);
    assert_eq!(parsed.to_string(), text);
}

fn split(
    text: &str,
    options: SplitOptions,
) -> (String, Option<String>, Option<String>, Option<String>) {
    let p = AePath::split(text, options);
    (
        p.namespace.unwrap_or_default(),
        p.class,
        p.instance,
        p.attribute,
    )
}

fn parts(
    ns: &str,
    class: &str,
    instance: Option<&str>,
    attr: Option<&str>,
) -> (String, Option<String>, Option<String>, Option<String>) {
    (
        ns.to_string(),
        Some(class.to_string()),
        instance.map(str::to_string),
        attr.map(str::to_string),
    )
}

#[test]
fn split_takes_simple_and_complex_namespaces_and_escaped_blanks() {
    for ns in ["NS", "FOO/BAR"] {
        assert_eq!(
            split(
                &path(Some(ns), Some("TEST_CLASS"), Some("TEST_INSTANCE"), None),
                SplitOptions::default()
            ),
            parts(ns, "TEST_CLASS", Some("TEST_INSTANCE"), None)
        );
    }
    assert_eq!(
        split(
            "/TEST_NAMESPACE/TEST_CLASS/test3%20with%20blank",
            SplitOptions::default()
        ),
        parts(
            "TEST_NAMESPACE",
            "TEST_CLASS",
            Some("test3%20with%20blank"),
            None
        )
    );
}

#[test]
fn split_without_an_instance_name_or_with_an_attribute_name() {
    let no_instance = SplitOptions {
        has_instance_name: false,
        ..SplitOptions::default()
    };
    assert_eq!(
        split("/TEST_NAMESPACE/TEST_CLASS/TEST_INSTANCE", no_instance),
        parts("TEST_NAMESPACE/TEST_CLASS", "TEST_INSTANCE", None, None)
    );
    let attribute = SplitOptions {
        has_attribute_name: true,
        ..SplitOptions::default()
    };
    assert_eq!(
        split("/TEST_NAMESPACE/TEST_CLASS/TEST_INSTANCE/attr1", attribute),
        parts(
            "TEST_NAMESPACE",
            "TEST_CLASS",
            Some("TEST_INSTANCE"),
            Some("attr1")
        )
    );
}

/// `MiqAePath.split` gives a nil instance for a trailing `/`; the object is named
/// `/S/NS/C/` (`object_name`) and gets the class defaults (`.default`), as
/// `MiqAeObject.new` does with a nil instance.
#[test]
fn a_trailing_slash_names_the_class_root() {
    assert_eq!(
        split("/S/NS/C/", SplitOptions::default()),
        ("S/NS".to_string(), Some("C".to_string()), None, None)
    );
    let t = TempDomains::new();
    t.domain("S", 10)
        .class("NS/C", &[attribute("attr1").default("class default")])
        .instance("i", &[("attr1", "instance value")]);
    let e = t.engine(miq_automate_engine::ScriptedRunner::new());
    let run = e.instantiate("/S/NS/C/", no_attrs()).unwrap();
    let root = run.workspace.obj(run.root.expect("the class root"));
    assert_eq!(root.name(), "/S/NS/C/");
    assert_eq!(root.read("attr1"), Value::from("class default"));
    // Without the domain: no domain has an instance to overlay, the namespace stays.
    let run = e.instantiate("/NS/C/", no_attrs()).unwrap();
    assert_eq!(run.root, None, "the class is at /S/NS/C, not /NS/C");
}
