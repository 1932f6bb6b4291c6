//! Hermetic tests over the mini-kernel fixtures (`tests/fixtures/`): exact
//! rows for every case the fixtures provoke, on every architecture, DWARF
//! version and section encoding.
//!
//! The golden files under `tests/golden/` are complete dumps of each build;
//! regenerate them with `KSURF_BLESS=1 cargo test -p ksurf-extractor` and
//! review the diff against `tests/fixtures/README.md`.

mod common;

use common::{describe, extract_fixture};
use ksurf_extractor::functions::{CollisionType, FunctionEntry, InlineStatus, InlineType};
use ksurf_extractor::Extraction;

const BUILDS: [&str; 11] = [
    "x86_64-dwarf5",
    "x86_64-dwarf4",
    "x86_64-dwarf5-zlib",
    "x86_64-dwarf5-zstd",
    "x86_64-dwarf5-rela",
    "aarch64",
    "arm",
    "s390x",
    "ppc64le",
    "riscv64",
    "i686",
];

fn entries<'a>(x: &'a Extraction, name: &str) -> Vec<&'a FunctionEntry> {
    x.entries.iter().filter(|e| e.name == name).collect()
}

fn callers(list: &[std::sync::Arc<str>]) -> Vec<&str> {
    list.iter().map(|c| c.as_ref()).collect()
}

fn status(x: &Extraction, name: &str) -> (CollisionType, InlineType, Vec<String>) {
    let s = x
        .statuses
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no function {name}"));
    (s.collision, s.inline, s.transform_suffixes.clone())
}

#[test]
fn every_build_matches_its_golden_dump() {
    let bless = std::env::var_os("KSURF_BLESS").is_some();
    for build in BUILDS {
        let text = describe(&extract_fixture(build), true);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("{build}.txt"));
        if bless {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with KSURF_BLESS=1)", path.display()));
        assert_eq!(text, want, "{build} differs from {}", path.display());
    }
}

#[test]
fn identity_comes_from_the_elf() {
    let cases = [
        (
            "x86_64-dwarf5",
            "debian/6.1.0-99-mini-amd64/amd64",
            "mini-amd64",
            "EM_X86_64",
            64,
            false,
        ),
        (
            "i686",
            "debian/6.1.0-99-mini-686/i386",
            "mini-686",
            "EM_386",
            32,
            false,
        ),
        (
            "aarch64",
            "debian/6.1.0-99-mini-arm64/arm64",
            "mini-arm64",
            "EM_AARCH64",
            64,
            false,
        ),
        (
            "arm",
            "debian/6.1.0-99-mini-armmp/armhf",
            "mini-armmp",
            "EM_ARM",
            32,
            false,
        ),
        (
            "ppc64le",
            "debian/6.1.0-99-mini-powerpc64le/ppc64el",
            "mini-powerpc64le",
            "EM_PPC64",
            64,
            false,
        ),
        (
            "riscv64",
            "debian/6.1.0-99-mini-riscv64/riscv64",
            "mini-riscv64",
            "EM_RISCV",
            64,
            false,
        ),
        (
            "s390x",
            "debian/6.1.0-99-mini-s390x/s390x",
            "mini-s390x",
            "EM_S390",
            64,
            true,
        ),
    ];
    for (build, id, flavor, machine, class, big_endian) in cases {
        let x = extract_fixture(build);
        assert_eq!(x.info.id.to_string(), id, "{build}");
        assert_eq!(x.info.flavor, flavor, "{build}");
        assert_eq!(x.info.elf_machine, machine, "{build}");
        assert_eq!(x.info.elf_class, class, "{build}");
        assert_eq!(x.info.big_endian, big_endian, "{build}");
        assert_eq!(x.compile_units, 11, "{build}");
        assert!(x.unit_errors.is_empty(), "{build}: {:?}", x.unit_errors);
    }
    let x = extract_fixture("x86_64-dwarf5");
    assert_eq!(
        x.info.build_id.as_deref(),
        Some("18f010fe421acb8802b545b5f91a554e4cdb496b")
    );
    assert_eq!(
        x.info.banner.as_deref(),
        Some("Linux version 6.1.0-99-mini-amd64 (fixture@ksurf) (gcc 12) #1 SMP Debian 6.1.999-1 (2026-01-01)")
    );
    let bytes = std::fs::read(common::fixture("x86_64-dwarf5")).unwrap();
    assert_eq!(x.info.vmlinux_size, bytes.len() as u64);
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(x.info.vmlinux_sha256, digest);
}

