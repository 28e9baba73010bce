//! The Encrypted payload SK (RFC 7296 §3.14) and the Encrypted Fragment
//! payload SKF (RFC 7383 §2.5), as containers of ciphertext.
//!
//! Sealing and opening (padding, IV, ICV, associated data) belong to the
//! crypto suite; this module only carries the bytes and knows where the
//! associated data ends.

use super::error::{WireError, WireErrorKind};
use super::reader::{Reader, Writer};
use super::registry::PayloadType;

/// SK payload: the IV, ciphertext and ICV of the inner payload chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedPayload {
    /// Type of the first inner payload (the SK header's Next Payload).
    pub first_inner: PayloadType,
    /// IV ‖ ciphertext (with padding and Pad Length) ‖ ICV.
    pub data: Vec<u8>,
}

/// SKF payload: one fragment of an SK payload's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedFragment {
    /// Type of the first inner payload in fragment 1, zero in the others.
    pub first_inner: PayloadType,
    /// Fragment Number, 1-based.
    pub number: u16,
    /// Total Fragments.
    pub total: u16,
    /// IV ‖ ciphertext ‖ ICV of this fragment.
    pub data: Vec<u8>,
}

/// Length of the SKF fields before the IV (Fragment Number, Total).
pub const SKF_FIELDS_LEN: usize = 4;

impl EncryptedPayload {
    pub(crate) fn decode(first_inner: PayloadType, r: &mut Reader<'_>) -> Self {
        Self {
            first_inner,
            data: r.rest().to_vec(),
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.bytes(&self.data);
    }
}

impl EncryptedFragment {
    pub(crate) fn decode(first_inner: PayloadType, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let number = r.u16("SKF payload")?;
        let total = r.u16("SKF payload")?;
        // RFC 7383 §2.6: Fragment Number 0, or greater than Total
        // Fragments, makes the fragment invalid.
        if number == 0 || number > total {
            return Err(r.error(WireErrorKind::Invalid {
                what: "SKF fragment number",
                value: u64::from(number),
            }));
        }
        if number != 1 && first_inner != PayloadType::NONE {
            return Err(r.error(WireErrorKind::Invalid {
                what: "SKF next payload in a non-first fragment",
                value: u64::from(first_inner.0),
            }));
        }
        Ok(Self {
            first_inner,
            number,
            total,
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.number);
        w.u16(self.total);
        w.bytes(&self.data);
    }
}
