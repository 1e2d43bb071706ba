//! Port of the peers.dat half of Core's addrdb.cpp (`SerializeDB`, `DeserializeDB`,
//! `ReadFromStream`, `SerializeFileDB`, `DeserializeFileDB`).
//!
//! A peers.dat file is the network's message start (4 bytes), the addrman serialization
//! (`AddrManImpl::Serialize`), and a 32-byte checksum: the network hash of everything before it
//! (SHA256d on Bitcoin networks, exactly bitcoind's `HashedSourceWriter`; Blake2b-256 on Logos
//! networks). Reading checks the message start, then the addrman data, then the checksum, in
//! Core's order, and reports failures as typed [`AddrDbError`]s with Core's message texts.

use std::fmt;
use std::path::Path;

use protocol::HashKind;

use crate::addrman::AddrMan;

/// Name used in the "unsupported format" message (Core prints `CLIENT_NAME`).
pub const CLIENT_NAME: &str = "logos-p2p";

/// What went wrong reading or writing an address database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddrDbErrorKind {
    /// The file does not start with our network's message start (Core: "Invalid network magic
    /// number").
    WrongMagic {
        /// Our network's message start.
        expected: [u8; 4],
        /// The file's first four bytes.
        found: [u8; 4],
    },
    /// The trailing checksum does not match the content (Core: "Checksum mismatch, data
    /// corrupted").
    ChecksumMismatch,
    /// The data ends before the structure it announces.
    Truncated,
    /// A newer format this code cannot read (Core's `InvalidAddrManVersionError`).
    IncompatibleVersion {
        /// The file's format byte.
        format: u8,
        /// The lowest format able to read it, as the file claims.
        lowest_compatible: u8,
        /// The newest format this code reads.
        max_supported: u8,
    },
    /// The data is malformed (Core's "Corrupt AddrMan serialization: ..." / "Corrupted addrman
    /// database: ..." / "Corrupt data. Consistency check failed with code ..." and address
    /// decoding errors); the text is Core's.
    Corrupt(String),
    /// Unserialize was called on an addrman that already holds addresses (Core asserts).
    NotEmpty,
    /// Operating-system error reading or writing the file.
    Io(String),
    /// The file does not exist (Core's `DbNotFoundError`).
    NotFound,
}

impl fmt::Display for AddrDbErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrDbErrorKind::WrongMagic { expected, found } => write!(
                f,
                "Invalid network magic number (expected {}, found {})",
                hex4(expected),
                hex4(found)
            ),
            AddrDbErrorKind::ChecksumMismatch => write!(f, "Checksum mismatch, data corrupted"),
            AddrDbErrorKind::Truncated => write!(f, "end of data"),
            AddrDbErrorKind::IncompatibleVersion {
                format,
                lowest_compatible,
                max_supported,
            } => write!(
                f,
                "Unsupported format of addrman database: {format}. It is compatible with formats >={lowest_compatible}, but the maximum supported by this version of {CLIENT_NAME} is {max_supported}."
            ),
            AddrDbErrorKind::Corrupt(msg) => write!(f, "{msg}"),
            AddrDbErrorKind::NotEmpty => write!(f, "addrman must be empty before loading"),
            AddrDbErrorKind::Io(msg) => write!(f, "{msg}"),
            AddrDbErrorKind::NotFound => write!(f, "file not found"),
        }
    }
}

fn hex4(b: &[u8; 4]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An address database error, with the name of the file (or database) it concerns when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrDbError {
    /// File or database name, if given.
    pub file: Option<String>,
    /// What went wrong.
    pub kind: AddrDbErrorKind,
}

impl AddrDbError {
    /// Not in Core: an error about no particular file.
    pub fn new(kind: AddrDbErrorKind) -> Self {
        AddrDbError { file: None, kind }
    }

    /// Not in Core: attach the file or database name.
    pub fn in_file(mut self, name: impl Into<String>) -> Self {
        self.file = Some(name.into());
        self
    }

    /// Not in Core: whether this is Core's `InvalidAddrManVersionError` (the caller moves the file aside and
    /// starts afresh, as `LoadAddrman` does).
    pub fn is_incompatible_version(&self) -> bool {
        matches!(self.kind, AddrDbErrorKind::IncompatibleVersion { .. })
    }
}

impl From<AddrDbErrorKind> for AddrDbError {
    fn from(kind: AddrDbErrorKind) -> Self {
        AddrDbError::new(kind)
    }
}

impl fmt::Display for AddrDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for AddrDbError {}

/// Port of SerializeDB (addrdb.cpp) for an addrman: message start, addrman, and the checksum
/// (network hash of both) — the complete peers.dat bytes.
pub fn write_peers_dat(addrman: &AddrMan, message_start: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 70 * addrman.size(None, None));
    out.extend_from_slice(&message_start);
    addrman
        .serialize_body(&mut out)
        .expect("writing to a Vec cannot fail");
    let checksum = addrman.hash_kind().hash(&out);
    out.extend_from_slice(&checksum);
    out
}

