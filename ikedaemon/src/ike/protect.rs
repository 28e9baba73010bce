//! Protected messages: building and opening the SK payload of a whole
//! message (RFC 7296 §3.14) and splitting into / opening SKF fragments
//! (RFC 7383 §2.5), plus a bounded reassembly buffer for fragments.
//!
//! The associated data is always "every byte before the IV": the IKE
//! header and the SK (or SKF) generic payload header, with SKF's Fragment
//! Number and Total Fragments. Lengths are computed before sealing, so the
//! header that is authenticated is the header that is sent.

use super::crypto::CryptoError;
use super::crypto::sk::SkCipher;
use super::wire::encrypted::SKF_FIELDS_LEN;
use super::wire::payload::GENERIC_HEADER_LEN;
use super::wire::{
    EncodeError, EncryptedFragment, HEADER_LEN, Header, Message, Payload, PayloadType, WireError,
    Writer, decode_inner_chain, encode_chain,
};
use zeroize::Zeroizing;

/// Why a protected message could not be built or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtectError {
    /// Decryption or the integrity check failed.
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    /// The decrypted inner payloads do not decode.
    #[error("inner payloads: {0}")]
    Decode(#[from] WireError),
    /// The message is too long to encode.
    #[error("{0}")]
    Encode(#[from] EncodeError),
    /// The message carries no SK (or SKF) payload.
    #[error("message has no Encrypted payload")]
    NotProtected,
    /// A fragment limit was exceeded (size too small, too many fragments).
    #[error("fragmentation: {0}")]
    Fragmentation(&'static str),
}

/// Builds a protected message: the header, then one SK payload holding
/// `inner`, sealed with `cipher` under `iv`.
pub fn seal_message(
    header: &Header,
    inner: &[Payload],
    cipher: &SkCipher,
    iv: &[u8],
) -> Result<Vec<u8>, ProtectError> {
    let mut plain = Writer::new();
    let first = encode_chain(inner, &mut plain);
    let plain = Zeroizing::new(plain.finish()?);
    seal_part(header, PayloadType::SK, first, None, &plain, cipher, iv)
}

/// Header + SK/SKF generic header (+ SKF fields) + sealed data.
fn seal_part(
    header: &Header,
    kind: PayloadType,
    first: PayloadType,
    fragment: Option<(u16, u16)>,
    plain: &[u8],
    cipher: &SkCipher,
    iv: &[u8],
) -> Result<Vec<u8>, ProtectError> {
    let fields = if fragment.is_some() {
        SKF_FIELDS_LEN
    } else {
        0
    };
    let payload_len = GENERIC_HEADER_LEN + fields + cipher.sealed_len(plain.len());
    let total = HEADER_LEN + payload_len;
    let too_long = |what| EncodeError { what, len: total };
    let payload_len16 = u16::try_from(payload_len).map_err(|_| too_long("SK payload"))?;
    let total32 = u32::try_from(total).map_err(|_| too_long("message"))?;
    let mut w = Writer::new();
    header.encode(&mut w);
    w.set_u8(16, kind.0);
    w.set_u32(24, total32);
    w.u8(first.0);
    w.u8(0);
    w.u16(payload_len16);
    if let Some((number, count)) = fragment {
        w.u16(number);
        w.u16(count);
    }
    let sealed = cipher.seal(w.as_slice(), plain, iv)?;
    w.bytes(&sealed);
    Ok(w.finish()?)
}

/// Opens a decoded protected message: checks and decrypts its SK payload
/// and returns the message with the inner payloads in place of SK, and the
/// decrypted inner payload bytes exactly as received (RFC 9242's IntAuth
/// covers them). `datagram` is the exact bytes `outer` was decoded from.
pub fn open_message(
    datagram: &[u8],
    outer: &Message,
    cipher: &SkCipher,
) -> Result<(Message, Zeroizing<Vec<u8>>), ProtectError> {
    let Some(Payload::Encrypted(sk)) = outer.payloads.last() else {
        return Err(ProtectError::NotProtected);
    };
    let aad_len = datagram
        .len()
        .checked_sub(sk.data.len())
        .ok_or(ProtectError::NotProtected)?;
    let plain = Zeroizing::new(cipher.open(datagram.get(..aad_len).unwrap_or_default(), &sk.data)?);
    let mut payloads: Vec<Payload> = outer
        .payloads
        .iter()
        .take(outer.payloads.len() - 1)
        .cloned()
        .collect();
    payloads.extend(decode_inner_chain(sk.first_inner, &plain)?);
    let message = Message {
        header: outer.header,
        payloads,
    };
    Ok((message, plain))
}

/// Opens one SKF fragment of a decoded message: returns its decrypted
/// share of the inner payload bytes. `datagram` is the exact bytes `outer`
/// was decoded from.
pub fn open_fragment(
    datagram: &[u8],
    outer: &Message,
    cipher: &SkCipher,
) -> Result<(EncryptedFragment, Vec<u8>), ProtectError> {
    let Some(Payload::Fragment(f)) = outer.payloads.last() else {
        return Err(ProtectError::NotProtected);
    };
    let aad_len = datagram
        .len()
        .checked_sub(f.data.len())
        .ok_or(ProtectError::NotProtected)?;
    let plain = cipher.open(datagram.get(..aad_len).unwrap_or_default(), &f.data)?;
    Ok((f.clone(), plain))
}

/// Splits `inner` into SKF fragments of at most `max_len` bytes each (the
/// IKE message, without IP/UDP headers or the non-ESP marker), sealing
/// each with the next IV from `next_iv`. RFC 7383 §2.5.
pub fn seal_fragments(
    header: &Header,
    inner: &[Payload],
    cipher: &SkCipher,
    max_len: usize,
    next_iv: &mut dyn FnMut() -> Vec<u8>,
) -> Result<Vec<Vec<u8>>, ProtectError> {
    let mut plain = Writer::new();
    let first = encode_chain(inner, &mut plain);
    let plain = Zeroizing::new(plain.finish()?);
    let fixed = HEADER_LEN + GENERIC_HEADER_LEN + SKF_FIELDS_LEN;
    // The largest chunk whose fragment fits in max_len.
    let mut chunk = max_len.saturating_sub(fixed);
    while chunk > 0 && fixed + cipher.sealed_len(chunk) > max_len {
        chunk -= 1;
    }
    if chunk == 0 {
        return Err(ProtectError::Fragmentation(
            "fragment size too small for the cipher",
        ));
    }
    let count = plain.len().div_ceil(chunk).max(1);
    // An empty inner chain still makes one (empty) fragment.
    let parts: Vec<&[u8]> = if plain.is_empty() {
        vec![&[]]
    } else {
        plain.chunks(chunk).collect()
    };
    let count16 = u16::try_from(count)
        .map_err(|_| ProtectError::Fragmentation("more than 65535 fragments"))?;
    let mut out = Vec::with_capacity(count);
    for (i, part) in parts.into_iter().enumerate() {
        let number = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let next = if number == 1 {
            first
        } else {
            PayloadType::NONE
        };
        out.push(seal_part(
            header,
            PayloadType::SKF,
            next,
            Some((number, count16)),
            part,
            cipher,
            &next_iv(),
        )?);
    }
    Ok(out)
}

/// Collects the decrypted fragments of one message until all have arrived
/// (RFC 7383 §2.6). Bounded: at most `max_fragments`, duplicates ignored.
/// A fragment announcing more fragments than the set being collected
/// starts a new set (the sender re-fragmented smaller, §2.5.2); one
/// announcing fewer is stale and ignored.
#[derive(Debug)]
pub struct Reassembly {
    max_fragments: u16,
    max_bytes: usize,
    bytes: usize,
    total: u16,
    first_inner: PayloadType,
    parts: Vec<Option<Zeroizing<Vec<u8>>>>,
    have: usize,
}

/// A reassembled message's inner payloads and their bytes.
pub type Reassembled = (Vec<Payload>, Zeroizing<Vec<u8>>);

impl Reassembly {
    /// An empty buffer that accepts sets of up to `max_fragments`
    /// fragments and `max_bytes` bytes of reassembled payloads.
    pub fn new(max_fragments: u16, max_bytes: usize) -> Self {
        Self {
            max_fragments,
            max_bytes,
            bytes: 0,
            total: 0,
            first_inner: PayloadType::NONE,
            parts: Vec::new(),
            have: 0,
        }
    }

    /// Adds an opened fragment. Returns the decoded inner payloads (and
    /// their bytes) once the last one is in.
    pub fn add(
        &mut self,
        f: &EncryptedFragment,
        plain: Vec<u8>,
    ) -> Result<Option<Reassembled>, ProtectError> {
        let plain = Zeroizing::new(plain);
        if f.total > self.max_fragments {
            return Err(ProtectError::Fragmentation(
                "more fragments announced than allowed",
            ));
        }
        if f.total < self.total {
            return Ok(None);
        }
        if f.total > self.total {
            self.total = f.total;
            self.first_inner = PayloadType::NONE;
            self.parts = vec![None; usize::from(f.total)];
            self.have = 0;
            self.bytes = 0;
        }
        let Some(slot) = self.parts.get_mut(usize::from(f.number).saturating_sub(1)) else {
            return Err(ProtectError::Fragmentation("fragment number out of range"));
        };
        if slot.is_some() {
            return Ok(None);
        }
        self.bytes += plain.len();
        if self.bytes > self.max_bytes {
            return Err(ProtectError::Fragmentation(
                "the reassembled message would exceed the size limit",
            ));
        }
        *slot = Some(plain);
        self.have += 1;
        if f.number == 1 {
            self.first_inner = f.first_inner;
        }
        if self.have < usize::from(self.total) {
            return Ok(None);
        }
        let whole: Zeroizing<Vec<u8>> = Zeroizing::new(
            self.parts
                .iter()
                .flatten()
                .flat_map(|p| p.iter().copied())
                .collect(),
        );
        let inner = decode_inner_chain(self.first_inner, &whole)?;
        Ok(Some((inner, whole)))
    }
}
