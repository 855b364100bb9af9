//! Follows `spec/miq_ae_object_lookup_spec.rb`: finding an instantiated object by path
//! (`find_obj_entry`), through the workspace of a run that made three objects: `/Dom1/A/B`
//! and `/Dom1/C/D` `CLASS1/INSTANCE1`, `/Dom1/E/F/CLASS2/INSTANCE2`. Every example is
//! ported.

use miq_automate_core::ObjectId;
use miq_automate_engine::{Run, ScriptedRunner};

use crate::support::build::{attribute, relationship, TempDomains};
use crate::support::no_attrs;

/// The run and its three objects, in creation order.
fn three_objects() -> (Run, [ObjectId; 3]) {
    let t = TempDomains::new();
    let d = t.domain("Dom1", 10);
    d.class(
        "Top/ROOT",
        &[relationship("r1"), relationship("r2"), relationship("r3")],
    )
    .instance(
        "top",
        &[
            ("r1", "/Dom1/A/B/CLASS1/INSTANCE1"),
            ("r2", "/Dom1/C/D/CLASS1/INSTANCE1"),
            ("r3", "/Dom1/E/F/CLASS2/INSTANCE2"),
        ],
    );
    for (class, instance) in [
        ("A/B/CLASS1", "INSTANCE1"),
        ("C/D/CLASS1", "INSTANCE1"),
        ("E/F/CLASS2", "INSTANCE2"),
    ] {
        d.class(class, &[attribute("a")]).instance(instance, &[]);
    }
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate("/Top/ROOT/top", no_attrs())
        .unwrap();
    let kids = run.workspace.obj(run.root.unwrap()).children().to_vec();
    let objects = [kids[0], kids[1], kids[2]];
    (run, objects)
}

fn find(run: &mut Run, path: &str) -> Option<ObjectId> {
    run.workspace.object(Some(path)).ok().flatten()
}

#[test]
fn a_domain_qualified_path_finds_the_object_with_or_without_the_leading_slash() {
    let (mut run, [obj1, ..]) = three_objects();
    assert_eq!(find(&mut run, "/Dom1/A/B/class1/instance1"), Some(obj1));
    assert_eq!(find(&mut run, "Dom1/A/B/class1/instance1"), Some(obj1));
}

#[test]
fn a_namespace_qualified_path_finds_the_object_with_or_without_the_leading_slash() {
    let (mut run, [_, obj2, _]) = three_objects();
    assert_eq!(find(&mut run, "/C/d/ClASs1/instance1"), Some(obj2));
    assert_eq!(find(&mut run, "C/d/class1/instance1"), Some(obj2));
}

#[test]
fn a_glob_in_the_instance_name_matches() {
    let (mut run, [_, obj2, _]) = three_objects();
    assert_eq!(find(&mut run, "/C/d/ClASs1/i?stance1"), Some(obj2));
    assert_eq!(find(&mut run, "/C/d/ClASs1/*"), Some(obj2));
}

#[test]
fn an_unknown_or_invalid_path_finds_nothing() {
    let (mut run, _) = three_objects();
    assert_eq!(
        run.workspace.object(Some("/Dom5/A/B/class1/instance1")),
        Ok(None)
    );
    assert_eq!(run.workspace.object(Some("A/B")), Ok(None));
}
