//! The one `Encodable` / `Decodable` trait pair of the wire format, the P2P part of Core's
//! `serialize.h`: little-endian integers, CompactSize lengths with Core's canonical-encoding and
//! `MAX_SIZE` checks, byte vectors, strings and fixed byte arrays.
//!
//! DoS rules (as `serialize.h`): every length read from the wire is checked against `MAX_SIZE`
//! before anything is allocated, and vectors are grown in bounded batches
//! ([`MAX_VECTOR_ALLOCATE`] bytes at a time), so a peer must actually send `X` bytes to make us
//! allocate about `X`.

use std::fmt;
use std::io::{self, Read, Write};

/// Largest value a CompactSize may carry when it is a length (serialize.h `MAX_SIZE`).
pub const MAX_SIZE: u64 = 0x0200_0000;

/// Largest number of bytes allocated at once while decoding a vector (serialize.h
/// `MAX_VECTOR_ALLOCATE`).
pub const MAX_VECTOR_ALLOCATE: usize = 5_000_000;

/// Everything that can go wrong while decoding wire data. Each variant's `Display` gives the text
/// of the `std::ios_base::failure` Core throws in the same place; [`Error::core_what`] adds the
/// libstdc++ suffix so a log line can match bitcoind's byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The underlying reader failed; `UnexpectedEof` is Core's "end of data" on read.
    Io(io::ErrorKind),
    /// The stream ended inside bytes Core skips with `DataStream::ignore` (e.g. the service
    /// bits of `addrMe` in `version`).
    IgnoreEndOfData,
    /// A CompactSize used more bytes than needed ("non-canonical ReadCompactSize()").
    NonCanonicalCompactSize,
    /// A CompactSize length above [`MAX_SIZE`] ("ReadCompactSize(): size too large").
    OversizedCompactSize(u64),
    /// A string longer than the limit of Core's `LIMITED_STRING`.
    StringTooLong {
        /// Length announced on the wire.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// A BIP155 address longer than `MAX_ADDRV2_SIZE`, or of a known network (ids 1, 2, 4, 5, 6)
    /// with the wrong length (Core's CNetAddr::UnserializeV2Stream throws).
    Bip155(netbase::Bip155Error),
    /// The disk format version of a `CAddress` is neither V1 nor an allowed V2.
    UnsupportedAddrDiskVersion(u32),
    /// A message header with another network's message start.
    WrongMagic {
        /// Message start of our network.
        expected: [u8; 4],
        /// Message start received.
        got: [u8; 4],
    },
    /// A message header announcing more than the network's maximum message length.
    OversizedMessage {
        /// Message type from the header (may be invalid text).
        command: String,
        /// Announced payload length.
        length: u32,
    },
    /// A payload whose hash does not start with the header's checksum.
    BadChecksum {
        /// Message type from the header.
        command: String,
        /// Payload length.
        length: u32,
        /// First bytes of the network hash of the payload.
        expected: [u8; 4],
        /// Checksum the header carried.
        got: [u8; 4],
    },
    /// A header whose message type field fails Core's `IsMessageTypeValid`.
    InvalidMessageType(String),
    /// A message type longer than the 12 bytes of the header field.
    CommandTooLong(String),
    /// Bytes left over after a value that must fill its input exactly.
    TrailingBytes(usize),
}

impl Error {
    /// The `what()` text of the exception Core throws in the same case, as it appears in
    /// bitcoind's `ProcessMessages(...): Exception '...' caught` log line (libstdc++ appends
    /// ": iostream error" to every `std::ios_base::failure`).
    pub fn core_what(&self) -> String {
        format!("{self}: iostream error")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(io::ErrorKind::UnexpectedEof) => {
                f.write_str("DataStream::read(): end of data")
            }
            Error::Io(kind) => write!(f, "I/O error: {kind}"),
            Error::IgnoreEndOfData => f.write_str("DataStream::ignore(): end of data"),
            Error::NonCanonicalCompactSize => f.write_str("non-canonical ReadCompactSize()"),
            Error::OversizedCompactSize(_) => f.write_str("ReadCompactSize(): size too large"),
            Error::StringTooLong { .. } => f.write_str("String length limit exceeded"),
            Error::Bip155(e) => write!(f, "{e}"),
            Error::UnsupportedAddrDiskVersion(_) => {
                f.write_str("Unsupported CAddress disk format version")
            }
            Error::WrongMagic { got, .. } => {
                write!(f, "Wrong MessageStart {} received", hex4(got))
            }
            Error::OversizedMessage { command, length } => {
                write!(f, "Size too large ({command}, {length} bytes)")
            }
            Error::BadChecksum {
                command,
                length,
                expected,
                got,
            } => write!(
                f,
                "Wrong checksum ({command}, {length} bytes), expected {} was {}",
                hex4(expected),
                hex4(got)
            ),
            Error::InvalidMessageType(command) => write!(f, "Invalid message type ({command})"),
            Error::CommandTooLong(command) => write!(f, "message type too long: {command}"),
            Error::TrailingBytes(n) => write!(f, "{n} trailing bytes after the value"),
        }
    }
}

