//! IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registries
//! the codec needs: exchange, payload, protocol, transform, ID, AUTH, CERT,
//! traffic selector and configuration types, and the names of transform IDs.
//!
//! Each registry is an open newtype over the wire integer with named
//! constants, so values nobody registered yet still decode and round-trip;
//! `name()` says whether a value is known.

use std::fmt;

/// Defines an open registry type: a newtype over the wire integer with one
/// constant per registered value and its IANA name.
macro_rules! registry {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $konst:ident = $val:literal, $text:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        $vis struct $name(pub $repr);

        #[allow(missing_docs)]
        impl $name {
            $( $(#[$cmeta])* pub const $konst: Self = Self($val); )*

            /// Every registered value, in registry order.
            pub const KNOWN: &'static [Self] = &[$(Self::$konst),*];

            /// The registered name, if the value is registered.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($text), )*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    };
}

registry! {
    /// Exchange types (RFC 7296 §3.1, RFC 5723, RFC 9242, RFC 9370, G-IKEv2).
    pub struct ExchangeType(u8) {
        IKE_SA_INIT = 34, "IKE_SA_INIT";
        IKE_AUTH = 35, "IKE_AUTH";
        CREATE_CHILD_SA = 36, "CREATE_CHILD_SA";
        INFORMATIONAL = 37, "INFORMATIONAL";
        IKE_SESSION_RESUME = 38, "IKE_SESSION_RESUME";
        GSA_AUTH = 39, "GSA_AUTH";
        GSA_REGISTRATION = 40, "GSA_REGISTRATION";
        GSA_REKEY = 41, "GSA_REKEY";
        IKE_INTERMEDIATE = 43, "IKE_INTERMEDIATE";
        IKE_FOLLOWUP_KE = 44, "IKE_FOLLOWUP_KE";
    }
}

registry! {
    /// Payload types (RFC 7296 §3.2, RFC 7383, RFC 6467, RFC 8019, G-IKEv2).
    pub struct PayloadType(u8) {
        NONE = 0, "No Next Payload";
        SA = 33, "Security Association";
        KE = 34, "Key Exchange";
        IDI = 35, "Identification - Initiator";
        IDR = 36, "Identification - Responder";
        CERT = 37, "Certificate";
        CERTREQ = 38, "Certificate Request";
        AUTH = 39, "Authentication";
        NONCE = 40, "Nonce";
        NOTIFY = 41, "Notify";
        DELETE = 42, "Delete";
        VENDOR_ID = 43, "Vendor ID";
        TSI = 44, "Traffic Selector - Initiator";
        TSR = 45, "Traffic Selector - Responder";
        SK = 46, "Encrypted and Authenticated";
        CP = 47, "Configuration";
        EAP = 48, "Extensible Authentication";
        GSPM = 49, "Generic Secure Password Methods";
        IDG = 50, "Group Identification";
        GSA = 51, "Group Security Association";
        KD = 52, "Key Download";
        SKF = 53, "Encrypted and Authenticated Fragment";
        PS = 54, "Puzzle Solution";
    }
}

impl PayloadType {
    /// The short form used in one-line message summaries (the style
    /// strongSwan and iked operators know: `SA KE No N(...) IDi AUTH`).
    pub fn abbrev(self) -> &'static str {
        match self.0 {
            0 => "NONE",
            33 => "SA",
            34 => "KE",
            35 => "IDi",
            36 => "IDr",
            37 => "CERT",
            38 => "CERTREQ",
            39 => "AUTH",
            40 => "No",
            41 => "N",
            42 => "D",
            43 => "V",
            44 => "TSi",
            45 => "TSr",
            46 => "SK",
            47 => "CP",
            48 => "EAP",
            49 => "GSPM",
            50 => "IDg",
            51 => "GSA",
            52 => "KD",
            53 => "EF",
            54 => "PS",
            _ => "UNKNOWN",
        }
    }
}

registry! {
    /// Security protocol identifiers (RFC 7296 §3.3.1).
    pub struct ProtocolId(u8) {
        NONE = 0, "NONE";
        IKE = 1, "IKE";
        AH = 2, "AH";
        ESP = 3, "ESP";
        FC_ESP_HEADER = 4, "FC_ESP_HEADER";
        FC_CT_AUTHENTICATION = 5, "FC_CT_AUTHENTICATION";
    }
}

registry! {
    /// Transform types (RFC 7296 §3.3.2, RFC 9370 additional key exchanges).
    pub struct TransformType(u8) {
        ENCR = 1, "ENCR";
        PRF = 2, "PRF";
        INTEG = 3, "INTEG";
        KE = 4, "KE";
        ESN = 5, "ESN";
        ADDKE1 = 6, "ADDKE1";
        ADDKE2 = 7, "ADDKE2";
        ADDKE3 = 8, "ADDKE3";
        ADDKE4 = 9, "ADDKE4";
        ADDKE5 = 10, "ADDKE5";
        ADDKE6 = 11, "ADDKE6";
        ADDKE7 = 12, "ADDKE7";
    }
}

impl TransformType {
    /// True for KE and the RFC 9370 additional key exchange types, which all
    /// take their IDs from the "Key Exchange Method" registry.
    pub fn is_key_exchange(self) -> bool {
        self.0 == 4 || (6..=12).contains(&self.0)
    }
}

registry! {
    /// Transform attribute types (RFC 7296 §3.3.5).
    pub struct AttributeType(u16) {
        KEY_LENGTH = 14, "Key Length";
    }
}

registry! {
    /// Identification types (RFC 7296 §3.5, RFC 4595, RFC 7619).
    pub struct IdType(u8) {
        IPV4_ADDR = 1, "ID_IPV4_ADDR";
        FQDN = 2, "ID_FQDN";
        RFC822_ADDR = 3, "ID_RFC822_ADDR";
        IPV6_ADDR = 5, "ID_IPV6_ADDR";
        DER_ASN1_DN = 9, "ID_DER_ASN1_DN";
        DER_ASN1_GN = 10, "ID_DER_ASN1_GN";
        KEY_ID = 11, "ID_KEY_ID";
        FC_NAME = 12, "ID_FC_NAME";
        NULL = 13, "ID_NULL";
    }
}

registry! {
    /// Certificate encodings (RFC 7296 §3.6, RFC 4806, RFC 7670).
    pub struct CertEncoding(u8) {
        PKCS7_X509 = 1, "PKCS #7 wrapped X.509 certificate";
        PGP = 2, "PGP Certificate";
        DNS_SIGNED_KEY = 3, "DNS Signed Key";
        X509_SIGNATURE = 4, "X.509 Certificate - Signature";
        KERBEROS_TOKEN = 6, "Kerberos Token";
        CRL = 7, "Certificate Revocation List (CRL)";
        ARL = 8, "Authority Revocation List (ARL)";
        SPKI = 9, "SPKI Certificate";
        X509_ATTRIBUTE = 10, "X.509 Certificate - Attribute";
        RAW_RSA_KEY = 11, "Raw RSA Key";
        HASH_URL_X509 = 12, "Hash and URL of X.509 certificate";
        HASH_URL_BUNDLE = 13, "Hash and URL of X.509 bundle";
        OCSP_CONTENT = 14, "OCSP Content";
        RAW_PUBLIC_KEY = 15, "Raw Public Key";
    }
}

registry! {
    /// Authentication methods (RFC 7296 §3.8, RFC 4754, RFC 5998, RFC 6467,
    /// RFC 7619, RFC 7427).
    pub struct AuthMethod(u8) {
        RSA_SIG = 1, "RSA Digital Signature";
        SHARED_KEY_MIC = 2, "Shared Key Message Integrity Code";
        DSS_SIG = 3, "DSS Digital Signature";
        ECDSA_SHA256_P256 = 9, "ECDSA with SHA-256 on the P-256 curve";
        ECDSA_SHA384_P384 = 10, "ECDSA with SHA-384 on the P-384 curve";
        ECDSA_SHA512_P521 = 11, "ECDSA with SHA-512 on the P-521 curve";
        GENERIC_SECURE_PASSWORD = 12, "Generic Secure Password Authentication Method";
        NULL = 13, "NULL Authentication";
        DIGITAL_SIGNATURE = 14, "Digital Signature";
    }
}

registry! {
    /// Traffic selector types (RFC 7296 §3.13.1, RFC 4595, RFC 9478).
    pub struct TsType(u8) {
        IPV4_ADDR_RANGE = 7, "TS_IPV4_ADDR_RANGE";
        IPV6_ADDR_RANGE = 8, "TS_IPV6_ADDR_RANGE";
        FC_ADDR_RANGE = 9, "TS_FC_ADDR_RANGE";
        SECLABEL = 10, "TS_SECLABEL";
    }
}

registry! {
    /// Configuration payload types (RFC 7296 §3.15).
    pub struct CfgType(u8) {
        REQUEST = 1, "CFG_REQUEST";
        REPLY = 2, "CFG_REPLY";
        SET = 3, "CFG_SET";
        ACK = 4, "CFG_ACK";
    }
}

registry! {
    /// Configuration attribute types (RFC 7296 §3.15.1 and later RFCs).
    pub struct CfgAttrType(u16) {
        INTERNAL_IP4_ADDRESS = 1, "INTERNAL_IP4_ADDRESS";
        INTERNAL_IP4_NETMASK = 2, "INTERNAL_IP4_NETMASK";
        INTERNAL_IP4_DNS = 3, "INTERNAL_IP4_DNS";
        INTERNAL_IP4_NBNS = 4, "INTERNAL_IP4_NBNS";
        INTERNAL_IP4_DHCP = 6, "INTERNAL_IP4_DHCP";
        APPLICATION_VERSION = 7, "APPLICATION_VERSION";
        INTERNAL_IP6_ADDRESS = 8, "INTERNAL_IP6_ADDRESS";
        INTERNAL_IP6_DNS = 10, "INTERNAL_IP6_DNS";
        INTERNAL_IP6_DHCP = 12, "INTERNAL_IP6_DHCP";
        INTERNAL_IP4_SUBNET = 13, "INTERNAL_IP4_SUBNET";
        SUPPORTED_ATTRIBUTES = 14, "SUPPORTED_ATTRIBUTES";
        INTERNAL_IP6_SUBNET = 15, "INTERNAL_IP6_SUBNET";
        MIP6_HOME_PREFIX = 16, "MIP6_HOME_PREFIX";
        INTERNAL_IP6_LINK = 17, "INTERNAL_IP6_LINK";
        INTERNAL_IP6_PREFIX = 18, "INTERNAL_IP6_PREFIX";
        HOME_AGENT_ADDRESS = 19, "HOME_AGENT_ADDRESS";
        P_CSCF_IP4_ADDRESS = 20, "P_CSCF_IP4_ADDRESS";
        P_CSCF_IP6_ADDRESS = 21, "P_CSCF_IP6_ADDRESS";
        FTT_KAT = 22, "FTT_KAT";
        EXTERNAL_SOURCE_IP4_NAT_INFO = 23, "EXTERNAL_SOURCE_IP4_NAT_INFO";
        TIMEOUT_PERIOD_FOR_LIVENESS_CHECK = 24, "TIMEOUT_PERIOD_FOR_LIVENESS_CHECK";
        INTERNAL_DNS_DOMAIN = 25, "INTERNAL_DNS_DOMAIN";
        INTERNAL_DNSSEC_TA = 26, "INTERNAL_DNSSEC_TA";
        ENCDNS_IP4 = 27, "ENCDNS_IP4";
        ENCDNS_IP6 = 28, "ENCDNS_IP6";
        ENCDNS_DIGEST_INFO = 29, "ENCDNS_DIGEST_INFO";
    }
}

/// The IANA name of a transform ID of the given type, in the short
/// strongSwan-style keyword operators use in proposal strings where one
/// exists (`aes128`, `prfsha256`, `modp2048`), else the registry name.
/// `None` for IDs the registry does not list.
pub fn transform_id_name(kind: TransformType, id: u16) -> Option<&'static str> {
    match kind {
        TransformType::ENCR => encr_name(id),
        TransformType::PRF => prf_name(id),
        TransformType::INTEG => integ_name(id),
        TransformType::ESN => match id {
            0 => Some("noesn"),
            1 => Some("esn"),
            _ => None,
        },
        k if k.is_key_exchange() => ke_name(id),
        _ => None,
    }
}

fn encr_name(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "des-iv64",
        2 => "des",
        3 => "3des",
        4 => "rc5",
        5 => "idea",
        6 => "cast",
        7 => "blowfish",
        8 => "3idea",
        9 => "des-iv32",
        11 => "null",
        12 => "aes",
        13 => "aesctr",
        14 => "aesccm8",
        15 => "aesccm12",
        16 => "aesccm16",
        18 => "aesgcm8",
        19 => "aesgcm12",
        20 => "aesgcm16",
        21 => "aesgmac",
        23 => "camellia",
        24 => "camelliactr",
        25 => "camelliaccm8",
        26 => "camelliaccm12",
        27 => "camelliaccm16",
        28 => "chacha20poly1305",
        29 => "aesccm8iiv",
        30 => "aesgcm16iiv",
        31 => "chacha20poly1305iiv",
        32 => "kuznyechik-mgm-ktree",
        33 => "magma-mgm-ktree",
        34 => "kuznyechik-mgm-mac-ktree",
        35 => "magma-mgm-mac-ktree",
        _ => return None,
    })
}

