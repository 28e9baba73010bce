//! The data an IKEv2 AUTH payload signs or MACs (RFC 7296 §2.15): the
//! signed octets `RealMessage ‖ Nonce ‖ prf(SK_p, ID body)`, and the
//! shared-key message integrity code (Auth Method 2)
//! `prf(prf(Shared Secret, "Key Pad for IKEv2"), signed octets)` with a
//! constant-time check.

use zeroize::Zeroizing;

use super::CryptoError;
use super::prf::{PrfAlg, prf};

/// The 17 ASCII bytes (no NUL) keyed with the shared secret (RFC 7296 §2.15).
pub const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// The octets to sign or MAC for one side's AUTH payload:
/// `real_message ‖ peer_nonce ‖ prf(sk_p, id_payload_body)`.
///
/// * `real_message`: this side's first message as sent (IKE_SA_INIT request
///   for the initiator, response for the responder), from the IKE header on.
/// * `peer_nonce`: the other side's Nonce Data.
/// * `sk_p`: this side's SK_pi (initiator) or SK_pr (responder).
/// * `id_payload_body`: this side's ID payload without its generic header,
///   i.e. ID Type ‖ RESERVED (3 bytes) ‖ Identification Data.
pub fn signed_octets(
    real_message: &[u8],
    peer_nonce: &[u8],
    prf_alg: PrfAlg,
    sk_p: &[u8],
    id_payload_body: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let maced_id = prf(prf_alg, sk_p, id_payload_body)?;
    let mut out = Vec::with_capacity(real_message.len() + peer_nonce.len() + maced_id.len());
    out.extend_from_slice(real_message);
    out.extend_from_slice(peer_nonce);
    out.extend_from_slice(&maced_id);
    Ok(out)
}

/// The AUTH data for Shared Key Message Integrity Code (Auth Method 2):
/// `prf(prf(psk, "Key Pad for IKEv2"), signed_octets)`. `psk` is the shared
/// secret's bytes (keep them in a `Zeroizing` buffer and pass `&*psk`).
pub fn psk_auth(
    prf_alg: PrfAlg,
    psk: &[u8],
    signed_octets: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let padded_key = prf(prf_alg, psk, KEY_PAD)?;
    prf(prf_alg, &padded_key, signed_octets)
}

/// Checks received Auth Method 2 data in constant time; a mismatch (or a
/// wrong length) is [`CryptoError::BadSignature`].
pub fn psk_verify(
    prf_alg: PrfAlg,
    psk: &[u8],
    signed_octets: &[u8],
    auth_data: &[u8],
) -> Result<(), CryptoError> {
    let want = psk_auth(prf_alg, psk, signed_octets)?;
    if auth_data.len() == want.len() && openssl::memcmp::eq(&want, auth_data) {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // No public IKEv2 AUTH vector exists; the expected values come from the
    // OpenSSL command line, independent of this code (prfsha256):
    //   MSG = 0102..30 (48 bytes), NONCE = 10*32, SK_p = 22*32,
    //   ID body = 02 000000 "gw.example.com" (ID_FQDN), PSK = "correct horse"
    //   MACED = echo <ID body> | xxd -r -p \
    //     | openssl mac -digest SHA256 -macopt hexkey:<SK_p> HMAC
    //   => 7ed972dd6ba07cf4e4c6e9fbbb3a23810c27e507aaa6da910421fe363cec34ad
    //   INNER = printf 'Key Pad for IKEv2' \
    //     | openssl mac -digest SHA256 -macopt "key:correct horse" HMAC
    //   => 8084ef1e4a13498166bd6f3a38f3de1c0bacc384b70e241bebda3afb269de212
    //   echo <MSG><NONCE><MACED> | xxd -r -p \
    //     | openssl mac -digest SHA256 -macopt hexkey:<INNER> HMAC
    //   => f1dc67977101622e3da2a5b9d8fb65e975ee858d764a6a32706113a6ff4930b6
    #[test]
    fn psk_auth_matches_openssl_cli() {
        let msg: Vec<u8> = (1..=48).collect();
        let id_body = [&h("02000000")[..], b"gw.example.com"].concat();
        let octets =
            signed_octets(&msg, &[0x10; 32], PrfAlg::HmacSha256, &[0x22; 32], &id_body).unwrap();
        let maced = "7ed972dd6ba07cf4e4c6e9fbbb3a23810c27e507aaa6da910421fe363cec34ad";
        assert_eq!(octets, [&msg[..], &[0x10; 32], &h(maced)].concat());

        let psk = Zeroizing::new(b"correct horse".to_vec());
        let auth = psk_auth(PrfAlg::HmacSha256, &psk, &octets).unwrap();
        let want = "f1dc67977101622e3da2a5b9d8fb65e975ee858d764a6a32706113a6ff4930b6";
        assert_eq!(hex::encode(&*auth), want);
        psk_verify(PrfAlg::HmacSha256, &psk, &octets, &h(want)).unwrap();
    }

    #[test]
    fn psk_verify_rejects() {
        let octets = signed_octets(
            b"msg",
            b"nonce",
            PrfAlg::Aes128Xcbc,
            &[1; 16],
            b"\x01\0\0\0\xc0\0\x02\x01",
        )
        .unwrap();
        assert_eq!(octets.len(), 3 + 5 + 16);
        let auth = psk_auth(
            PrfAlg::Aes128Xcbc,
            b"a long shared secret, > 16 bytes",
            &octets,
        )
        .unwrap();
        let ok = psk_verify(
            PrfAlg::Aes128Xcbc,
            b"a long shared secret, > 16 bytes",
            &octets,
            &auth,
        );
        assert_eq!(ok, Ok(()));
        let mut bad = auth.to_vec();
        bad[15] ^= 1;
        for (psk, data) in [
            (&b"a long shared secret, > 16 bytes"[..], &bad[..]),
            (&b"a long shared secret, > 16 bytes"[..], &auth[..15]),
            (&b"a long shared secret, > 16 bytes"[..], &[][..]),
            (&b"another secret"[..], &auth[..]),
        ] {
            assert_eq!(
                psk_verify(PrfAlg::Aes128Xcbc, psk, &octets, data),
                Err(CryptoError::BadSignature)
            );
        }
    }
}