fn hex4(b: &[u8; 4]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl std::error::Error for Error {}

impl From<netbase::Bip155Error> for Error {
    fn from(e: netbase::Bip155Error) -> Self {
        Error::Bip155(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e.kind())
    }
}

/// A value that can be written in wire format.
pub trait Encodable {
    /// Writes `self` to `w`, returning the number of bytes written.
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize>;
}

/// A value that can be read from wire format.
pub trait Decodable: Sized {
    /// Reads a value from `r`.
    fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error>;
}

/// Serializes a value into a fresh byte vector.
pub fn serialize<T: Encodable + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = value.consensus_encode(&mut out);
    out
}

/// Deserializes a value that must use all of `bytes`; left-over bytes are an error.
pub fn deserialize<T: Decodable>(bytes: &[u8]) -> Result<T, Error> {
    let mut cursor = bytes;
    let value = T::consensus_decode(&mut cursor)?;
    if !cursor.is_empty() {
        return Err(Error::TrailingBytes(cursor.len()));
    }
    Ok(value)
}

/// Deserializes a value from the front of `bytes`, returning it and the number of bytes used.
pub fn deserialize_partial<T: Decodable>(bytes: &[u8]) -> Result<(T, usize), Error> {
    let mut cursor = bytes;
    let value = T::consensus_decode(&mut cursor)?;
    Ok((value, bytes.len() - cursor.len()))
}

/// Reads exactly `N` bytes.
pub(crate) fn read_array<R: Read + ?Sized, const N: usize>(r: &mut R) -> Result<[u8; N], Error> {
    let mut buf = [0u8; N];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

macro_rules! impl_int {
    ($($t:ty),*) => {$(
        impl Encodable for $t {
            fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
                w.write_all(&self.to_le_bytes())?;
                Ok(std::mem::size_of::<$t>())
            }
        }
        impl Decodable for $t {
            fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
                Ok(<$t>::from_le_bytes(read_array(r)?))
            }
        }
    )*};
}
impl_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Encodable for bool {
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        u8::from(*self).consensus_encode(w)
    }
}

impl Decodable for bool {
    /// Any non-zero byte is `true`, as a `char` converted to `bool` in Core.
    fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
        Ok(u8::consensus_decode(r)? != 0)
    }
}

impl<const N: usize> Encodable for [u8; N] {
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        w.write_all(self)?;
        Ok(N)
    }
}

impl<const N: usize> Decodable for [u8; N] {
    fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
        read_array(r)
    }
}

/// Port of GetSizeOfCompactSize (serialize.h).
pub const fn get_size_of_compact_size(n: u64) -> usize {
    if n < 253 {
        1
    } else if n <= 0xffff {
        3
    } else if n <= 0xffff_ffff {
        5
    } else {
        9
    }
}

/// Port of WriteCompactSize (serialize.h).
pub fn write_compact_size<W: Write + ?Sized>(w: &mut W, n: u64) -> io::Result<usize> {
    if n < 253 {
        w.write_all(&[n as u8])?;
        Ok(1)
    } else if n <= 0xffff {
        w.write_all(&[253])?;
        w.write_all(&(n as u16).to_le_bytes())?;
        Ok(3)
    } else if n <= 0xffff_ffff {
        w.write_all(&[254])?;
        w.write_all(&(n as u32).to_le_bytes())?;
        Ok(5)
    } else {
        w.write_all(&[255])?;
        w.write_all(&n.to_le_bytes())?;
        Ok(9)
    }
}

