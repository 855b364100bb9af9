//! Attribute get/set, path lookup and substitution on the in-memory workspace.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use miq_automate_core::substitution::substitute;
use miq_automate_core::{AeObject, ObjectId, Value, Workspace};

fn workspace() -> Workspace {
    let mut ws = Workspace::with_root([("vm_target_name", Value::from("web01"))]);
    let mut parent = ObjectId(0);
    for depth in 0..8 {
        let o = AeObject::new(
            Some("ManageIQ/Infrastructure/VM"),
            Some(&format!("Class{depth}")),
            Some(&format!("Inst{depth}")),
            "create",
        );
        parent = ws.add_object(Some(parent), o);
        ws.obj_mut(parent).set("attr", Value::Integer(depth));
    }
    ws.push_current(parent, Some("bench"));
    ws
}

fn benches(c: &mut Criterion) {
    let mut ws = workspace();
    c.bench_function("root_get", |b| {
        b.iter(|| black_box(ws.root_get(black_box("VM_Target_Name"))))
    });
    c.bench_function("root_set", |b| {
        b.iter(|| ws.root_set(black_box("Status"), Value::from("ok")))
    });
    c.bench_function("object_named_ancestor", |b| {
        b.iter(|| black_box(ws.object(Some(black_box("Class2"))).unwrap()))
    });
    c.bench_function("object_glob_path", |b| {
        b.iter(|| {
            black_box(
                ws.object(Some(black_box("/ManageIQ/Infrastructure/VM/Class5/In*")))
                    .unwrap(),
            )
        })
    });
    c.bench_function("substitute", |b| {
        b.iter(|| {
            black_box(
                substitute(
                    &mut ws,
                    black_box("VM ${/#vm_target_name} at ${Class3#attr} (${..#attr})"),
                )
                .unwrap(),
            )
        })
    });
}

criterion_group!(core, benches);
criterion_main!(core);