/// The facts of `tests/fixtures/README.md`, read there with readelf.
#[test]
fn x86_64_cases_have_depsurf_semantics() {
    let x = extract_fixture("x86_64-dwarf5");

    // Static-static collision: two statics, one per file.
    assert_eq!(
        status(&x, "collide_static_static"),
        (CollisionType::StaticStaticCollision, InlineType::No, vec![])
    );
    let ss = entries(&x, "collide_static_static");
    assert_eq!(ss.len(), 2);
    assert_eq!(
        (ss[0].decl_file.as_deref(), ss[0].decl_line),
        (Some("kernel/core.c"), Some(12))
    );
    assert_eq!(ss[0].cu_path.as_deref(), Some("kernel/core.c"));
    assert_eq!(callers(&ss[0].direct_callers), ["kernel/core.c:core_init"]);
    assert_eq!(
        (ss[1].decl_file.as_deref(), ss[1].decl_line),
        (Some("kernel/sched.c"), Some(16))
    );
    assert_eq!(
        callers(&ss[1].direct_callers),
        ["kernel/sched.c:sched_init"]
    );

    // Static-global collision.
    assert_eq!(
        status(&x, "collide_static_global").0,
        CollisionType::StaticGlobalCollision
    );
    let sg = entries(&x, "collide_static_global");
    assert_eq!(sg.len(), 2);
    assert!(!sg[0].external && sg[1].external);
    assert_eq!(sg[0].decl_file.as_deref(), Some("fs/read.c"));
    assert_eq!(sg[1].decl_file.as_deref(), Some("mm/alloc.c"));
    assert_eq!(
        callers(&sg[1].direct_callers),
        ["init/main.c:start_kernel", "mm/alloc.c:part_candidate"]
    );

    // Static duplication: one header line, three units.
    assert_eq!(
        status(&x, "dup_header_helper").0,
        CollisionType::StaticDuplication
    );
    let dup = entries(&x, "dup_header_helper");
    let units: Vec<_> = dup.iter().map(|e| e.cu_path.as_deref().unwrap()).collect();
    assert_eq!(units, ["fs/read.c", "kernel/core.c", "mm/alloc.c"]);
    assert!(dup.iter().all(
        |e| e.decl_file.as_deref() == Some("include/linux/helpers.h") && e.decl_line == Some(13)
    ));

    // Full inlining: no symbol, inlined in two callers.
    assert_eq!(
        status(&x, "full_inline_helper"),
        (CollisionType::UniqueStatic, InlineType::Full, vec![])
    );
    let full = entries(&x, "full_inline_helper");
    assert_eq!(full[0].inline, InlineStatus::NotDeclaredInlined);
    assert_eq!(
        callers(&full[0].inline_callers),
        ["kernel/core.c:core_fast_path", "kernel/core.c:core_init"]
    );
    assert!(full[0].direct_callers.is_empty());
    // A static inline header function inlined everywhere: duplicated and full.
    assert_eq!(
        status(&x, "header_inline_helper"),
        (CollisionType::StaticDuplication, InlineType::Full, vec![])
    );
    assert!(entries(&x, "header_inline_helper")
        .iter()
        .all(|e| e.inline == InlineStatus::DeclaredInlined));

    // Selective inlining: a symbol, one inlined copy, one call.
    assert_eq!(
        status(&x, "selective_inline_target"),
        (CollisionType::UniqueGlobal, InlineType::Selective, vec![])
    );
    let sel = entries(&x, "selective_inline_target")[0];
    assert_eq!(callers(&sel.inline_callers), ["kernel/core.c:core_init"]);
    assert_eq!(callers(&sel.direct_callers), ["kernel/sched.c:sched_init"]);
    assert_eq!(sel.addr, 0x401170, "the out-of-line copy's address wins");

    // Clones.
    assert_eq!(status(&x, "isra_candidate").2, ["isra"]);
    assert_eq!(status(&x, "constprop_candidate").2, ["constprop"]);
    assert_eq!(status(&x, "part_candidate").2, ["part"]);
    assert_eq!(status(&x, "cold_candidate").2, ["cold"]);
    assert_eq!(status(&x, "cold_candidate").1, InlineType::No);
    let isra = entries(&x, "isra_candidate")[0];
    assert_eq!(
        callers(&isra.direct_callers),
        ["mm/alloc.c:alloc_user_two", "mm/alloc.c:alloc_user_one"]
    );
    let part = entries(&x, "part_candidate")[0];
    assert_eq!(
        callers(&part.inline_callers),
        [
            "mm/alloc.c:alloc_init",
            "mm/alloc.c:alloc_user_two",
            "mm/alloc.c:alloc_user_one"
        ]
    );
    assert_eq!(part.direct_callers, part.inline_callers);

    // A call site inside an inlined copy counts for the enclosing function.
    let target = entries(&x, "call_target")[0];
    assert_eq!(
        callers(&target.direct_callers),
        [
            "kernel/core.c:direct_caller_a",
            "kernel/sched.c:direct_caller_b"
        ]
    );
    // Indirect calls count for nobody.
    assert!(entries(&x, "callback_handler")[0].direct_callers.is_empty());
    // Recursion: two call sites of itself.
    assert_eq!(
        callers(&entries(&x, "recursive_walk")[0].direct_callers),
        [
            "init/main.c:start_kernel",
            "kernel/core.c:recursive_walk",
            "kernel/core.c:recursive_walk"
        ]
    );

    // Assembly: an external C declaration merges with the assembler definition.
    let asm = entries(&x, "asm_only_function");
    assert_eq!(asm.len(), 1);
    assert_eq!(asm[0].cu_path.as_deref(), Some("arch/entry.S"));
    assert_eq!(asm[0].decl_file, None);
    assert_eq!(
        asm[0].signature.as_ref().map(|s| s.prototype.as_str()),
        Some("int asm_only_function(int);")
    );
    assert_eq!(entries(&x, "_start")[0].signature, None);

    // __compiletime_assert_* never appear.
    assert!(x
        .entries
        .iter()
        .all(|e| !e.name.starts_with("__compiletime_assert_")));
    assert!(x
        .statuses
        .iter()
        .all(|s| !s.name.starts_with("__compiletime_assert_")));
}