/// Port of ReadCompactSize (serialize.h). With `range_check`, values above [`MAX_SIZE`] are
/// refused (lengths); without it the CompactSize is a plain number (e.g. BIP155 service bits).
pub fn read_compact_size<R: Read + ?Sized>(r: &mut R, range_check: bool) -> Result<u64, Error> {
    let first = u8::consensus_decode(r)?;
    let n = match first {
        0..=252 => u64::from(first),
        253 => {
            let v = u64::from(u16::consensus_decode(r)?);
            if v < 253 {
                return Err(Error::NonCanonicalCompactSize);
            }
            v
        }
        254 => {
            let v = u64::from(u32::consensus_decode(r)?);
            if v < 0x1_0000 {
                return Err(Error::NonCanonicalCompactSize);
            }
            v
        }
        255 => {
            let v = u64::consensus_decode(r)?;
            if v < 0x1_0000_0000 {
                return Err(Error::NonCanonicalCompactSize);
            }
            v
        }
    };
    if range_check && n > MAX_SIZE {
        return Err(Error::OversizedCompactSize(n));
    }
    Ok(n)
}

/// A CompactSize used as a length: decoding applies Core's canonical-encoding check and the
/// `MAX_SIZE` range check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompactSize(pub u64);

impl Encodable for CompactSize {
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        write_compact_size(w, self.0)
    }
}

impl Decodable for CompactSize {
    fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
        read_compact_size(r, true).map(CompactSize)
    }
}

/// Port of the byte-vector branch of Unserialize for std::vector (serialize.h): reads `len`
/// bytes, growing the buffer in bounded steps so that an announced length alone does not make us
/// allocate.
pub(crate) fn read_bytes_bounded<R: Read + ?Sized>(
    r: &mut R,
    len: usize,
) -> Result<Vec<u8>, Error> {
    const BLOCK: usize = 1 + 4_999_999;
    let mut out: Vec<u8> = Vec::new();
    while out.len() < len {
        let start = out.len();
        let step = (len - start).min(BLOCK);
        out.resize(start + step, 0);
        r.read_exact(&mut out[start..])?;
    }
    Ok(out)
}

impl Encodable for [u8] {
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        let n = write_compact_size(w, self.len() as u64)?;
        w.write_all(self)?;
        Ok(n + self.len())
    }
}

impl Encodable for Vec<u8> {
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        self.as_slice().consensus_encode(w)
    }
}

impl Decodable for Vec<u8> {
    fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
        let len = read_compact_size(r, true)?;
        read_bytes_bounded(r, len as usize)
    }
}

impl Encodable for str {
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        self.as_bytes().consensus_encode(w)
    }
}

impl Encodable for String {
    fn consensus_encode<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<usize> {
        self.as_bytes().consensus_encode(w)
    }
}

