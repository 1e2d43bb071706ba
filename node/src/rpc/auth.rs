//! RPC credentials (port of the authentication half of `httprpc.cpp` and the cookie
//! functions of `rpc/request.cpp`).
//!
//! As bitcoind: with `-rpcpassword` unset a random cookie `__cookie__:<64 hex>` is written to
//! `<datadir>/.cookie` (through `.cookie.tmp` and a rename, mode 0600) and removed at stop;
//! `-rpcuser`/`-rpcpassword` and every `-rpcauth=<user>:<salt>$<hmac>` are accepted too.
//! Passwords are never kept: each is stored as HMAC-SHA256 under a random salt, and
//! comparisons are timing resistant.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Port of COOKIEAUTH_USER (rpc/request.cpp).
pub const COOKIEAUTH_USER: &str = "__cookie__";
/// Port of COOKIEAUTH_FILE (rpc/request.cpp).
pub const COOKIEAUTH_FILE: &str = ".cookie";
/// Port of the `WWW_AUTH_HEADER_DATA` value sent with every 401.
pub const WWW_AUTH_HEADER_DATA: &str = "Basic realm=\"jsonrpc\"";

/// Port of GetStrongRandBytes (random.cpp) for the cookie and the salt: the OS generator.
pub fn get_strong_rand_bytes(out: &mut [u8]) -> std::io::Result<()> {
    fs::File::open("/dev/urandom")?.read_exact(out)
}

/// Port of HexStr (util/strencodings.cpp).
pub fn hex_str(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Port of CHMAC_SHA256 (crypto/hmac_sha256.cpp): HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut rkey = [0u8; 64];
    if key.len() <= 64 {
        rkey[..key.len()].copy_from_slice(key);
    } else {
        rkey[..32].copy_from_slice(&Sha256::digest(key));
    }
    let mut inner = Sha256::new();
    inner.update(rkey.map(|b| b ^ 0x36));
    inner.update(data);
    let ih = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(rkey.map(|b| b ^ 0x5c));
    outer.update(ih);
    outer.finalize().into()
}

/// Port of TimingResistantEqual (util/strencodings.h): time depends on the lengths only.
pub fn timing_resistant_equal(a: &[u8], b: &[u8]) -> bool {
    if b.is_empty() {
        return a.is_empty();
    }
    let mut acc = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        acc |= usize::from(x ^ b[i % b.len()]);
    }
    acc == 0
}

/// Port of DecodeBase64 (util/strencodings.cpp): length a multiple of 4, at most two `=`
/// at the end, no other characters, no stray bits.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut s = s.as_bytes();
    if !s.len().is_multiple_of(4) {
        return None;
    }
    for _ in 0..2 {
        if s.last() == Some(&b'=') {
            s = &s[..s.len() - 1];
        }
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = ((acc << 6) | u32::from(v)) & 0xfff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 6 || (acc << (8 - bits)) & 0xff != 0 {
        return None;
    }
    Some(out)
}

