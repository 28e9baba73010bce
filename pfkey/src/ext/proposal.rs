//! List-carrying extensions: sensitivity bitmaps, proposals of
//! combinations (ACQUIRE) and supported algorithms (REGISTER).

use crate::dialect::Dialect;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, SizeRule};
use crate::wire::{Reader, Writer};

use super::Body;

/// `struct sadb_sens` followed by its sensitivity and integrity bitmaps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sensitivity {
    /// Security protocol domain of interpretation.
    pub dpd: u32,
    /// Sensitivity level.
    pub sens_level: u8,
    /// Integrity level.
    pub integ_level: u8,
    /// Sensitivity bitmap (at most 255 words).
    pub sens_bitmap: Vec<u64>,
    /// Integrity bitmap (at most 255 words).
    pub integ_bitmap: Vec<u64>,
}

fn words(r: &mut Reader<'_>, n: u8) -> Result<Vec<u64>, DecodeError> {
    (0..n).map(|_| r.u64("sadb_sens bitmap")).collect()
}

fn word_count(v: &[u64], field: &'static str) -> Result<u8, EncodeError> {
    u8::try_from(v.len()).map_err(|_| EncodeError::Unrepresentable {
        field,
        reason: "more than 255 bitmap words".into(),
    })
}

impl Body for Sensitivity {
    const NAME: &'static str = "sadb_sens";
    const SIZE: SizeRule = SizeRule::AtLeast(16);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        let dpd = r.u32("sadb_sens")?;
        let sens_level = r.u8("sadb_sens")?;
        let sens_len = r.u8("sadb_sens")?;
        let integ_level = r.u8("sadb_sens")?;
        let integ_len = r.u8("sadb_sens")?;
        r.skip(4, "sadb_sens")?;
        let sens_bitmap = words(r, sens_len)?;
        let integ_bitmap = words(r, integ_len)?;
        Ok(Sensitivity {
            dpd,
            sens_level,
            integ_level,
            sens_bitmap,
            integ_bitmap,
        })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(self.dpd);
        w.u8(self.sens_level);
        w.u8(word_count(&self.sens_bitmap, "sadb_sens_sens_len")?);
        w.u8(self.integ_level);
        w.u8(word_count(&self.integ_bitmap, "sadb_sens_integ_len")?);
        w.u32(0);
        for v in self.sens_bitmap.iter().chain(&self.integ_bitmap) {
            w.u64(*v);
        }
        Ok(())
    }
}

/// `struct sadb_comb`: one acceptable algorithm combination with lifetimes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Comb {
    pub auth: u8,
    pub encrypt: u8,
    pub flags: u16,
    pub auth_minbits: u16,
    pub auth_maxbits: u16,
    pub encrypt_minbits: u16,
    pub encrypt_maxbits: u16,
    pub soft_allocations: u32,
    pub hard_allocations: u32,
    pub soft_bytes: u64,
    pub hard_bytes: u64,
    pub soft_addtime: u64,
    pub hard_addtime: u64,
    pub soft_usetime: u64,
    pub hard_usetime: u64,
}

const COMB_LEN: usize = 72;

impl Comb {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let auth = r.u8("sadb_comb")?;
        let encrypt = r.u8("sadb_comb")?;
        let flags = r.u16("sadb_comb")?;
        let auth_minbits = r.u16("sadb_comb")?;
        let auth_maxbits = r.u16("sadb_comb")?;
        let encrypt_minbits = r.u16("sadb_comb")?;
        let encrypt_maxbits = r.u16("sadb_comb")?;
        r.skip(4, "sadb_comb")?;
        Ok(Comb {
            auth,
            encrypt,
            flags,
            auth_minbits,
            auth_maxbits,
            encrypt_minbits,
            encrypt_maxbits,
            soft_allocations: r.u32("sadb_comb")?,
            hard_allocations: r.u32("sadb_comb")?,
            soft_bytes: r.u64("sadb_comb")?,
            hard_bytes: r.u64("sadb_comb")?,
            soft_addtime: r.u64("sadb_comb")?,
            hard_addtime: r.u64("sadb_comb")?,
            soft_usetime: r.u64("sadb_comb")?,
            hard_usetime: r.u64("sadb_comb")?,
        })
    }
    fn encode(&self, w: &mut Writer) {
        w.u8(self.auth);
        w.u8(self.encrypt);
        w.u16(self.flags);
        w.u16(self.auth_minbits);
        w.u16(self.auth_maxbits);
        w.u16(self.encrypt_minbits);
        w.u16(self.encrypt_maxbits);
        w.u32(0);
        w.u32(self.soft_allocations);
        w.u32(self.hard_allocations);
        w.u64(self.soft_bytes);
        w.u64(self.hard_bytes);
        w.u64(self.soft_addtime);
        w.u64(self.hard_addtime);
        w.u64(self.soft_usetime);
        w.u64(self.hard_usetime);
    }
}