impl Decodable for String {
    /// Bytes that are not UTF-8 are replaced (Core keeps raw bytes; every place that shows a
    /// string from the wire sanitizes it first, so the visible text is the same).
    fn consensus_decode<R: Read + ?Sized>(r: &mut R) -> Result<Self, Error> {
        let bytes = Vec::<u8>::consensus_decode(r)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Port of LimitedStringFormatter::Unser (serialize.h): a string whose length may not exceed
/// `limit`.
pub fn read_limited_string<R: Read + ?Sized>(r: &mut R, limit: usize) -> Result<String, Error> {
    let len = read_compact_size(r, true)?;
    if len > limit as u64 {
        return Err(Error::StringTooLong { len, limit });
    }
    let bytes = read_bytes_bounded(r, len as usize)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Port of VectorFormatter::Ser (serialize.h): a CompactSize count, then each element written by
/// `write_elem`.
pub fn write_vec<W, T, F>(w: &mut W, items: &[T], mut write_elem: F) -> io::Result<usize>
where
    W: Write + ?Sized,
    F: FnMut(&T, &mut W) -> io::Result<usize>,
{
    let mut n = write_compact_size(w, items.len() as u64)?;
    for item in items {
        n += write_elem(item, w)?;
    }
    Ok(n)
}

/// Port of VectorFormatter::Unser (serialize.h): a CompactSize count (range checked), then the
/// elements, with capacity reserved in batches of at most [`MAX_VECTOR_ALLOCATE`] bytes so that a
/// large announced count cannot make us allocate before the data arrives.
pub fn read_vec<R, T, F>(r: &mut R, mut read_elem: F) -> Result<Vec<T>, Error>
where
    R: Read + ?Sized,
    F: FnMut(&mut R) -> Result<T, Error>,
{
    let size = read_compact_size(r, true)? as usize;
    let per_batch = (MAX_VECTOR_ALLOCATE / std::mem::size_of::<T>().max(1)).max(1);
    let mut out: Vec<T> = Vec::new();
    let mut allocated = 0usize;
    while allocated < size {
        allocated = size.min(allocated + per_batch);
        out.reserve(allocated - out.len());
        while out.len() < allocated {
            out.push(read_elem(r)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(non_snake_case)] // test names are `<core test file>__<core test case>`
mod tests {
    use super::*;

    /// Mirrors serialize_tests.cpp: sizes.
    #[test]
    fn serialize_tests__sizes() {
        assert_eq!(serialize(&0u8).len(), 1);
        assert_eq!(serialize(&0i8).len(), 1);
        assert_eq!(serialize(&0u16).len(), 2);
        assert_eq!(serialize(&0i16).len(), 2);
        assert_eq!(serialize(&0u32).len(), 4);
        assert_eq!(serialize(&0i32).len(), 4);
        assert_eq!(serialize(&0u64).len(), 8);
        assert_eq!(serialize(&0i64).len(), 8);
        assert_eq!(serialize(&false).len(), 1);
        assert_eq!(serialize(&[0u8; 1]).len(), 1);
        assert_eq!(serialize(&[0u8; 2]).len(), 2);
    }

    /// Mirrors serialize_tests.cpp: compactsize.
    #[test]
    fn serialize_tests__compactsize() {
        let mut buf = Vec::new();
        let mut i: u64 = 1;
        while i <= MAX_SIZE {
            write_compact_size(&mut buf, i - 1).unwrap();
            write_compact_size(&mut buf, i).unwrap();
            i *= 2;
        }
        let mut r = buf.as_slice();
        let mut i: u64 = 1;
        while i <= MAX_SIZE {
            assert_eq!(read_compact_size(&mut r, true).unwrap(), i - 1);
            assert_eq!(read_compact_size(&mut r, true).unwrap(), i);
            i *= 2;
        }
        assert!(r.is_empty());
    }

    /// Mirrors serialize_tests.cpp: noncanonical.
    #[test]
    fn serialize_tests__noncanonical() {
        let cases: [(&[u8], Option<u64>); 7] = [
            (&[0xfd, 0x00, 0x00], None),
            (&[0xfd, 0xfc, 0x00], None),
            (&[0xfd, 0xfd, 0x00], Some(0xfd)),
            (&[0xfe, 0x00, 0x00, 0x00, 0x00], None),
            (&[0xfe, 0xff, 0xff, 0x00, 0x00], None),
            (&[0xff, 0, 0, 0, 0, 0, 0, 0, 0], None),
            (&[0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0], None),
        ];
        for (bytes, want) in cases {
            let mut r = bytes;
            match want {
                Some(v) => assert_eq!(read_compact_size(&mut r, true).unwrap(), v),
                None => assert_eq!(
                    read_compact_size(&mut r, true),
                    Err(Error::NonCanonicalCompactSize)
                ),
            }
        }
        assert_eq!(
            Error::NonCanonicalCompactSize.core_what(),
            "non-canonical ReadCompactSize(): iostream error"
        );
    }

    /// Mirrors serialize_tests.cpp: array.
    #[test]
    fn serialize_tests__array() {
        let mut a = [0u8; 32];
        for (i, b) in [
            1u8, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 1,
        ]
        .iter()
        .enumerate()
        {
            a[i] = *b;
        }
        let bytes = serialize(&a);
        assert_eq!(bytes.len(), 32);
        let back: [u8; 32] = deserialize(&bytes).unwrap();
        assert_eq!(a, back);
    }

    /// GetSizeOfCompactSize boundaries (serialize.h comment table).
    #[test]
    fn compact_size_boundaries() {
        for (n, size, hex) in [
            (0u64, 1usize, "00"),
            (252, 1, "fc"),
            (253, 3, "fdfd00"),
            (0xffff, 3, "fdffff"),
            (0x1_0000, 5, "fe00000100"),
            (0xffff_ffff, 5, "feffffffff"),
            (0x1_0000_0000, 9, "ff0000000001000000"),
        ] {
            let bytes = serialize(&CompactSize(n));
            assert_eq!(bytes.len(), size);
            assert_eq!(get_size_of_compact_size(n), size);
            assert_eq!(hex::encode(&bytes), hex);
            let mut r = bytes.as_slice();
            assert_eq!(read_compact_size(&mut r, false).unwrap(), n);
        }
    }

    /// ReadCompactSize's range check: MAX_SIZE passes, MAX_SIZE + 1 does not; without the check
    /// any canonical value passes.
    #[test]
    fn compact_size_range_check() {
        let ok = serialize(&CompactSize(MAX_SIZE));
        assert_eq!(
            deserialize::<CompactSize>(&ok).unwrap(),
            CompactSize(MAX_SIZE)
        );
        let big = serialize(&CompactSize(MAX_SIZE + 1));
        assert_eq!(
            deserialize::<CompactSize>(&big),
            Err(Error::OversizedCompactSize(MAX_SIZE + 1))
        );
        let mut r = big.as_slice();
        assert_eq!(read_compact_size(&mut r, false).unwrap(), MAX_SIZE + 1);
    }

    /// A byte vector announcing MAX_SIZE bytes but carrying 3 fails with end of data, without
    /// allocating the announced size first.
    #[test]
    fn vec_length_checked_before_allocation() {
        let mut bytes = serialize(&CompactSize(MAX_SIZE));
        bytes.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            deserialize::<Vec<u8>>(&bytes),
            Err(Error::Io(io::ErrorKind::UnexpectedEof))
        );
        let mut bytes = serialize(&CompactSize(MAX_SIZE + 1));
        bytes.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            deserialize::<Vec<u8>>(&bytes),
            Err(Error::OversizedCompactSize(MAX_SIZE + 1))
        );
        // Same for a vector of elements.
        let mut r: &[u8] = &[0xfe, 0x00, 0x00, 0x00, 0x02, 0x01];
        let res = read_vec(&mut r, u64::consensus_decode);
        assert_eq!(res, Err(Error::Io(io::ErrorKind::UnexpectedEof)));
    }

    #[test]
    fn limited_string() {
        let s = "x".repeat(257);
        let bytes = serialize(&s);
        let mut r = bytes.as_slice();
        assert_eq!(
            read_limited_string(&mut r, 256),
            Err(Error::StringTooLong {
                len: 257,
                limit: 256
            })
        );
        let s = "x".repeat(256);
        let bytes = serialize(&s);
        let mut r = bytes.as_slice();
        assert_eq!(read_limited_string(&mut r, 256).unwrap(), s);
    }

    #[test]
    fn trailing_bytes_refused() {
        assert_eq!(deserialize::<u16>(&[1, 2, 3]), Err(Error::TrailingBytes(1)));
        assert_eq!(deserialize_partial::<u16>(&[1, 2, 3]).unwrap(), (0x0201, 2));
    }

    #[test]
    fn bool_any_nonzero_is_true() {
        assert!(deserialize::<bool>(&[2]).unwrap());
        assert!(!deserialize::<bool>(&[0]).unwrap());
    }

    proptest::proptest! {
        #[test]
        fn compact_size_roundtrip(n in proptest::prelude::any::<u64>()) {
            let bytes = serialize(&CompactSize(n));
            proptest::prop_assert_eq!(bytes.len(), get_size_of_compact_size(n));
            let mut r = bytes.as_slice();
            proptest::prop_assert_eq!(read_compact_size(&mut r, false).unwrap(), n);
        }

        #[test]
        fn bytes_roundtrip(v in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let bytes = serialize(&v);
            proptest::prop_assert_eq!(deserialize::<Vec<u8>>(&bytes).unwrap(), v);
        }
    }
}
