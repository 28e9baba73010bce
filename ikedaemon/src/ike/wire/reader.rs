//! The bounds-checked cursor every decoder reads through.
//!
//! The reader never trusts a length: every read checks what is left and
//! reports the absolute offset of a failure. Nothing here allocates more
//! than the bytes it was given.

use super::error::{WireError, WireErrorKind};

/// A cursor over part of a message.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the whole message, for error reports.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte sits at `base` in the message.
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Offset of the cursor in the whole message.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True when everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error at the cursor.
    pub fn error(&self, kind: WireErrorKind) -> WireError {
        WireError {
            offset: self.offset(),
            kind,
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let available = self.remaining();
        if available < n {
            return Err(self.error(WireErrorKind::Truncated {
                what,
                needed: n,
                available,
            }));
        }
        let out = self.buf.get(self.pos..self.pos + n).unwrap_or_default();
        self.pos += n;
        Ok(out)
    }

    /// A sub-reader over the next `n` bytes.
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, WireError> {
        let base = self.offset();
        let bytes = self.take(n, what)?;
        Ok(Reader::new(bytes, base))
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        out
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let b = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// Fails unless everything was read.
    pub fn finish(&self, what: &'static str) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.error(WireErrorKind::TrailingBytes { what, count })),
        }
    }
}

/// The output buffer of the encoders. Lengths are written as placeholders
/// and patched once the body is known; a structure longer than its 16-bit
/// length field can say is recorded and reported by [`Writer::finish`]
/// instead of being silently truncated.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
    too_long: Option<(&'static str, usize)>,
}

/// A structure too long for its length field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is {len} bytes, more than its length field can express")]
pub struct EncodeError {
    /// The structure.
    pub what: &'static str,
    /// Its length.
    pub len: usize,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True before anything is written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// Appends a big-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    /// Reserves a u16 length field; returns where it is.
    pub fn len16_placeholder(&mut self) -> usize {
        let at = self.buf.len();
        self.u16(0);
        at
    }

    /// Sets the u16 at `at` to the number of bytes written since `start`.
    pub fn patch_len16(&mut self, at: usize, start: usize, what: &'static str) {
        let len = self.buf.len().saturating_sub(start);
        let v = match u16::try_from(len) {
            Ok(v) => v,
            Err(_) => {
                self.too_long.get_or_insert((what, len));
                u16::MAX
            }
        };
        if let Some(dst) = self.buf.get_mut(at..at + 2) {
            dst.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// Overwrites one byte already written (next-payload fields).
    pub fn set_u8(&mut self, at: usize, v: u8) {
        if let Some(b) = self.buf.get_mut(at) {
            *b = v;
        }
    }

    /// Overwrites a u32 already written (the message length).
    pub fn set_u32(&mut self, at: usize, v: u32) {
        if let Some(dst) = self.buf.get_mut(at..at + 4) {
            dst.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// The bytes, or the first structure that overflowed its length field.
    pub fn finish(self) -> Result<Vec<u8>, EncodeError> {
        match self.too_long {
            Some((what, len)) => Err(EncodeError { what, len }),
            None => Ok(self.buf),
        }
    }

    /// The bytes written so far (for tests and for callers that sign them).
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }
}
