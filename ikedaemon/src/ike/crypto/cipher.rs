//! Raw cipher operations under the SK payload: AES-CBC over whole blocks
//! without padding, and the AEADs (AES-GCM, AES-CCM, ChaCha20-Poly1305) with
//! `nonce = salt ‖ IV` as RFC 5282 §4 and RFC 7634 §2 lay it out, the tag
//! truncated to the transform's ICV length.
//!
//! AES-CCM needs its nonce length (11) and tag length set before the key,
//! and AES-GCM needs a truncated (8/12-byte) tag honoured on decrypt, so all
//! AEADs go through OpenSSL's `CipherCtx` rather than `symm::encrypt_aead`.

use openssl::cipher_ctx::CipherCtx;
use zeroize::Zeroizing;

use super::CryptoError;
use super::encr::{EncrAlg, EncrSpec};

/// Largest input handed to one OpenSSL cipher call (its lengths are `int`).
const MAX_CIPHER_INPUT: usize = (i32::MAX as usize) - 64;

fn check_input(data: &[u8]) -> Result<(), CryptoError> {
    if data.len() > MAX_CIPHER_INPUT {
        return Err(CryptoError::Malformed("cipher input too long"));
    }
    Ok(())
}

/// AES-CBC over whole blocks without padding. `key` and `iv` must already
/// have the spec's lengths and `data` be a multiple of 16 bytes.
pub(crate) fn cbc(
    spec: EncrSpec,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
    encrypt: bool,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    check_input(data)?;
    if spec.alg() != EncrAlg::AesCbc || key.len() != spec.key_len() || iv.len() != 16 {
        return Err(CryptoError::Malformed("cbc parameters"));
    }
    if !data.len().is_multiple_of(16) {
        return Err(CryptoError::MalformedCiphertext(
            "not a multiple of the block size",
        ));
    }
    raw(spec.openssl_cipher(), key, Some(iv), data, encrypt)
}

/// One block-cipher pass without padding over `data` (whole blocks; the
/// caller checks) with `key` and an optional `iv`: exactly `data.len()`
/// bytes out. Shared by AES-CBC and the AES-XCBC MAC.
pub(crate) fn raw(
    cipher: &openssl::cipher::CipherRef,
    key: &[u8],
    iv: Option<&[u8]>,
    data: &[u8],
    encrypt: bool,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    check_input(data)?;
    let mut ctx = CipherCtx::new()?;
    if encrypt {
        ctx.encrypt_init(Some(cipher), Some(key), iv)?;
    } else {
        ctx.decrypt_init(Some(cipher), Some(key), iv)?;
    }
    ctx.set_padding(false);
    let mut out = Zeroizing::new(vec![0u8; data.len() + 16]);
    let mut n = ctx.cipher_update(data, Some(&mut out))?;
    let tail = out
        .get_mut(n..)
        .ok_or(CryptoError::Malformed("cipher output"))?;
    n += ctx.cipher_final(tail)?;
    out.truncate(n);
    Ok(out)
}

/// Sets up an AEAD context: cipher, nonce length, (CCM) tag, key, nonce, and
/// (CCM) the message length, then feeds the AAD.
fn aead_ctx(
    spec: EncrSpec,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    data_len: usize,
    decrypt_tag: Option<&[u8]>,
) -> Result<CipherCtx, CryptoError> {
    check_input(aad)?;
    if !spec.is_aead()
        || key.len() != spec.key_len()
        || nonce.len() != spec.salt_len() + spec.iv_len()
        || data_len > MAX_CIPHER_INPUT
    {
        return Err(CryptoError::Malformed("aead parameters"));
    }
    let mut ctx = CipherCtx::new()?;
    let encrypt = decrypt_tag.is_none();
    if encrypt {
        ctx.encrypt_init(Some(spec.openssl_cipher()), None, None)?;
    } else {
        ctx.decrypt_init(Some(spec.openssl_cipher()), None, None)?;
    }
    ctx.set_iv_length(nonce.len())?;
    if spec.alg().is_ccm() {
        match decrypt_tag {
            Some(tag) => ctx.set_tag(tag)?,
            None => ctx.set_tag_length(spec.icv_len())?,
        }
    }
    if encrypt {
        ctx.encrypt_init(None, Some(key), Some(nonce))?;
    } else {
        ctx.decrypt_init(None, Some(key), Some(nonce))?;
    }
    if spec.alg().is_ccm() {
        ctx.set_data_len(data_len)?;
    }
    if !aad.is_empty() {
        ctx.cipher_update(aad, None)?;
    }
    Ok(ctx)
}