/// Port of EncodeBase64 (util/strencodings.cpp), for clients and tests.
pub fn encode_base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(T[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Where the cookie goes (port of GetAuthCookieFile): `-rpccookiefile` (default `.cookie`),
/// relative paths taken from the data directory; `None` when disabled (`-norpccookiefile`).
pub fn get_auth_cookie_file(
    datadir: &Path,
    rpccookiefile: Option<&str>,
    temp: bool,
) -> Option<PathBuf> {
    let name = rpccookiefile.unwrap_or(COOKIEAUTH_FILE);
    if name.is_empty() {
        return None;
    }
    let name = if temp {
        format!("{name}.tmp")
    } else {
        name.to_string()
    };
    let p = PathBuf::from(name);
    Some(if p.is_absolute() { p } else { datadir.join(p) })
}

/// Port of InterpretPermString (util/fs_helpers.cpp) for `-rpccookieperms`.
pub fn interpret_perm_string(s: &str) -> Option<u32> {
    match s {
        "owner" => Some(0o600),
        "group" => Some(0o640),
        "all" => Some(0o644),
        _ => None,
    }
}

/// Result of cookie generation (port of GenerateAuthCookieResult).
#[derive(Debug, PartialEq, Eq)]
pub enum GenerateAuthCookieResult {
    /// Writing failed.
    Err,
    /// `-norpccookiefile`.
    Disabled,
    /// Written; `(user, password, path)`.
    Ok(String, String, PathBuf),
}

/// Port of PermsToSymbolicString (util/fs_helpers.cpp): `rwxrwxrwx` with `-` for each bit
/// not set.
pub fn perms_to_symbolic_string(mode: u32) -> String {
    "rwxrwxrwx"
        .chars()
        .enumerate()
        .map(|(i, c)| if mode & (0o400 >> i) != 0 { c } else { '-' })
        .collect()
}

/// Port of GenerateAuthCookie (rpc/request.cpp).
pub fn generate_auth_cookie(
    datadir: &Path,
    rpccookiefile: Option<&str>,
    perms: Option<u32>,
) -> GenerateAuthCookieResult {
    let mut rand_pwd = [0u8; 32];
    if get_strong_rand_bytes(&mut rand_pwd).is_err() {
        return GenerateAuthCookieResult::Err;
    }
    let rand_pwd_hex = hex_str(&rand_pwd);
    let Some(tmp) = get_auth_cookie_file(datadir, rpccookiefile, true) else {
        return GenerateAuthCookieResult::Disabled;
    };
    let write = || -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(format!("{COOKIEAUTH_USER}:{rand_pwd_hex}").as_bytes())
    };
    if write().is_err() {
        log::warn!(
            "Unable to open cookie authentication file {} for writing",
            tmp.display()
        );
        return GenerateAuthCookieResult::Err;
    }
    let Some(path) = get_auth_cookie_file(datadir, rpccookiefile, false) else {
        return GenerateAuthCookieResult::Disabled;
    };
    if fs::rename(&tmp, &path).is_err() {
        log::warn!(
            "Unable to rename cookie authentication file {} to {}",
            tmp.display(),
            path.display()
        );
        return GenerateAuthCookieResult::Err;
    }
    if let Some(mode) = perms {
        use std::os::unix::fs::PermissionsExt;
        if fs::set_permissions(&path, fs::Permissions::from_mode(mode)).is_err() {
            log::warn!(
                "Unable to set permissions on cookie authentication file {}",
                path.display()
            );
            return GenerateAuthCookieResult::Err;
        }
    }
    log::info!("Generated RPC authentication cookie {}", path.display());
    if let Ok(meta) = fs::metadata(&path) {
        use std::os::unix::fs::PermissionsExt;
        log::info!(
            "Permissions used for cookie: {}",
            perms_to_symbolic_string(meta.permissions().mode())
        );
    }
    GenerateAuthCookieResult::Ok(COOKIEAUTH_USER.to_string(), rand_pwd_hex, path)
}

/// Port of GetAuthCookie (rpc/request.cpp): the first line of the cookie file.
pub fn get_auth_cookie(datadir: &Path, rpccookiefile: Option<&str>) -> Option<String> {
    let path = get_auth_cookie_file(datadir, rpccookiefile, false)?;
    let text = fs::read_to_string(path).ok()?;
    Some(text.lines().next().unwrap_or("").to_string())
}

/// The credential options (`-rpcuser`, `-rpcpassword`, `-rpcauth`, `-rpccookiefile`,
/// `-rpccookieperms`).
#[derive(Clone, Debug, Default)]
pub struct AuthOptions {
    /// `-rpcuser`.
    pub rpc_user: String,
    /// `-rpcpassword` (empty = cookie authentication).
    pub rpc_password: String,
    /// Every `-rpcauth` value.
    pub rpc_auth: Vec<String>,
    /// `-rpccookiefile` (`None` = `.cookie`; `Some("")` = `-norpccookiefile`).
    pub rpc_cookie_file: Option<String>,
    /// `-rpccookieperms`.
    pub rpc_cookie_perms: Option<String>,
}

/// The accepted credentials: `(user, salt, hex HMAC)` triples (Core's `g_rpcauth`), and the
/// cookie this process wrote (removed on drop / [`RpcAuth::delete_auth_cookie`]).
#[derive(Debug, Default)]
pub struct RpcAuth {
    entries: Vec<[String; 3]>,
    generated_cookie: std::sync::Mutex<Option<PathBuf>>,
}

impl RpcAuth {
    /// Port of InitRPCAuthentication (httprpc.cpp).
    pub fn init(datadir: &Path, opts: &AuthOptions) -> Result<RpcAuth, String> {
        let mut auth = RpcAuth::default();
        let (user, pass);
        if opts.rpc_password.is_empty() {
            let perms = match &opts.rpc_cookie_perms {
                None => None,
                Some(p) => match interpret_perm_string(p) {
                    Some(m) => Some(m),
                    None => {
                        let e = format!("Invalid -rpccookieperms={p}; must be one of 'owner', 'group', or 'all'.");
                        log::error!("{e}");
                        return Err(e);
                    }
                },
            };
            match generate_auth_cookie(datadir, opts.rpc_cookie_file.as_deref(), perms) {
                GenerateAuthCookieResult::Err => {
                    return Err("Unable to generate the RPC authentication cookie".into())
                }
                GenerateAuthCookieResult::Disabled => {
                    log::info!("RPC authentication cookie file generation is disabled.");
                    (user, pass) = (String::new(), String::new());
                }
                GenerateAuthCookieResult::Ok(u, p, path) => {
                    log::info!("Using random cookie authentication.");
                    *auth
                        .generated_cookie
                        .get_mut()
                        .unwrap_or_else(|e| e.into_inner()) = Some(path);
                    (user, pass) = (u, p);
                }
            }
        } else {
            log::info!("Using rpcuser/rpcpassword authentication.");
            log::warn!("The use of rpcuser/rpcpassword is less secure, because credentials are configured in plain text. It is recommended that locally-run instances switch to cookie-based auth, or otherwise to use hashed rpcauth credentials. See share/rpcauth in the source directory for more information.");
            (user, pass) = (opts.rpc_user.clone(), opts.rpc_password.clone());
        }
        if !user.is_empty() || !pass.is_empty() {
            let mut raw_salt = [0u8; 16];
            get_strong_rand_bytes(&mut raw_salt).map_err(|e| e.to_string())?;
            let salt = hex_str(&raw_salt);
            let hash = hex_str(&hmac_sha256(salt.as_bytes(), pass.as_bytes()));
            auth.entries.push([user, salt, hash]);
        }
        if !opts.rpc_auth.is_empty() {
            log::info!("Using rpcauth authentication.");
            for rpcauth in &opts.rpc_auth {
                let fields: Vec<&str> = rpcauth.split(':').collect();
                let salt_hmac: Vec<&str> =
                    fields.last().copied().unwrap_or("").split('$').collect();
                if fields.len() == 2 && salt_hmac.len() == 2 {
                    auth.entries
                        .push([fields[0].into(), salt_hmac[0].into(), salt_hmac[1].into()]);
                } else {
                    log::info!("Invalid -rpcauth argument.");
                    return Err("Invalid -rpcauth argument.".into());
                }
            }
        }
        Ok(auth)
    }

    /// Port of CheckUserAuthorized (httprpc.cpp).
    pub fn check_user_authorized(&self, user: &str, pass: &str) -> bool {
        for [u, salt, hash] in &self.entries {
            if !timing_resistant_equal(u.as_bytes(), user.as_bytes()) {
                continue;
            }
            let from_pass = hex_str(&hmac_sha256(salt.as_bytes(), pass.as_bytes()));
            if timing_resistant_equal(from_pass.as_bytes(), hash.as_bytes()) {
                return true;
            }
        }
        false
    }

    /// Port of RPCAuthorized (httprpc.cpp): `Some(user)` if the `Authorization` header value
    /// is valid Basic credentials for an accepted user. `Err(user)` gives the claimed user
    /// name of a failed attempt (empty if the header did not parse).
    pub fn rpc_authorized(&self, header: &str) -> Result<String, String> {
        let Some(rest) = header.strip_prefix("Basic ") else {
            return Err(String::new());
        };
        let Some(decoded) =
            decode_base64(rest.trim_matches(|c: char| " \x0c\n\r\t\x0b".contains(c)))
        else {
            return Err(String::new());
        };
        let user_pass = String::from_utf8_lossy(&decoded).into_owned();
        let Some((user, pass)) = user_pass.split_once(':') else {
            return Err(String::new());
        };
        if self.check_user_authorized(user, pass) {
            Ok(user.to_string())
        } else {
            Err(user.to_string())
        }
    }

    /// The cookie file this process wrote, if any (until deleted).
    pub fn cookie_path(&self) -> Option<PathBuf> {
        self.generated_cookie
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Port of DeleteAuthCookie (rpc/request.cpp): remove the cookie this process wrote.
    pub fn delete_auth_cookie(&self) {
        let taken = self
            .generated_cookie
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(p) = taken {
            if let Err(e) = fs::remove_file(&p) {
                log::warn!(
                    "Unable to remove random auth cookie file {}: {e}",
                    p.display()
                );
            }
        }
    }
}

impl Drop for RpcAuth {
    fn drop(&mut self) {
        self.delete_auth_cookie();
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    /// PermsToSymbolicString (util/fs_helpers.cpp; no Core unit test) on the modes
    /// `-rpccookieperms` gives and on a full `st_mode`.
    #[test]
    fn perms_to_symbolic_string_modes() {
        assert_eq!(perms_to_symbolic_string(0o600), "rw-------");
        assert_eq!(perms_to_symbolic_string(0o640), "rw-r-----");
        assert_eq!(perms_to_symbolic_string(0o777), "rwxrwxrwx");
        assert_eq!(perms_to_symbolic_string(0o100_644), "rw-r--r--");
        assert_eq!(perms_to_symbolic_string(0), "---------");
    }

    /// Mirrors crypto_tests.cpp: hmac_sha256_testvectors (RFC 4231 test cases 1 and 6).
    #[test]
    fn crypto_tests__hmac_sha256_testvectors() {
        assert_eq!(
            hex_str(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex_str(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    /// Mirrors util_tests.cpp: util_TimingResistantEqual.
    #[test]
    fn util_tests__util_timing_resistant_equal() {
        assert!(timing_resistant_equal(b"", b""));
        assert!(!timing_resistant_equal(b"abc", b""));
        assert!(!timing_resistant_equal(b"", b"abc"));
        assert!(!timing_resistant_equal(b"a", b"aa"));
        assert!(!timing_resistant_equal(b"aa", b"a"));
        assert!(timing_resistant_equal(b"abc", b"abc"));
        assert!(!timing_resistant_equal(b"abc", b"aba"));
    }

    /// Mirrors util_tests.cpp: util_Base64 / base64_testvectors.
    #[test]
    fn base64_tests__base64_testvectors() {
        let vstr_in = ["", "f", "fo", "foo", "foob", "fooba", "foobar"];
        let vstr_out = [
            "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy",
        ];
        for (i, o) in vstr_in.iter().zip(vstr_out) {
            assert_eq!(encode_base64(i.as_bytes()), o);
            assert_eq!(decode_base64(o).unwrap(), i.as_bytes());
        }
        assert!(decode_base64("invalid\0").is_none());
        assert!(decode_base64("nQB/pZw=").is_some());
        assert!(decode_base64("nQB/pZw=\0invalid").is_none());
        assert!(decode_base64("nQB/pZw=invalid=").is_none());
        assert!(decode_base64("Zg").is_none());
        assert!(decode_base64("Zh==").is_none());
    }

    #[test]
    fn rpcauth_and_user_password() {
        let dir = std::env::temp_dir().join(format!("logos-rpc-auth-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        // share/rpcauth/rpcauth.py output for user "foo", password "bar" with salt "salt":
        let hash = hex_str(&hmac_sha256(b"salt", b"bar"));
        let opts = AuthOptions {
            rpc_user: "u".into(),
            rpc_password: "p".into(),
            rpc_auth: vec![format!("foo:salt${hash}")],
            ..Default::default()
        };
        let auth = RpcAuth::init(&dir, &opts).unwrap();
        assert!(auth.cookie_path().is_none());
        assert_eq!(
            auth.rpc_authorized(&format!("Basic {}", encode_base64(b"u:p"))),
            Ok("u".into())
        );
        assert_eq!(
            auth.rpc_authorized(&format!("Basic {}", encode_base64(b"foo:bar"))),
            Ok("foo".into())
        );
        assert_eq!(
            auth.rpc_authorized(&format!("Basic {}", encode_base64(b"u:x"))),
            Err("u".into())
        );
        assert!(auth.rpc_authorized("Bearer abc").is_err());
        assert!(auth.rpc_authorized("Basic !!!!").is_err());
        let bad = AuthOptions {
            rpc_password: "p".into(),
            rpc_auth: vec!["nodollar".into()],
            ..Default::default()
        };
        assert!(RpcAuth::init(&dir, &bad).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cookie_written_and_deleted() {
        let dir = std::env::temp_dir().join(format!("logos-rpc-cookie-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let auth = RpcAuth::init(&dir, &AuthOptions::default()).unwrap();
        let cookie = get_auth_cookie(&dir, None).unwrap();
        let (user, pass) = cookie.split_once(':').unwrap();
        assert_eq!(user, COOKIEAUTH_USER);
        assert_eq!(pass.len(), 64);
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(".cookie"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(auth
            .rpc_authorized(&format!("Basic {}", encode_base64(cookie.as_bytes())))
            .is_ok());
        assert!(!dir.join(".cookie.tmp").exists());
        auth.delete_auth_cookie();
        assert!(!dir.join(".cookie").exists());
        // -norpccookiefile: nothing written, nobody accepted.
        let off = AuthOptions {
            rpc_cookie_file: Some(String::new()),
            ..Default::default()
        };
        let auth = RpcAuth::init(&dir, &off).unwrap();
        assert!(auth.cookie_path().is_none());
        assert!(auth
            .rpc_authorized(&format!("Basic {}", encode_base64(b":")))
            .is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
