//! Exact kfunc and LSM hook rows of the `fixtures/kfuncs/` ELF.

use std::path::PathBuf;

use ksurf_extractor::{extract, kfuncs, lsm_hooks, IdentityOverrides};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kfuncs/kfuncs.elf")
}

#[test]
fn kfunc_rows() {
    let path = fixture();
    let x = extract(&path, &IdentityOverrides::default()).unwrap();
    let data = std::fs::read(&path).unwrap();
    let rows = kfuncs::extract(&path, &data, &x.entries).unwrap();
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} | {} | {:?} | {:?} | {:?}",
                r.name,
                r.signature.as_ref().map_or("-", |s| s.prototype.as_str()),
                r.sets,
                r.flags,
                r.flag_bits
            )
        })
        .collect();
    assert_eq!(got, [
            "demo_sleepable | int demo_sleepable(int x); | [\"demo_kfunc_ids\", \"other_kfunc_ids\"] | Some([\"acquire\", \"sleepable\", \"0x40000\"]) | Some(262177)",
            "demo_task_acquire | struct task_struct *demo_task_acquire(struct task_struct *p); | [\"demo_kfunc_ids\"] | Some([\"acquire\", \"ret_null\"]) | Some(5)",
            "demo_task_release | void demo_task_release(struct task_struct *p); | [\"demo_kfunc_ids\"] | Some([\"release\"]) | Some(2)",
        ]);
}

#[test]
fn lsm_hook_rows() {
    let path = fixture();
    let x = extract(&path, &IdentityOverrides::default()).unwrap();
    let rows = lsm_hooks::extract(&x.symbols, &x.entries, &x.types);
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} | {} | {:?} | {} | {:?}",
                r.name,
                r.signature.as_ref().map_or("-", |s| s.prototype.as_str()),
                r.signature_source.map(|s| s.as_str()),
                r.bpf_lsm,
                r.signature.as_ref().map(|s| &s.params)
            )
        })
        .collect();
    assert_eq!(got, [
            "file_open | int file_open(struct file *file); | Some(\"bpf_lsm\") | true | Some([(Some(\"file\"), \"struct file *\")])",
            "path_rename | int path_rename(const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry, unsigned int flags); | Some(\"bpf_lsm\") | true | Some([(Some(\"old_dir\"), \"const struct path *\"), (Some(\"old_dentry\"), \"struct dentry *\"), (Some(\"new_dir\"), \"const struct path *\"), (Some(\"new_dentry\"), \"struct dentry *\"), (Some(\"flags\"), \"unsigned int\")])",
            "task_alloc | int task_alloc(struct task_struct *, long unsigned int); | Some(\"security_list_options\") | false | Some([(None, \"struct task_struct *\"), (None, \"long unsigned int\")])",
        ]);
}
