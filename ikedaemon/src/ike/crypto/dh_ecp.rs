//! ECP Diffie-Hellman over the NIST prime curves of RFC 5903 (groups 19,
//! 20, 21): KE payload encoding x‖y (RFC 5903 §7, no point-format octet),
//! the RFC 6989 §2.3 checks on the peer's point and the x-coordinate
//! shared secret.

use openssl::bn::{BigNum, BigNumContext};
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use zeroize::Zeroizing;

use super::dh::{DhGroup, SecretBigNum, left_pad};
use super::error::CryptoError;

/// The OpenSSL curve of an ECP group.
fn curve(group: DhGroup) -> Result<EcGroup, CryptoError> {
    let nid = match group {
        DhGroup::Ecp256 => Nid::X9_62_PRIME256V1,
        DhGroup::Ecp384 => Nid::SECP384R1,
        DhGroup::Ecp521 => Nid::SECP521R1,
        other => {
            return Err(CryptoError::Unsupported(format!(
                "{other} is not an ECP group"
            )));
        }
    };
    Ok(EcGroup::from_curve_name(nid)?)
}

fn coord_len(group: DhGroup) -> usize {
    group.public_len() / 2
}

fn len_i32(len: usize) -> Result<i32, CryptoError> {
    i32::try_from(len).map_err(|_| CryptoError::Malformed("length out of range"))
}

/// An ECP private key (inside OpenSSL), its group and KE encoding.
pub(crate) struct EcpKey {
    group: DhGroup,
    key: PKey<Private>,
    public: Vec<u8>,
}

impl EcpKey {
    /// A fresh key pair on the group's curve.
    pub(crate) fn generate(group: DhGroup) -> Result<Self, CryptoError> {
        let ec = curve(group)?;
        let key = EcKey::generate(&ec)?;
        Self::wrap(group, &ec, key)
    }

    /// A key pair from the big-endian scalar `d`, 0 < d < n.
    pub(crate) fn from_private(group: DhGroup, d: &[u8]) -> Result<Self, CryptoError> {
        let ec = curve(group)?;
        let mut ctx = BigNumContext::new()?;
        // EC_KEY_set_private_key copies d; our copy is cleared on drop.
        let d = SecretBigNum::from_slice(d)?;
        let d = d.get()?;
        let mut order = BigNum::new()?;
        ec.order(&mut order, &mut ctx)?;
        if d.num_bits() == 0 || d.ucmp(&order).is_ge() {
            return Err(CryptoError::Malformed(
                "ECP private value must satisfy 0 < d < n",
            ));
        }
        let mut point = EcPoint::new(&ec)?;
        point.mul_generator2(&ec, d, &mut ctx)?;
        let key = EcKey::from_private_components(&ec, d, &point)?;
        key.check_key()?;
        Self::wrap(group, &ec, key)
    }

    fn wrap(group: DhGroup, ec: &EcGroup, key: EcKey<Private>) -> Result<Self, CryptoError> {
        let mut ctx = BigNumContext::new()?;
        let mut x = BigNum::new()?;
        let mut y = BigNum::new()?;
        key.public_key()
            .affine_coordinates(ec, &mut x, &mut y, &mut ctx)?;
        let n = len_i32(coord_len(group))?;
        let mut public = x.to_vec_padded(n)?;
        public.extend_from_slice(&y.to_vec_padded(n)?);
        Ok(EcpKey {
            group,
            key: PKey::from_ec_key(key)?,
            public,
        })
    }

