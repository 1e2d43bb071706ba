//! The C programs of `examples/c/` built with the system C compiler against the node library
//! (`libnode.a`, the staticlib this test's own build produced) and run:
//! - `flood.c`: three nodes on loopback, one flood, each other callback fires once, one
//!   receive callback (with the sender) lists the peers, floods a reply and blacklists an
//!   address from inside the callback, peers paged, clean shutdown; the third node's verifying
//!   callback answers PENDING for a payload sent before its dependency, accepts it once when
//!   offered again, ignores a junk one, and reports a late final verdict;
//! - `host_lmdb.c`: a host that opens its own LMDB environment (system liblmdb, `-llmdb`),
//!   hands it to two nodes, floods, shuts down, and then finds the layer's addresses and ban
//!   list in its environment beside its own keys.
//!
//! When valgrind is installed each program also runs under `valgrind --leak-check=full
//! --error-exitcode=1`, which must report no error and no leak.

mod bin_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bin_common::temp_dir;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `name` as cargo built it beside this test binary (`target/<profile>/deps/`, also uplifted
/// to `target/<profile>/`).
fn built_lib(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    for dir in [deps, deps.parent().unwrap()] {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} not found beside {}", exe.display());
}

/// The staticlib the C programs link.
fn static_lib() -> PathBuf {
    built_lib("libnode.a")
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

/// Whether the system LMDB (`<lmdb.h>` and `-llmdb`) is usable by the C compiler: a probe
/// program is compiled and linked. `Err` carries the reason it is not.
fn system_lmdb(out_dir: &Path) -> Result<(), String> {
    let src = out_dir.join("lmdb_probe.c");
    std::fs::write(
        &src,
        "#include <lmdb.h>\nint main(void) { return mdb_version(0, 0, 0) == 0; }\n",
    )
    .unwrap();
    let out = Command::new(cc())
        .arg(&src)
        .args(["-llmdb", "-o"])
        .arg(out_dir.join("lmdb_probe"))
        .output()
        .map_err(|e| format!("the C compiler does not run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "the system liblmdb is not installed (no <lmdb.h> / -llmdb; apt-get install liblmdb-dev): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether the node library was linked against the system `liblmdb.so` (lmdb-sys found it
/// through `.cargo/pkgconfig/liblmdb.pc`) rather than lmdb-sys's bundled copy: `ldd` of the
/// cdylib built with it.
fn library_uses_system_lmdb() -> bool {
    let so = built_lib("libnode.so");
    let out = Command::new("ldd").arg(&so).output().expect("ldd runs");
    String::from_utf8_lossy(&out.stdout).contains("liblmdb.so")
}

/// Builds `examples/c/<name>.c` against `libnode.a`. The library's own LMDB comes from the
/// system `liblmdb.so` when it was built against it (then `-llmdb`), else from `libnode.a`.
fn compile(out_dir: &Path, name: &str) -> PathBuf {
    let exe = out_dir.join(name);
    let root = repo_root();
    let mut cmd = Command::new(cc());
    cmd.args(["-std=c11", "-g", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join(format!("examples/c/{name}.c")))
        .arg(static_lib());
    if library_uses_system_lmdb() {
        cmd.arg("-llmdb");
    }
    let status = cmd
        .args(["-lpthread", "-ldl", "-lm", "-lrt", "-o"])
        .arg(&exe)
        .status()
        .expect("the system C compiler (cc) runs");
    assert!(status.success(), "cc failed to build examples/c/{name}.c");
    exe
}

fn valgrind() -> Option<PathBuf> {
    ["/usr/bin/valgrind", "/usr/local/bin/valgrind"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn valgrind_command(valgrind: &Path, exe: &Path) -> Command {
    let mut cmd = Command::new(valgrind);
    cmd.args([
        "--leak-check=full",
        "--error-exitcode=1",
        "--errors-for-leak-kinds=definite,indirect,possible",
    ])
    .arg(exe);
    cmd
}

fn check_valgrind_clean(stderr: &str) {
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
    assert!(
        stderr.contains("definitely lost: 0 bytes")
            || stderr.contains("All heap blocks were freed"),
        "{stderr}"
    );
}

/// Runs `cmd` for at most `limit`; returns (exit code, stdout, stderr).
fn run_bounded(mut cmd: Command, limit: Duration) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let end = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "timed out after {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn node_dirs(base: &Path) -> Vec<PathBuf> {
    ["a", "b", "c"]
        .iter()
        .map(|n| {
            let d = base.join(n);
            std::fs::create_dir_all(&d).unwrap();
            d
        })
        .collect()
}

fn check_output(code: Option<i32>, stdout: &str, stderr: &str) {
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("delivered once: B=1 C=1 A=0"), "{stdout}");
    assert!(
        stdout.contains("callback re-entered: sender 127.0.0.1:"),
        "{stdout}"
    );
    assert!(stdout.contains("reply A=1 C=1"), "{stdout}");
    assert!(stdout.contains("page 2: peer id="), "{stdout}");
    assert!(
        stdout.contains("verdicts: C pending=1 then child=1 parent=1 junk ignored=1"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("OK"), "{stdout}");
}

/// Not in Core: the C program floods between loopback nodes through the C ABI.
#[test]
fn c_program_floods_between_loopback_nodes() {
    let base = temp_dir("run");
    let exe = compile(&base, "flood");
    let mut cmd = Command::new(&exe);
    cmd.args(node_dirs(&base)).arg("30");
    let (code, stdout, stderr) = run_bounded(cmd, Duration::from_secs(60));
    check_output(code, &stdout, &stderr);
    // The nodes wrote their databases at shutdown.
    for n in ["a", "b", "c"] {
        assert!(base
            .join(n)
            .join("logosregtest/p2p.lmdb/data.mdb")
            .is_file());
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// Not in Core: the same program under valgrind: no memory error, no leak.
#[test]
fn c_program_under_valgrind() {
    let Some(valgrind) = valgrind() else {
        eprintln!("valgrind not installed: skipped");
        return;
    };
    let base = temp_dir("valgrind");
    let exe = compile(&base, "flood");
    let mut cmd = valgrind_command(&valgrind, &exe);
    cmd.args(node_dirs(&base)).arg("120");
    let (code, stdout, stderr) = run_bounded(cmd, Duration::from_secs(300));
    check_output(code, &stdout, &stderr);
    check_valgrind_clean(&stderr);
    let _ = std::fs::remove_dir_all(&base);
}

/// The system LMDB is installed and the library uses it (else the reason to skip). Panics when
/// it is installed but the library carries lmdb-sys's bundled copy: a host's `MDB_env *`
/// would then meet a second LMDB (PKG_CONFIG_PATH overridden, `.cargo/config.toml` ignored?).
fn require_shared_system_lmdb(base: &Path) -> bool {
    if let Err(reason) = system_lmdb(base) {
        eprintln!("skipped: {reason}");
        return false;
    }
    assert!(
        library_uses_system_lmdb(),
        "the system liblmdb is installed but {} is not linked against it (lmdb-sys compiled its \
         bundled LMDB): is PKG_CONFIG_PATH set in the environment, hiding .cargo/pkgconfig?",
        built_lib("libnode.so").display()
    );
    true
}

fn host_lmdb_dirs(base: &Path) -> [PathBuf; 2] {
    let env = base.join("host-env");
    let data = base.join("datadir");
    for d in [&env, &data] {
        std::fs::create_dir_all(d).unwrap();
    }
    [env, data]
}

fn check_host_lmdb_output(code: Option<i32>, stdout: &str, stderr: &str) {
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for line in [
        "delivered once: B=1 A=0",
        "p2p-a: peers.dat ",
        ", 1 address",
        "p2p-a: banlist.json ",
        "host keys intact",
        "reloaded from the host environment",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
    assert!(stdout.trim_end().ends_with("OK"), "{stdout}");
}

/// Not in Core: `examples/c/host_lmdb.c`: the host's own LMDB environment (`mdb_env_open` in C,
/// system liblmdb shared with the library) holds both nodes' address DB and ban list, beside
/// the host's own keys; a restarted node reads its bans back from it.
#[test]
fn c_program_host_lmdb_environment() {
    let base = temp_dir("host-lmdb");
    if !require_shared_system_lmdb(&base) {
        return;
    }
    let exe = compile(&base, "host_lmdb");
    let [env, data] = host_lmdb_dirs(&base);
    let mut cmd = Command::new(&exe);
    cmd.arg(&env).arg(&data).arg("30");
    let (code, stdout, stderr) = run_bounded(cmd, Duration::from_secs(60));
    check_host_lmdb_output(code, &stdout, &stderr);
    assert!(stdout.contains("LMDB 0.9"), "{stdout}");
    // The environment is the host's; nothing went to the data directory.
    assert!(env.join("data.mdb").is_file());
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&base);
}

/// Not in Core: the host-LMDB program under valgrind: no memory error, no leak.
#[test]
fn c_program_host_lmdb_under_valgrind() {
    let Some(valgrind) = valgrind() else {
        eprintln!("valgrind not installed: skipped");
        return;
    };
    let base = temp_dir("host-lmdb-valgrind");
    if !require_shared_system_lmdb(&base) {
        return;
    }
    let exe = compile(&base, "host_lmdb");
    let [env, data] = host_lmdb_dirs(&base);
    let mut cmd = valgrind_command(&valgrind, &exe);
    cmd.arg(&env).arg(&data).arg("120");
    let (code, stdout, stderr) = run_bounded(cmd, Duration::from_secs(300));
    check_host_lmdb_output(code, &stdout, &stderr);
    check_valgrind_clean(&stderr);
    let _ = std::fs::remove_dir_all(&base);
}

/// Not in Core: `logos_p2p.h` declares `MDB_env` / `MDB_dbi` compatibly with `<lmdb.h>`, in
/// either include order (C11 allows the repeated identical typedef; with `<lmdb.h>` first the
/// header skips its own), and as C++.
#[test]
fn c_header_lmdb_types_compatible() {
    let base = temp_dir("header-lmdb");
    if let Err(reason) = system_lmdb(&base) {
        eprintln!("skipped: {reason}");
        return;
    }
    let body = "#include <string.h>\nint main(void) {\n    LogosP2pConfig c;\n    memset(&c, 0, sizeof c);\n    MDB_env *e = NULL;\n    MDB_dbi d = 0;\n    c.lmdb_env = e;\n    c.lmdb_dbi = d;\n    return c.argc;\n}\n";
    for (name, first, second, lang) in [
        ("lmdb_first.c", "<lmdb.h>", "\"logos_p2p.h\"", "c"),
        ("p2p_first.c", "\"logos_p2p.h\"", "<lmdb.h>", "c"),
        ("lmdb_first.cpp", "<lmdb.h>", "\"logos_p2p.h\"", "c++"),
        ("p2p_first.cpp", "\"logos_p2p.h\"", "<lmdb.h>", "c++"),
    ] {
        let src = base.join(name);
        std::fs::write(&src, format!("#include {first}\n#include {second}\n{body}")).unwrap();
        let std_flag = if lang == "c" {
            "-std=c11"
        } else {
            "-std=c++11"
        };
        let out = Command::new(cc())
            .args([
                "-x",
                lang,
                std_flag,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-fsyntax-only",
                "-I",
            ])
            .arg(repo_root().join("include"))
            .arg(&src)
            .output()
            .expect("cc runs");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}
