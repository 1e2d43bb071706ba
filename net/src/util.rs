//! Small helpers shared by the connection manager (Core's util/strencodings.h bits).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Port of HexStr (util/strencodings.cpp): lower-case hex of `bytes` (Core's `HexStr`).
pub fn hex_str(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// Characters kept by [`sanitize_string`] (Core's `SAFE_CHARS_DEFAULT`).
const SAFE_CHARS_DEFAULT: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,;-_/:?@()";

/// Port of SanitizeString (util/strencodings.cpp) with the default rule set.
pub fn sanitize_string(s: &str) -> String {
    s.chars()
        .filter(|c| SAFE_CHARS_DEFAULT.contains(*c))
        .collect()
}

/// Not in Core: A fresh random 64-bit value from the process's random hasher keys (used for nonces and
/// keyed hashing seeds; not for anything consensus- or crypto-critical).
pub fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x6c6f_676f_735f_7032);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_sanitize() {
        assert_eq!(hex_str(&[0xf9, 0xbe, 0xb4, 0xd9]), "f9beb4d9");
        assert_eq!(sanitize_string("foo\u{1}bar<>"), "foobar");
        assert_eq!(sanitize_string("/Satoshi:29.0/"), "/Satoshi:29.0/");
    }

    #[test]
    fn random_values_differ() {
        let a = random_u64();
        let b = random_u64();
        let c = random_u64();
        assert!(a != b || b != c);
    }
}