#[test]
fn prototypes_render_as_c() {
    let x = extract_fixture("x86_64-dwarf5");
    let proto = |name: &str| {
        entries(&x, name)[0]
            .signature
            .as_ref()
            .unwrap_or_else(|| panic!("{name} has no prototype"))
            .clone()
    };
    let cases = [
        (
            "alloc_pages_fixture",
            "struct page *alloc_pages_fixture(gfp_t gfp_mask, unsigned int order);",
        ),
        (
            "varargs_logger",
            "int varargs_logger(const char *fmt, ...);",
        ),
        (
            "register_callback",
            "void register_callback(void (*cb)(int, void *), void *data);",
        ),
        ("get_handler", "void (*get_handler(int idx))(int, void *);"),
        ("sum_grid", "int sum_grid(int (*grid)[4], int rows);"),
        (
            "read_reg",
            "long unsigned int read_reg(const char *const name, volatile long unsigned int *reg);",
        ),
        ("matrix_trace", "int matrix_trace(const struct matrix *m);"),
        ("void_params", "int void_params(void);"),
        ("zone_param", "int zone_param(enum zone_type zone);"),
        (
            "union_param",
            "long unsigned int union_param(union pte_val v);",
        ),
        ("bool_param", "_Bool bool_param(_Bool flag, int x);"),
        ("anon_struct_ptr", "int anon_struct_ptr(anon_pair_t *p);"),
        ("start_kernel", "void start_kernel(void);"),
    ];
    for (name, want) in cases {
        assert_eq!(proto(name).prototype, want, "{name}");
    }
    let get_handler = proto("get_handler");
    assert_eq!(get_handler.return_type, "void (*)(int, void *)");
    let reg = proto("read_reg");
    assert_eq!(
        reg.params,
        [
            (Some("name".to_owned()), "const char *const".to_owned()),
            (
                Some("reg".to_owned()),
                "volatile long unsigned int *".to_owned()
            ),
        ]
    );
    assert!(proto("varargs_logger").variadic);
    assert_eq!(proto("sum_grid").params[0].1, "int (*)[4]");
}

/// DWARF 4, compressed sections and kept relocations describe the same
/// program as the DWARF 5 build.
#[test]
fn encodings_agree_with_dwarf5() {
    let reference = describe(&extract_fixture("x86_64-dwarf5"), false);
    for build in [
        "x86_64-dwarf4",
        "x86_64-dwarf5-zlib",
        "x86_64-dwarf5-zstd",
        "x86_64-dwarf5-rela",
    ] {
        let text = describe(&extract_fixture(build), false);
        assert_eq!(text, reference, "{build} differs from x86_64-dwarf5");
    }
    // Compression changes nothing at all, addresses included.
    let plain = describe(&extract_fixture("x86_64-dwarf5"), true);
    for build in ["x86_64-dwarf5-zlib", "x86_64-dwarf5-zstd"] {
        assert_eq!(describe(&extract_fixture(build), true), plain, "{build}");
    }
}

/// Every architecture sees the same functions with the same statuses, but
/// for the `.cold` split GCC only does on x86.
#[test]
fn architectures_agree_on_function_status() {
    let statuses = |x: &Extraction| -> Vec<(String, CollisionType, InlineType, Vec<String>)> {
        x.statuses
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.collision,
                    s.inline,
                    s.transform_suffixes.clone(),
                )
            })
            .collect()
    };
    let mut reference = statuses(&extract_fixture("x86_64-dwarf5"));
    assert_eq!(reference.len(), 42);
    assert_eq!(statuses(&extract_fixture("i686")), reference, "i686");
    for (name, _, _, suffixes) in &mut reference {
        if name == "cold_candidate" {
            suffixes.clear();
        }
    }
    for build in ["aarch64", "arm", "s390x", "ppc64le", "riscv64"] {
        assert_eq!(statuses(&extract_fixture(build)), reference, "{build}");
    }
}
