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
    Writer, decode_chain, encode_chain,
};

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
    let plain = zeroize::Zeroizing::new(plain.finish()?);
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
/// and returns the message with the inner payloads in place of SK.
/// `datagram` is the exact bytes `outer` was decoded from.
pub fn open_message(
    datagram: &[u8],
    outer: &Message,
    cipher: &SkCipher,
) -> Result<Message, ProtectError> {
    let Some(Payload::Encrypted(sk)) = outer.payloads.last() else {
        return Err(ProtectError::NotProtected);
    };
    let aad_len = datagram
        .len()
        .checked_sub(sk.data.len())
        .ok_or(ProtectError::NotProtected)?;
    let plain = zeroize::Zeroizing::new(
        cipher.open(datagram.get(..aad_len).unwrap_or_default(), &sk.data)?,
    );
    let mut payloads: Vec<Payload> = outer
        .payloads
        .iter()
        .take(outer.payloads.len() - 1)
        .cloned()
        .collect();
    payloads.extend(decode_chain(sk.first_inner, &plain, 0)?);
    Ok(Message {
        header: outer.header,
        payloads,
    })
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
    let plain = zeroize::Zeroizing::new(plain.finish()?);
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
    let count16 = u16::try_from(count)
        .map_err(|_| ProtectError::Fragmentation("more than 65535 fragments"))?;
    let mut out = Vec::with_capacity(count);
    for (i, part) in plain.chunks(chunk).enumerate() {
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
/// (RFC 7383 §2.6). Bounded: at most `max_fragments`, duplicates ignored,
/// a fragment disagreeing on the total is refused.
#[derive(Debug)]
pub struct Reassembly {
    total: u16,
    first_inner: PayloadType,
    parts: Vec<Option<Vec<u8>>>,
    have: usize,
}

impl Reassembly {
    /// Starts reassembly for a message announced as `total` fragments;
    /// refuses totals above `max_fragments`.
    pub fn new(total: u16, max_fragments: u16) -> Result<Self, ProtectError> {
        if total == 0 || total > max_fragments {
            return Err(ProtectError::Fragmentation("too many fragments announced"));
        }
        Ok(Self {
            total,
            first_inner: PayloadType::NONE,
            parts: vec![None; usize::from(total)],
            have: 0,
        })
    }

    /// Adds an opened fragment. Returns the decoded inner payloads once
    /// the last one is in.
    pub fn add(
        &mut self,
        f: &EncryptedFragment,
        plain: Vec<u8>,
    ) -> Result<Option<Vec<Payload>>, ProtectError> {
        if f.total != self.total {
            return Err(ProtectError::Fragmentation(
                "fragment disagrees on the total",
            ));
        }
        let Some(slot) = self.parts.get_mut(usize::from(f.number).saturating_sub(1)) else {
            return Err(ProtectError::Fragmentation("fragment number out of range"));
        };
        if slot.is_some() {
            return Ok(None);
        }
        *slot = Some(plain);
        self.have += 1;
        if f.number == 1 {
            self.first_inner = f.first_inner;
        }
        if self.have < usize::from(self.total) {
            return Ok(None);
        }
        let whole: zeroize::Zeroizing<Vec<u8>> =
            zeroize::Zeroizing::new(self.parts.iter().flatten().flatten().copied().collect());
        Ok(Some(decode_chain(self.first_inner, &whole, 0)?))
    }
}
