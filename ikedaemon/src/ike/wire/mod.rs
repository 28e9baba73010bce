//! The IKEv2 wire format (RFC 7296 §3, RFC 7383 fragments): one Rust type
//! per payload, a decoder that never panics and never allocates more than
//! it was given, and a canonical encoder that computes every length and
//! Next Payload field itself.
//!
//! Decoding a datagram: [`Message::decode`]. The SK/SKF payloads stay
//! ciphertext here; `ike::protect` opens them and decodes the inner chain
//! with [`decode_chain`].

pub mod cp;
pub mod eap;
pub mod encrypted;
pub mod error;
pub mod fuzz_support;
pub mod header;
pub mod message;
pub mod notify;
pub mod notify_type;
pub mod payload;
pub mod reader;
pub mod registry;
pub mod sa;
pub mod simple;
pub mod ts;

pub use cp::{CfgAttribute, CpPayload};
pub use eap::EapPayload;
pub use encrypted::{EncryptedFragment, EncryptedPayload};
pub use error::{WireError, WireErrorKind};
pub use header::{HEADER_LEN, Header, HeaderInfo};
pub use message::Message;
pub use notify::{NotifyData, NotifyPayload};
pub use notify_type::NotifyType;
pub use payload::{Payload, decode_chain, decode_inner_chain, encode_chain};
pub use reader::{EncodeError, Reader, Writer};
pub use registry::{
    AttributeType, AuthMethod, CertEncoding, CfgAttrType, CfgType, ExchangeType, IdType,
    PayloadType, ProtocolId, TransformType, TsType, transform_id_name,
};
pub use sa::{Attribute, AttributeValue, Proposal, SaPayload, Transform};
pub use simple::{
    AuthPayload, CertPayload, CertReqPayload, DeletePayload, Identification, KePayload,
};
pub use ts::{TrafficSelector, TsPayload, TsRange};
