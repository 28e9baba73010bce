//! What the negotiator answers before any IKE SA exists, from the header
//! alone: INVALID_MAJOR_VERSION for a request of a higher major version
//! (RFC 7296 §2.5: drop it and reply, unauthenticated, with the version we
//! speak in the header).

use crate::ike::wire::{ExchangeType, Header, Message, NotifyPayload, NotifyType, Payload, Reader};

/// The reply to a request with a higher major version, or `None` when the
/// message is a response, has an older version (IKEv1 is not answered), or
/// is shorter than a header. `natt` adds the non-ESP marker.
pub(crate) fn invalid_major_version(msg: &[u8], natt: bool) -> Option<Vec<u8>> {
    // Read by hand: `Header::decode` refuses another major version as a
    // whole, and the reply needs the fields.
    let mut r = Reader::new(msg, 0);
    let spi_i = r.u64("header").ok()?;
    let spi_r = r.u64("header").ok()?;
    let _next = r.u8("header").ok()?;
    let version = r.u8("header").ok()?;
    let exchange = ExchangeType(r.u8("header").ok()?);
    let flags = r.u8("header").ok()?;
    let message_id = r.u32("header").ok()?;
    let is_response = flags & 0x20 != 0;
    if is_response || version >> 4 <= crate::ike::wire::header::MAJOR_VERSION {
        return None;
    }
    let reply = Message {
        header: Header {
            spi_i,
            spi_r,
            exchange,
            initiator: false,
            response: true,
            higher_version: false,
            message_id,
        },
        payloads: vec![Payload::Notify(NotifyPayload::flag(
            NotifyType::INVALID_MAJOR_VERSION,
        ))],
    };
    let bytes = reply.encode().ok()?;
    Some(if natt {
        [&[0u8; 4][..], &bytes].concat()
    } else {
        bytes
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: u8, flags: u8) -> Vec<u8> {
        let mut m = vec![0u8; 28];
        m[..8].copy_from_slice(&7u64.to_be_bytes());
        m[17] = version;
        m[18] = 34;
        m[19] = flags;
        m[20..24].copy_from_slice(&5u32.to_be_bytes());
        m[24..28].copy_from_slice(&28u32.to_be_bytes());
        m
    }

    #[test]
    fn a_higher_version_request_gets_invalid_major_version() {
        let reply = invalid_major_version(&request(0x30, 0x08), false).unwrap();
        let m = Message::decode(&reply).unwrap();
        assert_eq!(m.to_string(), "IKE_SA_INIT response 5 [ N(INVAL_MAJOR) ]");
        assert_eq!((m.header.spi_i, reply[17]), (7, 0x20));
        let natt = invalid_major_version(&request(0x30, 0x08), true).unwrap();
        assert_eq!(&natt[..4], &[0, 0, 0, 0]);
    }

    #[test]
    fn responses_ikev1_and_short_messages_get_nothing() {
        assert!(invalid_major_version(&request(0x30, 0x20), false).is_none());
        assert!(invalid_major_version(&request(0x10, 0x08), false).is_none());
        assert!(invalid_major_version(&request(0x20, 0x08), false).is_none());
        assert!(invalid_major_version(&[0; 20], false).is_none());
    }
}