    /// The KE payload data x‖y.
    pub(crate) fn public(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.public.clone())
    }

    /// Checks the peer's x‖y and returns the x coordinate of d·Q.
    pub(crate) fn shared_secret(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let group = self.group;
        let invalid = |reason| group.invalid_public(reason);
        let n = coord_len(group);
        if peer.len() != 2 * n {
            return Err(invalid("wrong length"));
        }
        let (xb, yb) = peer.split_at(n);
        let ec = curve(group)?;
        let mut ctx = BigNumContext::new()?;
        let mut p = BigNum::new()?;
        let mut a = BigNum::new()?;
        let mut b = BigNum::new()?;
        ec.components_gfp(&mut p, &mut a, &mut b, &mut ctx)?;
        let x = BigNum::from_slice(xb)?;
        let y = BigNum::from_slice(yb)?;
        if x.ucmp(&p).is_ge() || y.ucmp(&p).is_ge() {
            return Err(invalid("coordinate not less than p"));
        }
        let mut point = EcPoint::new(&ec)?;
        point
            .set_affine_coordinates_gfp(&ec, &x, &y, &mut ctx)
            .map_err(|_| invalid("point not on the curve"))?;
        if !point.is_on_curve(&ec, &mut ctx)? {
            return Err(invalid("point not on the curve"));
        }
        if point.is_infinity(&ec) {
            return Err(invalid("point at infinity"));
        }
        let peer_key = EcKey::from_public_key(&ec, &point)?;
        peer_key
            .check_key()
            .map_err(|_| invalid("rejected by the OpenSSL public key check"))?;
        let peer_key = PKey::from_ec_key(peer_key)?;
        let mut deriver = Deriver::new(&self.key)?;
        deriver
            .set_peer(&peer_key)
            .map_err(|_| invalid("rejected by the OpenSSL public key check"))?;
        let raw = deriver.derive_to_vec()?;
        left_pad(raw, n, group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ike::crypto::dh::KeyExchange;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("hex")
    }

    /// One RFC 5903 §8 test: private i and r, the KE payload data of both
    /// sides and the shared secret g^ir (x coordinate).
    struct Vector {
        group: DhGroup,
        i: &'static str,
        gi: &'static str,
        r: &'static str,
        gr: &'static str,
        gir: &'static str,
    }

    // RFC 5903 §8.1 (256-bit random ECP group), KE payload data as in §8.
    const ECP256: Vector = Vector {
        group: DhGroup::Ecp256,
        i: "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
        gi: "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180\
             5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
        r: "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
        gr: "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63\
             56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
        gir: "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
    };

    // RFC 5903 §8.2 (384-bit random ECP group).
    const ECP384: Vector = Vector {
        group: DhGroup::Ecp384,
        i: "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655\
            E35B538041E649EE3FAEF896783AB194",
        gi: "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6\
             DE3AC808ACB4BDB4C88732AEE95F41AA9482ED1FC0EEB9CAFC4984625CCFC23F\
             65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
        r: "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942\
            E0308312916B8ED2960E4BD55A7448FC",
        gr: "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D\
             0D1AC43A0336DEF96FDA41D0774A3571DCFBEC7AACF3196472169E838430367F\
             66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
        gir: "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4\
              D603135569B9E9D09CF5D4A270F59746",
    };

    // RFC 5903 §8.3 (521-bit random ECP group).
    const ECP521: Vector = Vector {
        group: DhGroup::Ecp521,
        i: "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A0\
            95AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D\
            4A52",
        gi: "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBE\
             E1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176C\
             ED3E017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4\
             A10AD8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3\
             926F9582",
        r: "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E\
            9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB151685\
            EB9",
        gr: "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A21\
             9B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9\
             460F015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077\
             B87220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17\
             F0FC56A",
        gir: "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04\
              D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3\
              DDEA",
    };

    #[test]
    fn rfc5903_known_answers() {
        for v in [ECP256, ECP384, ECP521] {
            let ini = KeyExchange::from_private(v.group, &h(v.i)).expect("i");
            let res = KeyExchange::from_private(v.group, &h(v.r)).expect("r");
            assert_eq!(ini.public(), &h(v.gi)[..], "{} g^i", v.group);
            assert_eq!(res.public(), &h(v.gr)[..], "{} g^r", v.group);
            assert_eq!(*ini.shared_secret(&h(v.gr)).expect("i side"), h(v.gir));
            assert_eq!(*res.shared_secret(&h(v.gi)).expect("r side"), h(v.gir));
        }
    }

    /// strongSwan src/libstrongswan/plugins/test_vectors/test_vectors/ecp.c,
    /// `ecp521` (its comment: "Test vectors from RFC5114"): private i (first
    /// half of the seed), g^r and g^ir. The shared secret starts with a zero
    /// byte and must keep its full 66 bytes.
    #[test]
    fn strongswan_ecp521_leading_zero() {
        let i = "0113f82da825735e3d97276683b2b74277bad27335ea71664af2430cc4f33459\
                 b9669ee78b3ffb9b8683015d344dcbfef6fb9af4c6c470be254516cd3c1a1fb4\
                 7362";
        let gr = "010ebfafc6e85e08d24bfffcc1a4511db0e634beeb1b6dec8c5939ae44766201\
                  af6200430ba97c8ac6a0e9f08b33ce7e9feeb5ba4ee5e0d81510c24295b8a08d\
                  023500a4a6ec300df9e257b0372b5e7abfef093436719a77887ebb0b18cf8099\
                  b9f4212b6e30a1419c18e029d36863cc9d448f4dba4d2a0e60711be572915fbd\
                  4fef2695";
        let gir = "00cdea89621cfa46b132f9e4cfe2261cde2d4368eb5656634c7cc98c7a00cde5\
                   4ed1866a0dd3e6126c9d2f845daff82ceb1da08f5d87521bb0ebeca77911169c\
                   20cc";
        let kx = KeyExchange::from_private(DhGroup::Ecp521, &h(i)).expect("i");
        let s = kx.shared_secret(&h(gr)).expect("secret");
        assert_eq!(s.len(), 66);
        assert_eq!(s[0], 0);
        assert_eq!(*s, h(gir));
    }

    /// RFC 6989 §2.3 negative tests.
    #[test]
    fn rfc6989_bad_points_rejected() {
        for v in [ECP256, ECP384, ECP521] {
            let kx = KeyExchange::from_private(v.group, &h(v.i)).expect("i");
            let good = h(v.gr);
            let n = good.len() / 2;
            let bad_reason = |data: &[u8]| match kx.shared_secret(data) {
                Err(CryptoError::InvalidPublicValue { reason, .. }) => reason,
                other => panic!("{}: accepted or wrong error: {other:?}", v.group),
            };
            // y + 1: off the curve.
            let mut off = good.clone();
            *off.last_mut().expect("byte") ^= 1;
            assert_eq!(bad_reason(&off), "point not on the curve");
            // All zeros: (0, 0) is not on these curves (b != 0); the point at
            // infinity has no x‖y encoding.
            assert_eq!(bad_reason(&vec![0; 2 * n]), "point not on the curve");
            // x = p (≥ p) and y = p.
            let ec = curve(v.group).expect("curve");
            let mut ctx = BigNumContext::new().expect("ctx");
            let (mut p, mut a, mut b) = (
                BigNum::new().expect("bn"),
                BigNum::new().expect("bn"),
                BigNum::new().expect("bn"),
            );
            ec.components_gfp(&mut p, &mut a, &mut b, &mut ctx)
                .expect("components");
            let p = p.to_vec_padded(n as i32).expect("p");
            let mut x_is_p = p.clone();
            x_is_p.extend_from_slice(&good[n..]);
            assert_eq!(bad_reason(&x_is_p), "coordinate not less than p");
            let mut y_is_p = good[..n].to_vec();
            y_is_p.extend_from_slice(&p);
            assert_eq!(bad_reason(&y_is_p), "coordinate not less than p");
            // Coordinates of all-ones (≥ p for every curve).
            assert_eq!(bad_reason(&vec![0xff; 2 * n]), "coordinate not less than p");
            // The 0x04-prefixed SEC1 form is the wrong length here.
            let mut sec1 = vec![0x04];
            sec1.extend_from_slice(&good);
            assert_eq!(bad_reason(&sec1), "wrong length");
            assert_eq!(bad_reason(&good[1..]), "wrong length");
        }
    }

    #[test]
    fn private_value_range_checked() {
        assert!(KeyExchange::from_private(DhGroup::Ecp256, &[0]).is_err());
        assert!(KeyExchange::from_private(DhGroup::Ecp256, &[0xff; 32]).is_err());
        assert!(KeyExchange::from_private(DhGroup::Ecp256, &[1]).is_ok());
    }
}