/// `struct sadb_prop` followed by combinations, in order of preference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal number (OpenBSD only; always 0 elsewhere).
    pub num: u8,
    /// Replay window.
    pub replay: u8,
    /// The combinations.
    pub combs: Vec<Comb>,
}

/// Split the rest of an extension into fixed-size records.
fn record_count(r: &Reader<'_>, size: usize, what: &'static str) -> Result<usize, DecodeError> {
    if !r.remaining().is_multiple_of(size) {
        return Err(r.error(DecodeErrorKind::WrongSize {
            ext: what,
            expected: SizeRule::AtLeast(size),
            actual: r.remaining() % size,
        }));
    }
    Ok(r.remaining() / size)
}

impl Body for Proposal {
    const NAME: &'static str = "sadb_prop";
    const SIZE: SizeRule = SizeRule::AtLeast(8);
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError> {
        let (num, replay) = if d == Dialect::OpenBsd {
            let num = r.u8("sadb_prop")?;
            let replay = r.u8("sadb_prop")?;
            r.skip(2, "sadb_prop")?;
            (num, replay)
        } else {
            let replay = r.u8("sadb_prop")?;
            r.skip(3, "sadb_prop")?;
            (0, replay)
        };
        let n = record_count(r, COMB_LEN, "sadb_comb")?;
        let combs = (0..n).map(|_| Comb::decode(r)).collect::<Result<_, _>>()?;
        Ok(Proposal { num, replay, combs })
    }
    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        if d == Dialect::OpenBsd {
            w.u8(self.num);
            w.u8(self.replay);
            w.u16(0);
        } else {
            if self.num != 0 {
                return Err(EncodeError::Unrepresentable {
                    field: "sadb_prop_num",
                    reason: "only OpenBSD has a proposal number".into(),
                });
            }
            w.u8(self.replay);
            w.zeros(3);
        }
        for c in &self.combs {
            c.encode(w);
        }
        Ok(())
    }
}

/// `struct sadb_alg`: one algorithm a kernel supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alg {
    /// Algorithm number (see [`crate::AuthAlgorithm`], [`crate::EncryptAlgorithm`]).
    pub id: u8,
    /// IV length in bytes.
    pub ivlen: u8,
    /// Minimum key length in bits.
    pub min_bits: u16,
    /// Maximum key length in bits.
    pub max_bits: u16,
}

/// `struct sadb_supported` followed by algorithms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Supported {
    /// The algorithms.
    pub algs: Vec<Alg>,
}

impl Body for Supported {
    const NAME: &'static str = "sadb_supported";
    const SIZE: SizeRule = SizeRule::AtLeast(8);
    fn decode(r: &mut Reader<'_>, _: Dialect) -> Result<Self, DecodeError> {
        r.skip(4, "sadb_supported")?;
        let n = record_count(r, 8, "sadb_alg")?;
        let mut algs = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.u8("sadb_alg")?;
            let ivlen = r.u8("sadb_alg")?;
            let min_bits = r.u16("sadb_alg")?;
            let max_bits = r.u16("sadb_alg")?;
            r.skip(2, "sadb_alg")?;
            algs.push(Alg {
                id,
                ivlen,
                min_bits,
                max_bits,
            });
        }
        Ok(Supported { algs })
    }
    fn encode(&self, w: &mut Writer, _: Dialect) -> Result<(), EncodeError> {
        w.u32(0);
        for a in &self.algs {
            w.u8(a.id);
            w.u8(a.ivlen);
            w.u16(a.min_bits);
            w.u16(a.max_bits);
            w.u16(0);
        }
        Ok(())
    }
}
