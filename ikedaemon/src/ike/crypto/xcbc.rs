//! AES-128 based MACs: AES-XCBC-MAC (RFC 3566) and AES-CMAC (RFC 4493).
//!
//! OpenSSL 3 has no XCBC-MAC, so it is built here by hand from AES-128
//! (ECB for the three derived subkeys, CBC with a zero IV for the chain),
//! exactly as RFC 3566 §4 describes. CMAC is OpenSSL's own (a CMAC `PKey`
//! over AES-128-CBC driven through a `Signer`).
//!
//! Both functions take the message as a list of parts so callers can MAC
//! `aad ‖ IV ‖ ciphertext` without concatenating first. The outputs are the
//! full 128-bit values; truncation to 96 bits (the `-96` integrity
//! transforms) and the variable-key PRF forms (RFC 4434, RFC 4615) live in
//! `integ` and `prf`.

use openssl::cipher::Cipher;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use zeroize::Zeroizing;

use super::CryptoError;

/// AES block and AES-128 key size, in bytes.
pub const AES_BLOCK: usize = 16;

fn key16<'a>(key: &'a [u8], alg: &'static str) -> Result<&'a [u8; AES_BLOCK], CryptoError> {
    key.try_into().map_err(|_| CryptoError::KeyLength {
        alg,
        got: key.len(),
        expected: AES_BLOCK,
    })
}

/// AES-XCBC-MAC (RFC 3566) of the concatenation of `parts` under a 128-bit
/// key; returns the full 128-bit value (callers truncate for `-96`).
pub fn aes_xcbc_mac(
    key: &[u8],
    parts: &[&[u8]],
) -> Result<Zeroizing<[u8; AES_BLOCK]>, CryptoError> {
    let key = key16(key, "AES-XCBC")?;

    // K1 = E(K, 0x01..), K2 = E(K, 0x02..), K3 = E(K, 0x03..) (RFC 3566 §4 (1)).
    let mut consts = [0u8; 3 * AES_BLOCK];
    for (i, chunk) in consts.chunks_mut(AES_BLOCK).enumerate() {
        chunk.fill(i as u8 + 1);
    }
    let subkeys = super::cipher::raw(Cipher::aes_128_ecb(), key, None, &consts, true)?;
    let (k1, rest) = subkeys.split_at(AES_BLOCK);
    let (k2, k3) = rest.split_at(AES_BLOCK);
    let k1: &[u8; AES_BLOCK] = k1
        .try_into()
        .map_err(|_| CryptoError::Malformed("xcbc subkey"))?;

    // The message, with its last block xored with K2 (complete block) or
    // padded with 10* and xored with K3 (incomplete or empty block); CBC with
    // K1 and a zero IV over that, last block = MAC (RFC 3566 §4 (2)-(3)).
    let total = parts
        .iter()
        .try_fold(AES_BLOCK, |acc, p| acc.checked_add(p.len()))
        .ok_or(CryptoError::Malformed("MAC input too long"))?;
    let mut msg = Zeroizing::new(Vec::with_capacity(total));
    for p in parts {
        msg.extend_from_slice(p);
    }
    let tail = msg.len() % AES_BLOCK;
    let last_key = if !msg.is_empty() && tail == 0 {
        k2
    } else {
        msg.push(0x80);
        let padded_len = msg.len().div_ceil(AES_BLOCK) * AES_BLOCK;
        msg.resize(padded_len, 0);
        k3
    };
    let last_start = msg.len() - AES_BLOCK;
    if let Some(last) = msg.get_mut(last_start..) {
        for (m, k) in last.iter_mut().zip(last_key) {
            *m ^= k;
        }
    }
    let chained = super::cipher::raw(
        Cipher::aes_128_cbc(),
        k1,
        Some(&[0u8; AES_BLOCK]),
        &msg,
        true,
    )?;
    let mut mac = Zeroizing::new([0u8; AES_BLOCK]);
    mac.copy_from_slice(
        chained
            .get(last_start..)
            .ok_or(CryptoError::Malformed("xcbc output"))?,
    );
    Ok(mac)
}

