//! Review checks: the `//DMITRY:` comments in the code and the table in `DMITRY_NOTES.md` stay in step, the table
//! covers every function of Core's `net.cpp`, `net_processing.cpp` and `node/eviction.cpp` that disconnects,
//! discourages, bans, evicts or refuses a peer, and every public function of `addrman` and `net` names its Core
//! original (or says it has none).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Rust sources of the workspace crates, relative to the repository root, sorted.
fn rust_sources() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    walk(&path, root, out);
                }
            } else if name.ends_with(".rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    let root = repo_root();
    let mut out = Vec::new();
    for krate in [
        "netbase",
        "protocol",
        "addrman",
        "net",
        "node",
        "bitcoin-compat-tests",
    ] {
        walk(&root.join(krate), &root, &mut out);
    }
    out.sort();
    out
}

/// One `//DMITRY:` site, as the comment states it or as a table row states it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Site {
    file: String,
    function: String,
    core: String,
    status: String,
}

#[derive(Debug)]
struct Comment {
    site: Site,
    line: usize,
    reason: String,
    why: String,
}

const STATUSES: [&str; 3] = ["kept", "changed", "removed"];

/// The name of the `fn` a comment on line `idx` belongs to: the item it stands directly above, else the nearest `fn`
/// item at a smaller indentation (a rustfmt-split signature counts by its first line); `(module)` outside any function.
fn enclosing_fn(lines: &[&str], idx: usize) -> String {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let fn_name = |t: &str| {
        find_fn_keyword(t).map(|pos| {
            t[pos + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
    };
    let own = indent(lines[idx]);
    for l in &lines[idx + 1..] {
        let t = l.trim_start();
        if t.starts_with("//") || t.starts_with("#[") {
            continue;
        }
        if indent(l) == own {
            if let Some(name) = fn_name(t) {
                return name;
            }
        }
        break;
    }
    for l in lines[..idx].iter().rev() {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with("//") || indent(l) >= own {
            continue;
        }
        if let Some(name) = fn_name(t) {
            return name;
        }
        if indent(l) == 0 && !t.starts_with('}') && !t.starts_with(')') {
            break;
        }
    }
    "(module)".to_string()
}

fn find_fn_keyword(t: &str) -> Option<usize> {
    let t_no_comment = t.split("//").next().unwrap_or("");
    let mut search = 0;
    while let Some(p) = t_no_comment[search..].find("fn ") {
        let pos = search + p;
        let before_ok = pos == 0 || t_no_comment[..pos].ends_with(' ');
        let head = &t_no_comment[..pos];
        let head_ok = head.split_whitespace().all(|w| {
            matches!(
                w,
                "pub"
                    | "pub(crate)"
                    | "pub(super)"
                    | "async"
                    | "const"
                    | "unsafe"
                    | "extern"
                    | "\"C\""
            )
        });
        if before_ok && head_ok {
            return Some(pos);
        }
        search = pos + 3;
    }
    None
}

fn parse_comment_text(text: &str) -> Result<(String, String, String, String), String> {
    let (reason, rest) = text.split_once("; Core:").ok_or_else(|| {
        format!("expected `<trigger>; Core: <original>; <kept|changed|removed>...`, got `{text}`")
    })?;
    let (core, tail) = rest.split_once("; ").ok_or_else(|| {
        format!("expected `; <kept|changed|removed>` after the Core original: `{text}`")
    })?;
    let tail = tail.trim();
    let status: String = tail
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if !STATUSES.contains(&status.as_str()) {
        return Err(format!(
            "third field must start with kept, changed or removed: `{text}`"
        ));
    }
    let why = tail[status.len()..]
        .trim_start_matches([':', ' ', '(', '.'])
        .trim()
        .to_string();
    Ok((
        reason.trim().to_string(),
        core.trim().to_string(),
        status,
        why,
    ))
}

fn collect_comments() -> (Vec<Comment>, Vec<String>) {
    let mut comments = Vec::new();
    let mut errors = Vec::new();
    for rel in rust_sources() {
        if rel.ends_with("tests/review.rs") {
            continue;
        }
        let src = fs::read_to_string(repo_root().join(&rel)).unwrap();
        let lines: Vec<&str> = src.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let Some(rest) = t.strip_prefix("//DMITRY:") else {
                continue;
            };
            let mut text = rest.trim().to_string();
            for next in &lines[i + 1..] {
                let n = next.trim_start();
                if n.starts_with("//DMITRY:") || n.starts_with("///") || !n.starts_with("//") {
                    break;
                }
                text.push(' ');
                text.push_str(n.trim_start_matches('/').trim());
            }
            match parse_comment_text(&text) {
                Ok((reason, core, status, why)) => comments.push(Comment {
                    site: Site {
                        file: rel.clone(),
                        function: enclosing_fn(&lines, i),
                        core,
                        status,
                    },
                    line: i + 1,
                    reason,
                    why,
                }),
                Err(e) => errors.push(format!("{rel}:{}: {e}", i + 1)),
            }
        }
    }
    (comments, errors)
}

/// Rows of the `| reason | file:function | Core original | status | why |` table in DMITRY_NOTES.md.
fn table_rows(notes: &str) -> Vec<Site> {
    let mut rows = Vec::new();
    for line in notes.lines() {
        let t = line.trim();
        if !t.starts_with('|') {
            continue;
        }
        let cells: Vec<String> = t
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().replace('`', "").replace("\\|", "|"))
            .collect();
        if cells.len() != 5 || !STATUSES.contains(&cells[3].as_str()) {
            continue;
        }
        let Some((file, function)) = cells[1].rsplit_once(':') else {
            continue;
        };
        rows.push(Site {
            file: file.to_string(),
            function: function.to_string(),
            core: cells[2].clone(),
            status: cells[3].clone(),
        });
    }
    rows
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Mirrors the requirement: DMITRY_NOTES.md and the code's `//DMITRY:` comments agree, one row per comment.
#[test]
fn dmitry_notes_table_matches_code_comments() {
    let (comments, errors) = collect_comments();
    assert!(
        errors.is_empty(),
        "malformed //DMITRY: comments:\n{}",
        errors.join("\n")
    );
    assert!(!comments.is_empty(), "no //DMITRY: comments found");
    let notes = fs::read_to_string(repo_root().join("DMITRY_NOTES.md"))
        .expect("DMITRY_NOTES.md at the root");
    let rows = table_rows(&notes);

    let mut in_code: BTreeMap<Site, Vec<&Comment>> = BTreeMap::new();
    for c in &comments {
        in_code.entry(c.site.clone()).or_default().push(c);
    }
    let mut in_table: BTreeMap<Site, usize> = BTreeMap::new();
    for r in &rows {
        *in_table.entry(r.clone()).or_default() += 1;
    }

    let mut problems = Vec::new();
    for (site, cs) in &in_code {
        let have = in_table.get(site).copied().unwrap_or(0);
        if have < cs.len() {
            for c in &cs[have..] {
                problems.push(format!(
                    "missing row for {}:{} — add:\n| {} | `{}:{}` | {} | {} | {} |",
                    c.site.file,
                    c.line,
                    escape_cell(&c.reason),
                    site.file,
                    site.function,
                    escape_cell(&site.core),
                    site.status,
                    escape_cell(&c.why)
                ));
            }
        }
    }
    for (site, n) in &in_table {
        let have = in_code.get(site).map_or(0, Vec::len);
        if *n > have {
            problems.push(format!(
                "{} row(s) for `{}:{}` / {} / {} have no //DMITRY: comment in the code",
                n - have,
                site.file,
                site.function,
                site.core,
                site.status
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "DMITRY_NOTES.md and the code disagree:\n{}",
        problems.join("\n")
    );
}

/// Every function of Core's net.cpp, net_processing.cpp and node/eviction.cpp that disconnects, discourages, bans,
/// evicts or refuses a peer (measured on commit e3f416dbf7), removed tx/block ones included.
const CORE_DISCONNECT_FUNCTIONS: &[&str] = &[
    "net.cpp::CConnman::InactivityCheck",
    "net.cpp::CConnman::SocketSendData",
    "net.cpp::CConnman::AttemptToEvictConnection",
    "net.cpp::CConnman::CreateNodeFromAcceptedSocket",
    "net.cpp::CConnman::DisconnectNodes",
    "net.cpp::CConnman::SocketHandlerConnected",
    "net.cpp::CConnman::OpenNetworkConnection",
    "net.cpp::CConnman::DisconnectNode",
    "net.cpp::V1Transport::readHeader",
    "net_processing.cpp::PeerManagerImpl::MaybePunishNodeForBlock",
    "net_processing.cpp::PeerManagerImpl::MaybePunishNodeForTx",
    "net_processing.cpp::PeerManagerImpl::ProcessGetBlockData",
    "net_processing.cpp::PeerManagerImpl::SendBlockTransactions",
    "net_processing.cpp::PeerManagerImpl::CheckHeadersPoW",
    "net_processing.cpp::PeerManagerImpl::UpdatePeerStateForReceivedHeaders",
    "net_processing.cpp::PeerManagerImpl::PrepareBlockFilterRequest",
    "net_processing.cpp::PeerManagerImpl::ProcessCompactBlockTxns",
    "net_processing.cpp::PeerManagerImpl::ProcessMessage",
    "net_processing.cpp::PeerManagerImpl::MaybeDiscourageAndDisconnect",
    "net_processing.cpp::PeerManagerImpl::ConsiderEviction",
    "net_processing.cpp::PeerManagerImpl::EvictExtraOutboundPeers",
    "net_processing.cpp::PeerManagerImpl::MaybeSendPing",
    "net_processing.cpp::PeerManagerImpl::SendMessages",
    "node/eviction.cpp::ProtectEvictionCandidatesByRatio",
    "node/eviction.cpp::SelectNodeToEvict",
];

/// Mirrors the requirement: the table's rows cover every Core disconnect site.
#[test]
fn dmitry_notes_cover_every_core_disconnect_function() {
    let notes = fs::read_to_string(repo_root().join("DMITRY_NOTES.md"))
        .expect("DMITRY_NOTES.md at the root");
    let rows = table_rows(&notes);
    let missing: Vec<&str> = CORE_DISCONNECT_FUNCTIONS
        .iter()
        .copied()
        .filter(|f| {
            !rows
                .iter()
                .any(|r| r.core.split(" (").next().unwrap_or("") == *f)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no DMITRY_NOTES.md row names these Core originals: {missing:?}"
    );
}

/// Every `pub fn` in `addrman` and `net` has a doc comment whose first line names its Core original
/// (`Port of …`) or states that Core has none (`Not in Core: …`).
#[test]
fn public_functions_name_their_core_original() {
    let mut bad = Vec::new();
    for rel in rust_sources() {
        if !(rel.starts_with("addrman/src/") || rel.starts_with("net/src/")) {
            continue;
        }
        let src = fs::read_to_string(repo_root().join(&rel)).unwrap();
        let lines: Vec<&str> = src.lines().collect();
        let mut in_test_mod = false;
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if t.starts_with("#[cfg(test)]") {
                in_test_mod = true;
            }
            if in_test_mod || !(t.starts_with("pub fn ") || t.starts_with("pub const fn ")) {
                continue;
            }
            let mut j = i;
            while j > 0 && lines[j - 1].trim_start().starts_with("#[") {
                j -= 1;
            }
            let mut k = j;
            while k > 0 && lines[k - 1].trim_start().starts_with("///") {
                k -= 1;
            }
            let first = if k < j {
                lines[k].trim_start().trim_start_matches('/').trim()
            } else {
                ""
            };
            if !(first.starts_with("Port of ") || first.starts_with("Not in Core")) {
                bad.push(format!(
                    "{rel}:{}: {}",
                    i + 1,
                    t.trim_end_matches('{').trim()
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} public functions whose doc does not start with `Port of …` or `Not in Core…`:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