fn prf_name(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "prfmd5",
        2 => "prfsha1",
        3 => "prftiger",
        4 => "prfaesxcbc",
        5 => "prfsha256",
        6 => "prfsha384",
        7 => "prfsha512",
        8 => "prfaescmac",
        9 => "prfstreebog512",
        _ => return None,
    })
}

fn integ_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0 => "none",
        1 => "md5",
        2 => "sha1",
        3 => "des-mac",
        4 => "kpdk-md5",
        5 => "aesxcbc",
        6 => "md5_128",
        7 => "sha1_160",
        8 => "aescmac",
        9 => "aes128gmac",
        10 => "aes192gmac",
        11 => "aes256gmac",
        12 => "sha256",
        13 => "sha384",
        14 => "sha512",
        _ => return None,
    })
}

fn ke_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0 => "none",
        1 => "modp768",
        2 => "modp1024",
        5 => "modp1536",
        14 => "modp2048",
        15 => "modp3072",
        16 => "modp4096",
        17 => "modp6144",
        18 => "modp8192",
        19 => "ecp256",
        20 => "ecp384",
        21 => "ecp521",
        22 => "modp1024s160",
        23 => "modp2048s224",
        24 => "modp2048s256",
        25 => "ecp192",
        26 => "ecp224",
        27 => "ecp224bp",
        28 => "ecp256bp",
        29 => "ecp384bp",
        30 => "ecp512bp",
        31 => "x25519",
        32 => "x448",
        33 => "gost3410_2012_256",
        34 => "gost3410_2012_512",
        35 => "mlkem512",
        36 => "mlkem768",
        37 => "mlkem1024",
        _ => return None,
    })
}

/// Display form of a transform: `aes256` style name, or `TYPE(id)`.
pub(crate) fn fmt_transform(
    f: &mut fmt::Formatter<'_>,
    kind: TransformType,
    id: u16,
    key_len: Option<u16>,
) -> fmt::Result {
    match (transform_id_name(kind, id), key_len) {
        (Some("aes"), Some(bits)) => write!(f, "aes{bits}"),
        (Some("camellia"), Some(bits)) => write!(f, "camellia{bits}"),
        (Some(name), Some(bits)) if kind == TransformType::ENCR && name.starts_with("aes") => {
            // aesgcm16 + 256 -> aes256gcm16
            write!(f, "aes{bits}{}", name.trim_start_matches("aes"))
        }
        (Some(name), Some(bits)) => write!(f, "{name}/{bits}"),
        (Some(name), None) => f.write_str(name),
        (None, _) => write!(f, "{kind}({id})"),
    }
}