/// AES-CMAC (RFC 4493) of the concatenation of `parts` under a 128-bit key,
/// computed by OpenSSL; returns the full 128-bit value.
pub fn aes_cmac(key: &[u8], parts: &[&[u8]]) -> Result<Zeroizing<[u8; AES_BLOCK]>, CryptoError> {
    let key = key16(key, "AES-CMAC")?;
    let pkey = PKey::cmac(&openssl::symm::Cipher::aes_128_cbc(), key)?;
    let mut signer = Signer::new_without_digest(&pkey)?;
    for p in parts {
        signer.update(p)?;
    }
    let out = Zeroizing::new(signer.sign_to_vec()?);
    let mut mac = Zeroizing::new([0u8; AES_BLOCK]);
    if out.len() != AES_BLOCK {
        return Err(CryptoError::OpenSsl(format!(
            "CMAC returned {} bytes",
            out.len()
        )));
    }
    mac.copy_from_slice(&out);
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    const K: &str = "000102030405060708090a0b0c0d0e0f";
    const M32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    // RFC 3566 §4.6 test cases 1-5, as carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/aes_xcbc.c
    // (aes_xcbc_p1..p5, full 128-bit outputs).
    #[test]
    fn xcbc_rfc3566_vectors() {
        let cases: &[(usize, &str)] = &[
            (0, "75f0251d528ac01c4573dfd584d79f29"),
            (3, "5b376580ae2f19afe7219ceef172756f"),
            (16, "d2a246fa349b68a79998a4394ff7a263"),
            (20, "47f51b4564966215b8985c63055ed308"),
            (32, "f54f0ec8d2b9f3d36807734bd5283fd4"),
        ];
        let m = h(M32);
        for &(len, want) in cases {
            let mac = aes_xcbc_mac(&h(K), &[&m[..len]]).unwrap();
            assert_eq!(hex::encode(*mac), want, "len {len}");
        }
    }

    // RFC 3566 §4.6 test cases 6 (34-byte input) and 7 (1000 zero bytes), as
    // carried in libreswan/libreswan's AES-XCBC PRF test vectors
    // (aes_xcbc_prf_tests, "Test Case #6" / "#7"). Also checks that splitting
    // the message into parts does not change the MAC.
    #[test]
    fn xcbc_rfc3566_34_and_1000_bytes() {
        let mut m = h(M32);
        m.extend_from_slice(&[0x20, 0x21]);
        let whole = aes_xcbc_mac(&h(K), &[&m]).unwrap();
        assert_eq!(hex::encode(*whole), "becbb3bccdb518a30677d5481fb6b4d8");
        let split = aes_xcbc_mac(&h(K), &[&m[..5], &[], &m[5..17], &m[17..]]).unwrap();
        assert_eq!(*whole, *split);
        let zeros = [0u8; 1000];
        let mac = aes_xcbc_mac(&h(K), &[&zeros]).unwrap();
        assert_eq!(hex::encode(*mac), "f0dafee895db30253761103b5d84528f");
    }

    // RFC 4493 §4 examples 1-4, as carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/aes_cmac.c
    // (aes_cmac_p1..p4).
    #[test]
    fn cmac_rfc4493_vectors() {
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let msg = h(concat!(
            "6bc1bee22e409f96e93d7e117393172a",
            "ae2d8a571e03ac9c9eb76fac45af8e51",
            "30c81c46a35ce411e5fbc1191a0a52ef",
            "f69f2445df4f9b17ad2b417be66c3710"
        ));
        let cases: &[(usize, &str)] = &[
            (0, "bb1d6929e95937287fa37d129b756746"),
            (16, "070a16b46b4d4144f79bdd9dd04a287c"),
            (40, "dfa66747de9ae63030ca32611497c827"),
            (64, "51f0bebf7e3b9d92fc49741779363cfe"),
        ];
        for &(len, want) in cases {
            let mac = aes_cmac(&key, &[&msg[..len]]).unwrap();
            assert_eq!(hex::encode(*mac), want, "len {len}");
            let split = aes_cmac(&key, &[&msg[..len / 2], &msg[len / 2..len]]).unwrap();
            assert_eq!(*mac, *split);
        }
    }

    #[test]
    fn wrong_key_length_is_an_error() {
        for len in [0, 15, 17, 32] {
            let key = vec![0u8; len];
            assert!(matches!(
                aes_xcbc_mac(&key, &[b"x"]),
                Err(CryptoError::KeyLength { got, expected: 16, .. }) if got == len
            ));
            assert!(matches!(
                aes_cmac(&key, &[b"x"]),
                Err(CryptoError::KeyLength { .. })
            ));
        }
    }
}