/// Port of DeserializeDB (addrdb.cpp) for an addrman: check the message start, load the
/// addrman data into `addrman` (which must be empty), and, if `check_sum`, verify the trailing
/// checksum with the network hash `hash`. Bytes after the checksum are ignored, as in Core. On
/// an error the addrman is left empty.
pub fn deserialize_db(
    addrman: &AddrMan,
    data: &[u8],
    message_start: [u8; 4],
    hash: HashKind,
    check_sum: bool,
) -> Result<(), AddrDbError> {
    if data.len() < 4 {
        return Err(AddrDbErrorKind::Truncated.into());
    }
    let mut magic = [0u8; 4];
    magic.copy_from_slice(&data[..4]);
    if magic != message_start {
        return Err(AddrDbErrorKind::WrongMagic {
            expected: message_start,
            found: magic,
        }
        .into());
    }
    let mut rest: &[u8] = &data[4..];
    let key = addrman.key();
    addrman.unserialize(&mut rest)?;
    if check_sum {
        // the checksum covers everything read so far (Core's HashVerifier)
        let end = data.len() - rest.len();
        let error = if rest.len() < 32 {
            Some(AddrDbErrorKind::Truncated)
        } else {
            (rest[..32] != hash.hash(&data[..end])).then_some(AddrDbErrorKind::ChecksumMismatch)
        };
        if let Some(kind) = error {
            // Core leaves the data read in the addrman and its callers throw it away; here a
            // failed load leaves the addrman empty, as a failure inside the data does.
            addrman.reset_after_failed_load(key);
            return Err(kind.into());
        }
    }
    Ok(())
}

/// Port of DeserializeDB (addrdb.cpp): peers.dat bytes into `addrman` (empty), checksum verified with the addrman's hash kind.
pub fn read_peers_dat(
    addrman: &AddrMan,
    data: &[u8],
    message_start: [u8; 4],
) -> Result<(), AddrDbError> {
    deserialize_db(addrman, data, message_start, addrman.hash_kind(), true)
}

/// Port of ReadFromStream (addrdb.cpp): like [`read_peers_dat`] without the checksum check
/// (the stream need not carry one).
pub fn read_from_stream(
    addrman: &AddrMan,
    data: &[u8],
    message_start: [u8; 4],
) -> Result<(), AddrDbError> {
    deserialize_db(addrman, data, message_start, addrman.hash_kind(), false)
}

/// Port of DeserializeFileDB (addrdb.cpp): read a peers.dat file into `addrman`. Errors carry
/// the file's path; a missing file is [`AddrDbErrorKind::NotFound`].
pub fn read_peers_dat_file(
    addrman: &AddrMan,
    path: &Path,
    message_start: [u8; 4],
) -> Result<(), AddrDbError> {
    let name = path.display().to_string();
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AddrDbError::new(AddrDbErrorKind::NotFound).in_file(name))
        }
        Err(e) => return Err(AddrDbError::new(AddrDbErrorKind::Io(e.to_string())).in_file(name)),
    };
    read_peers_dat(addrman, &data, message_start).map_err(|e| e.in_file(name))
}

/// Port of SerializeFileDB (addrdb.cpp): write peers.dat through a temporary file in the same
/// directory (`peers.dat.XXXX`), flushed, then renamed over the target.
pub fn write_peers_dat_file(
    addrman: &AddrMan,
    path: &Path,
    message_start: [u8; 4],
) -> Result<(), AddrDbError> {
    use std::io::Write;
    let name = path.display().to_string();
    let io_err = |e: std::io::Error| {
        AddrDbError::new(AddrDbErrorKind::Io(e.to_string())).in_file(name.clone())
    };
    let bytes = write_peers_dat(addrman, message_start);
    let randv =
        (crate::random::entropy_seed()[0] as u16) << 8 | crate::random::entropy_seed()[1] as u16;
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "peers.dat".to_string());
    let tmp = path.with_file_name(format!("{file_name}.{randv:04x}"));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    Ok(())
}
