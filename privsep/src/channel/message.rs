//! The [`IpcMessage`] trait of the enums that cross a channel, and the
//! [`ipc_enum!`](crate::ipc_enum) macro that defines such an enum with a
//! stable, explicit kind number per variant.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Kind number reserved for the handshake; [`ipc_enum!`](crate::ipc_enum)
/// refuses it at compile time.
pub const HANDSHAKE_KIND: u16 = u16::MAX;

/// A message type that crosses a channel: a serde enum whose variants have
/// stable kind numbers. The kind travels in the frame header, so a receiver
/// rejects unknown kinds before decoding anything. Define these with
/// [`ipc_enum!`](crate::ipc_enum) rather than by hand.
pub trait IpcMessage: Serialize + DeserializeOwned {
    /// This message's kind number.
    fn kind(&self) -> u16;
    /// The variant name of a kind number, `None` if the type has no such
    /// kind.
    fn kind_name(kind: u16) -> Option<&'static str>;
    /// The variant name of this message (for logs).
    fn name(&self) -> &'static str {
        Self::kind_name(self.kind()).unwrap_or("?")
    }
}

/// Define an enum that can cross a [`Channel`](crate::channel::Channel):
/// derives serde's `Serialize`/`Deserialize` (callers need no serde import
/// for the enum itself) and implements [`IpcMessage`] with the kind number
/// written after each variant. Numbers must be distinct, `u16`, and not
/// [`HANDSHAKE_KIND`]: both are checked at compile time. Keep a variant's
/// number when you add, remove or reorder others. The serde code names the
/// crate `privsep`, so depend on it under that name.
///
/// ```
/// privsep::ipc_enum! {
///     /// What the negotiator asks of the parent.
///     #[derive(Debug, Clone, PartialEq)]
///     pub enum ToParent {
///         /// Liveness check.
///         Ping = 1,
///         /// Sign these octets.
///         Sign { sa: u64, octets: Vec<u8> } = 2,
///         /// Install an SA.
///         Install(u32, String) = 3,
///     }
/// }
/// use privsep::channel::IpcMessage;
/// assert_eq!(ToParent::Ping.kind(), 1);
/// assert_eq!(ToParent::kind_name(3), Some("Install"));
/// assert_eq!(ToParent::kind_name(4), None);
/// ```
///
/// Two variants with one kind do not compile:
///
/// ```compile_fail
/// privsep::ipc_enum! {
///     enum Twice { A = 1, B = 1 }
/// }
/// ```
///
/// Nor does the handshake's kind:
///
/// ```compile_fail
/// privsep::ipc_enum! {
///     enum Reserved { A = 65535 }
/// }
/// ```
#[macro_export]
macro_rules! ipc_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $( ( $($tuple:tt)* ) )? $( { $($fields:tt)* } )? = $kind:expr
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive($crate::__private::serde::Serialize, $crate::__private::serde::Deserialize)]
        #[serde(crate = "privsep::__private::serde")]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant $( ( $($tuple)* ) )? $( { $($fields)* } )?
            ),+
        }

        const _: () = {
            let kinds: &[u16] = &[$($kind),+];
            let mut i = 0;
            while i < kinds.len() {
                assert!(
                    kinds[i] != $crate::channel::HANDSHAKE_KIND,
                    concat!("ipc_enum ", stringify!($name), ": kind 65535 is reserved for the handshake"),
                );
                let mut j = i + 1;
                while j < kinds.len() {
                    assert!(
                        kinds[i] != kinds[j],
                        concat!("ipc_enum ", stringify!($name), ": two variants have the same kind"),
                    );
                    j += 1;
                }
                i += 1;
            }
        };

        impl $crate::channel::IpcMessage for $name {
            fn kind(&self) -> u16 {
                match self {
                    $( Self::$variant { .. } => $kind, )+
                }
            }

            fn kind_name(kind: u16) -> ::core::option::Option<&'static str> {
                $(
                    if kind == $kind {
                        return ::core::option::Option::Some(stringify!($variant));
                    }
                )+
                ::core::option::Option::None
            }
        }
    };
}

/// The one message of the start-up handshake (see
/// [`Channel::handshake`](crate::channel::Channel::handshake)).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Hello {
    /// The sender's IPC protocol version.
    pub(crate) version: u32,
}

impl IpcMessage for Hello {
    fn kind(&self) -> u16 {
        HANDSHAKE_KIND
    }

    fn kind_name(kind: u16) -> Option<&'static str> {
        (kind == HANDSHAKE_KIND).then_some("Hello")
    }
}
