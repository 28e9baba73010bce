//! Extensions: one struct per C layout, the [`ExtBody`] enum over them, and
//! [`Extension`] = kind + body. Decoding checks the size a layout allows
//! before reading; encoding writes the header, pads to 8 bytes and fills in
//! the length.

mod address;
mod basic;
mod data;
mod openbsd;
mod policy;
mod proposal;

pub use address::{Address, Filter, KmAddress};
pub use basic::{Lifetime, NatTFrag, NatTType, Port, Sa, Sa2, SpiRange, U32Value};
pub use data::{Credential, Identity, IfHwOffload, Key, Opaque, SecCtx, Tag};
pub use openbsd::{Counter, Iface, Protocol, Rdomain, Replay};
pub use policy::{IpsecRequest, Policy};
pub use proposal::{Alg, Comb, Proposal, Sensitivity, Supported};

use crate::dialect::Dialect;
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, SizeRule};
use crate::numbers::{ExtKind, Layout};
use crate::wire::{Reader, Writer};

/// A C structure following the 4-byte extension header.
pub(crate) trait Body: Sized {
    /// The C name, for errors.
    const NAME: &'static str;
    /// Sizes allowed for the whole extension, header included.
    const SIZE: SizeRule;
    /// Read the body; `r` covers the extension after its 4-byte header.
    fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<Self, DecodeError>;
    /// Write the body (without header or final padding).
    fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError>;
}

/// Expands `$m!{ Variant(Type), ... }` over every body layout.
macro_rules! for_each_body {
    ($m:ident) => {
        $m! {
            Sa(Sa),
            Lifetime(Lifetime),
            Address(Address),
            Key(Key),
            Identity(Identity),
            Sensitivity(Sensitivity),
            Proposal(Proposal),
            Supported(Supported),
            SpiRange(SpiRange),
            KmPrivate(Opaque),
            Policy(Policy),
            Sa2(Sa2),
            NatTType(NatTType),
            NatTPort(Port),
            NatTFrag(NatTFrag),
            SaReplay(U32Value),
            SecCtx(SecCtx),
            KmAddress(KmAddress),
            Filter(Filter),
            Protocol(Protocol),
            PolicySeq(U32Value),
            Credential(Credential),
            UdpEncap(Port),
            Tag(Tag),
            Tap(U32Value),
            Counter(Counter),
            Rdomain(Rdomain),
            Mtu(U32Value),
            Replay(Replay),
            Iface(Iface),
            IfHwOffload(IfHwOffload),
        }
    };
}

macro_rules! body_dispatch {
    ($($var:ident($ty:ty)),* $(,)?) => {
        /// The body of an extension: one variant per C layout, named as
        /// [`Layout`] names it.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum ExtBody {
            $( $var($ty), )*
        }

        impl ExtBody {
            /// The layout of this body.
            pub fn layout(&self) -> Layout {
                match self { $( ExtBody::$var(_) => Layout::$var, )* }
            }

            fn decode(layout: Layout, r: &mut Reader<'_>, d: Dialect, total: usize) -> Result<Self, DecodeError> {
                match layout {
                    $( Layout::$var => {
                        check_size(<$ty as Body>::NAME, <$ty as Body>::SIZE, total, r)?;
                        Ok(ExtBody::$var(<$ty as Body>::decode(r, d)?))
                    } )*
                }
            }

            fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
                match self { $( ExtBody::$var(b) => b.encode(w, d), )* }
            }

            fn layout_name(layout: Layout) -> &'static str {
                match layout { $( Layout::$var => <$ty as Body>::NAME, )* }
            }
        }
    };
}
for_each_body!(body_dispatch);

fn check_size(
    name: &'static str,
    rule: SizeRule,
    total: usize,
    r: &Reader<'_>,
) -> Result<(), DecodeError> {
    let ok = match rule {
        SizeRule::Exact(n) => total == n,
        SizeRule::AtLeast(n) => total >= n,
    };
    if ok {
        Ok(())
    } else {
        Err(DecodeError {
            offset: r.offset() - 4,
            kind: DecodeErrorKind::WrongSize {
                ext: name,
                expected: rule,
                actual: total,
            },
        })
    }
}

/// One extension of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Which extension (decides the wire type number).
    pub kind: ExtKind,
    /// Its contents; the layout must be `kind.layout()`.
    pub body: ExtBody,
}

impl Extension {
    /// Pair a kind with a body, checking that they belong together.
    pub fn new(kind: ExtKind, body: ExtBody) -> Result<Self, EncodeError> {
        if kind.layout() != body.layout() {
            return Err(EncodeError::BodyMismatch {
                kind: kind.name(),
                body: ExtBody::layout_name(body.layout()),
            });
        }
        Ok(Extension { kind, body })
    }

    /// Decode one extension; `r` starts at its header and covers the rest
    /// of the message. Returns the extension and its wire type number.
    pub(crate) fn decode(r: &mut Reader<'_>, d: Dialect) -> Result<(Self, u16), DecodeError> {
        let start = r.offset();
        if r.remaining() < 4 {
            return Err(r.error(DecodeErrorKind::Truncated {
                what: "sadb_ext header",
                needed: 4,
                available: r.remaining(),
            }));
        }
        let mut head = r.clone();
        let units = usize::from(head.u16("sadb_ext")?);
        let ext_type = head.u16("sadb_ext")?;
        if units == 0 {
            return Err(r.error(DecodeErrorKind::ZeroLength { ext_type }));
        }
        let len = units * 8;
        if len > r.remaining() {
            return Err(r.error(DecodeErrorKind::LengthPastEnd {
                ext_type,
                declared: len,
                available: r.remaining(),
            }));
        }
        let kind = ExtKind::from_wire(d, ext_type).ok_or(DecodeError {
            offset: start,
            kind: DecodeErrorKind::UnknownExtension { ext_type },
        })?;
        let mut ext = r.sub(len, "extension")?;
        ext.skip(4, "sadb_ext")?;
        let body = ExtBody::decode(kind.layout(), &mut ext, d, len)?;
        Ok((Extension { kind, body }, ext_type))
    }

    /// Append this extension, padded to 8 bytes.
    pub(crate) fn encode(&self, w: &mut Writer, d: Dialect) -> Result<(), EncodeError> {
        if self.kind.layout() != self.body.layout() {
            return Err(EncodeError::BodyMismatch {
                kind: self.kind.name(),
                body: ExtBody::layout_name(self.body.layout()),
            });
        }
        let number = self
            .kind
            .to_wire(d)
            .ok_or_else(|| EncodeError::NotInDialect {
                what: format!("extension {}", self.kind.name()),
                dialect: d.name(),
            })?;
        let start = w.len();
        w.u16(0);
        w.u16(number);
        self.body.encode(w, d)?;
        w.pad_from(start);
        let units = (w.len() - start) / 8;
        let units = u16::try_from(units).map_err(|_| EncodeError::TooLong(w.len() - start))?;
        w.patch_u16(start, units);
        Ok(())
    }
}