/// AEAD encryption: returns `ciphertext ‖ tag` (tag truncated to the
/// transform's ICV length).
pub(crate) fn aead_seal(
    spec: EncrSpec,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_input(plaintext)?;
    let mut ctx = aead_ctx(spec, key, nonce, aad, plaintext.len(), None)?;
    let mut out = vec![0u8; plaintext.len() + 16];
    let mut n = ctx.cipher_update(plaintext, Some(&mut out))?;
    let tail = out
        .get_mut(n..)
        .ok_or(CryptoError::Malformed("aead output"))?;
    n += ctx.cipher_final(tail)?;
    out.truncate(n);
    let mut tag = vec![0u8; spec.icv_len()];
    ctx.tag(&mut tag)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// AEAD decryption of `ciphertext ‖ tag`; a tag mismatch is
/// [`CryptoError::IntegrityCheckFailed`] and no plaintext is released.
pub(crate) fn aead_open(
    spec: EncrSpec,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    check_input(sealed)?;
    let ct_len = sealed
        .len()
        .checked_sub(spec.icv_len())
        .ok_or(CryptoError::MalformedCiphertext("shorter than the ICV"))?;
    let (ct, tag) = sealed.split_at(ct_len);
    let mut ctx = aead_ctx(spec, key, nonce, aad, ct.len(), Some(tag))?;
    if !spec.alg().is_ccm() {
        ctx.set_tag(tag)?;
    }
    let mut out = Zeroizing::new(vec![0u8; ct.len() + 16]);
    // CCM verifies the tag inside the (single) update; GCM and
    // ChaCha20-Poly1305 in the final call.
    let mut n = ctx
        .cipher_update(ct, Some(&mut out))
        .map_err(|_| CryptoError::IntegrityCheckFailed)?;
    if !spec.alg().is_ccm() {
        let tail = out
            .get_mut(n..)
            .ok_or(CryptoError::Malformed("aead output"))?;
        n += ctx
            .cipher_final(tail)
            .map_err(|_| CryptoError::IntegrityCheckFailed)?;
    }
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// Checks one strongSwan-style AEAD vector: `key` includes the salt at
    /// its end, `iv` is the 8-byte explicit IV, `sealed` is ciphertext ‖ tag.
    fn run(alg: EncrAlg, key: &str, iv: &str, aad: &str, plain: &str, sealed: &str) {
        let key = h(key);
        let bits = u16::try_from((key.len() - alg.salt_len()) * 8).unwrap();
        let spec = EncrSpec::new(alg, alg.has_key_len_attr().then_some(bits)).unwrap();
        assert_eq!(key.len(), spec.keymat_len());
        let (k, salt) = key.split_at(spec.key_len());
        let nonce = [salt, &h(iv)].concat();
        let (aad, plain) = (h(aad), h(plain));
        let got = aead_seal(spec, k, &nonce, &aad, &plain).unwrap();
        assert_eq!(hex::encode(&got), sealed, "{}", spec.name());
        let opened = aead_open(spec, k, &nonce, &aad, &got).unwrap();
        assert_eq!(*opened, plain);
        // Any flipped bit in the ciphertext, the tag or the AAD is caught.
        for i in [0, got.len() - 1] {
            let mut bad = got.clone();
            bad[i] ^= 0x80;
            assert_eq!(
                aead_open(spec, k, &nonce, &aad, &bad),
                Err(CryptoError::IntegrityCheckFailed)
            );
        }
        let mut bad_aad = aad.clone();
        bad_aad.push(0);
        assert_eq!(
            aead_open(spec, k, &nonce, &bad_aad, &got),
            Err(CryptoError::IntegrityCheckFailed)
        );
    }

    const GCM_KEY128: &str = "feffe9928665731c6d6a8f9467308308cafebabe";
    const GCM_KEY256: &str =
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308cafebabe";
    const GCM_IV: &str = "facedbaddecaf888";
    const GCM_PLAIN: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    const GCM_CT128: &str = "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985";
    const GCM_AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

    // McGrew & Viega GCM test cases 3, 4, 9, 15, 16 with 8-byte IVs (via the
    // Linux kernel), as carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/aes_gcm.c
    // (aes_gcm1..aes_gcm7): covers ICV 8/12/16 and all three key sizes.
    #[test]
    fn aes_gcm_vectors() {
        use EncrAlg::*;
        let ct128 = GCM_CT128;
        run(
            AesGcm8,
            GCM_KEY128,
            GCM_IV,
            "",
            GCM_PLAIN,
            &format!("{ct128}4d5c2af327cd64a6"),
        );
        run(
            AesGcm12,
            GCM_KEY128,
            GCM_IV,
            "",
            GCM_PLAIN,
            &format!("{ct128}4d5c2af327cd64a62cf35abd"),
        );
        run(
            AesGcm16,
            GCM_KEY128,
            GCM_IV,
            "",
            GCM_PLAIN,
            &format!("{ct128}4d5c2af327cd64a62cf35abd2ba6fab4"),
        );
        let (ct60, plain60) = (&GCM_CT128[..120], &GCM_PLAIN[..120]);
        run(
            AesGcm16,
            GCM_KEY128,
            GCM_IV,
            GCM_AAD,
            plain60,
            &format!("{ct60}5bc94fbc3221a5db94fae95ae7121a47"),
        );
        run(
            AesGcm16,
            "feffe9928665731c6d6a8f9467308308feffe9928665731ccafebabe",
            GCM_IV,
            "",
            GCM_PLAIN,
            concat!(
                "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c",
                "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
                "9924a7c8587336bfb118024db8674a14"
            ),
        );
        let ct256 = concat!(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa",
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
        );
        run(
            AesGcm16,
            GCM_KEY256,
            GCM_IV,
            "",
            GCM_PLAIN,
            &format!("{ct256}b094dac5d93471bdec1a502270e3cc6c"),
        );
        run(
            AesGcm16,
            GCM_KEY256,
            GCM_IV,
            GCM_AAD,
            plain60,
            &format!("{}76fc6ece0f4e1768cddf8853bb2d551b", &ct256[..120]),
        );
    }

    // CAVS vectors with 11-byte nonces (via the Linux kernel), as carried in
    // strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/aes_ccm.c
    // (aes_ccm1, 3, 5, 6, 8, 11): ICV 8/12/16, all key sizes, empty
    // plaintext and empty AAD.
    #[test]
    fn aes_ccm_vectors() {
        use EncrAlg::*;
        run(
            AesCcm16,
            "83ac5466c2ebe5052e01d1fc5d82662e96ac59",
            "3007a1e2a2c75524",
            "",
            "19c881f6e986ff930b7867e5bbb7fc6e8377b3a60c8c9f9c352eade062f991a1",
            concat!(
                "ab6fe1691d1999a892a0c46f7ee28bb170bb8ca64c6e978a572bbe5d98a6b132",
                "da24ead9a13998fda4bed9f21a6d22a8"
            ),
        );
        run(
            AesCcm16,
            "f46bc27562feb4e1a3f0ffdd4e4b1275531473668d88f680a02035",
            "26f2218d5020dae2",
            "5b9e1367025eefc16cf9d71e528f7a47e9d4cf20146ef02dd89e2b56102356e7",
            "",
            "36ea7a7008dc6abcad0c7a63f661fd9b",
        );
        run(
            AesCcm8,
            "e08d997160d7971abd0199d58adf713ad3df244b5e3d4b4e307ab9d8530a5e2b1e2991",
            "ad8ec1530acf2dbe",
            "19b61f57c4f3f08b782b9402290f42276b75cb9834087e79e43e490d848b2287",
            "e1d9d813eb3a753f9dbd5f66bedcbb66bf1799624a39271f1ddc24ae192f984c",
            "19b86133452b43966f51d020307d9bc6263df8c96516a89ff0621734f21e8d754e13ccc0c32a542d",
        );
        run(
            AesCcm12,
            "7cc8183b8d99e07c4541b8bd5ca7c2328ab80259a4fea92c09759a9b3c9b2739f9d94e",
            "63b53d9d43f61e50",
            "57f56b8b575c3d3b1302010c834c96358ed639cf7d149b94b03936e68f57e013",
            "3b6c2936b6ef07a68372074fcffa66895fcab1bad58f2c2730db750993d465e4",
            concat!(
                "b0885a33aae5c71d8523c7c62ff41e3dcc63442507784f9e96b888ebbc481f06",
                "39af39acd84a80397b728af7"
            ),
        );
        run(
            AesCcm8,
            "ab2f8a74b71cd2b1ff802e487d82f8b9af9487",
            "783582817f889468",
            "",
            "",
            "413cb88773cbf3f3",
        );
        run(
            AesCcm8,
            "585da096651a04d796e5c568aa9535e029a0ba9e4878d1baee4983",
            "e9a9ffe957bafd9e",
            "44a62c05e9e143b1587cf25c6d390a64a4f01305d177996711c4c6db00563661",
            "85346642c8920f3658e06b913c985cbb0a85cc02ad7a96e96543a4c30fdc5581",
            "fbe55d34bee5e8e75aef2fbf1f7fd4b266ca611e967a61b31c164552ba049c9fb1d240bc527c6fb1",
        );
    }

    // RFC 7539 §2.8.2 (chacha20poly1305_1) and the RFC 7634 Appendix B IKEv2
    // example (chacha20poly1305_4), as carried in strongswan/strongswan
    // src/libstrongswan/plugins/test_vectors/test_vectors/chacha20poly1305.c.
    #[test]
    fn chacha20poly1305_vectors() {
        let sunscreen = hex::encode(
            "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the \
             future, sunscreen would be it.",
        );
        run(
            EncrAlg::ChaCha20Poly1305,
            "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f07000000",
            "4041424344454647",
            "50515253c0c1c2c3c4c5c6c7",
            &sunscreen,
            concat!(
                "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6",
                "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36",
                "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc",
                "3ff4def08e4b7a9de576d26586cec64b6116",
                "1ae10b594f09e26a7e902ecbd0600691"
            ),
        );
        run(
            EncrAlg::ChaCha20Poly1305,
            "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3",
            "1011121314151617",
            "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029",
            "0000000c000040010000000a00",
            "610394701f8d017f7c129248896b71bfe25236efd7cdc67066906315b2",
        );
    }

    #[test]
    fn bad_parameters_are_errors() {
        let gcm = EncrSpec::new(EncrAlg::AesGcm16, Some(128)).unwrap();
        let key = [0u8; 16];
        assert!(aead_seal(gcm, &key[..15], &[0; 12], b"", b"x").is_err());
        assert!(aead_seal(gcm, &key, &[0; 11], b"", b"x").is_err());
        assert_eq!(
            aead_open(gcm, &key, &[0; 12], b"", &[0; 15]),
            Err(CryptoError::MalformedCiphertext("shorter than the ICV"))
        );
        let aes = EncrSpec::new(EncrAlg::AesCbc, Some(128)).unwrap();
        assert!(cbc(aes, &key, &[0; 16], &[0; 15], true).is_err());
        assert!(cbc(aes, &key, &[0; 15], &[0; 16], true).is_err());
        assert!(cbc(gcm, &key, &[0; 16], &[0; 16], true).is_err());
        assert!(aead_seal(aes, &key, &[0; 12], b"", b"x").is_err());
    }
}
