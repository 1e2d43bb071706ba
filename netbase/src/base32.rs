//! Base32 (RFC 4648 alphabet, lower case) as used by Core's `EncodeBase32` /
//! `DecodeBase32` (util/strencodings.cpp) for `.onion`, `.b32.i2p` and
//! `.internal` address text.

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Value of one base32 character, accepting both cases; `None` if not in the alphabet.
fn decode_char(c: u8) -> Option<u8> {
    match c {
        b'a'..=b'z' => Some(c - b'a'),
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// Port of EncodeBase32 (util/strencodings.cpp).
///
/// Regroups the input bits 5 at a time (the last group zero-padded on the right),
/// and if `pad` appends `=` until the length is a multiple of 8.
pub fn encode_base32(input: &[u8], pad: bool) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(5) * 8);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in input {
        acc = ((acc << 8) | u32::from(byte)) & 0xfff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    if pad {
        while !out.len().is_multiple_of(8) {
            out.push('=');
        }
    }
    out
}

/// Port of DecodeBase32 (util/strencodings.cpp).
///
/// The input length must be a multiple of 8; up to 1, 3, 4 or 6 trailing `=` are
/// stripped as Core does; the leftover bits must be fewer than 5 and all zero.
/// Returns `None` on any malformed input.
pub fn decode_base32(input: &str) -> Option<Vec<u8>> {
    let mut s = input.as_bytes();
    if !s.len().is_multiple_of(8) {
        return None;
    }
    if s.last() == Some(&b'=') {
        s = &s[..s.len() - 1];
    }
    if s.ends_with(b"==") {
        s = &s[..s.len() - 2];
    }
    if s.last() == Some(&b'=') {
        s = &s[..s.len() - 1];
    }
    if s.ends_with(b"==") {
        s = &s[..s.len() - 2];
    }
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &c in s {
        let v = decode_char(c)?;
        acc = ((acc << 5) | u32::from(v)) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    if bits >= 5 || ((acc << (8 - bits)) & 0xff) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    /// Mirrors base32_tests.cpp: base32_testvectors
    #[test]
    fn base32_tests__base32_testvectors() {
        let vin = ["", "f", "fo", "foo", "foob", "fooba", "foobar"];
        let vout = [
            "",
            "my======",
            "mzxq====",
            "mzxw6===",
            "mzxw6yq=",
            "mzxw6ytb",
            "mzxw6ytboi======",
        ];
        let vout_nopad = [
            "",
            "my",
            "mzxq",
            "mzxw6",
            "mzxw6yq",
            "mzxw6ytb",
            "mzxw6ytboi",
        ];
        for i in 0..vin.len() {
            assert_eq!(encode_base32(vin[i].as_bytes(), true), vout[i]);
            assert_eq!(encode_base32(vin[i].as_bytes(), false), vout_nopad[i]);
            assert_eq!(decode_base32(vout[i]).unwrap(), vin[i].as_bytes());
        }
        assert!(decode_base32("AWSX3VPPinvalid").is_none());
        assert!(decode_base32("AWSX3VPP").is_some());
        assert!(decode_base32("invalid\0").is_none());
        assert!(decode_base32("AWSX3VPP\0invalid").is_none());
    }

    /// Mirrors base32_tests.cpp: base32_padding
    #[test]
    fn base32_tests__base32_padding() {
        assert_eq!(encode_base32(b"fooba", true), "mzxw6ytb");
        assert!(decode_base32("========").is_none());
        assert!(decode_base32("a=======").is_none());
        assert!(decode_base32("aa======").is_some());
        assert!(decode_base32("aaa=====").is_none());
        assert!(decode_base32("aaaa====").is_some());
        assert!(decode_base32("aaaaa===").is_some());
        assert!(decode_base32("aaaaaa==").is_none());
        assert!(decode_base32("aaaaaaa=").is_some());
    }
}
