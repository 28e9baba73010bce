//! The IANA "IKEv2 Notify Message Types" registry: every error (0–16383)
//! and status (16384–65535) type with its name and the short form used in
//! one-line message summaries (`N(NATD_S_IP)`).

use std::fmt;

/// Defines [`NotifyType`] with a name and an abbreviation per value.
macro_rules! notify_types {
    ( $( $konst:ident = $val:literal, $short:literal; )* ) => {
        /// A notify message type (RFC 7296 §3.10.1). Open: unregistered
        /// values decode and round-trip.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct NotifyType(pub u16);

        #[allow(missing_docs)]
        impl NotifyType {
            $( pub const $konst: Self = Self($val); )*

            /// Every registered value.
            pub const KNOWN: &'static [Self] = &[$(Self::$konst),*];

            /// The registered name (`NAT_DETECTION_SOURCE_IP`).
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some(stringify!($konst)), )*
                    _ => None,
                }
            }

            /// The short form for summaries (`NATD_S_IP`); the number for
            /// unregistered values is printed by `Display`.
            pub fn abbrev(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($short), )*
                    _ => None,
                }
            }
        }
    };
}

notify_types! {
    // Error types (RFC 7296 unless noted).
    UNSUPPORTED_CRITICAL_PAYLOAD = 1, "UNSUPP_CRIT";
    INVALID_IKE_SPI = 4, "INVAL_IKE_SPI";
    INVALID_MAJOR_VERSION = 5, "INVAL_MAJOR";
    INVALID_SYNTAX = 7, "INVAL_SYN";
    INVALID_MESSAGE_ID = 9, "INVAL_MID";
    INVALID_SPI = 11, "INVAL_SPI";
    NO_PROPOSAL_CHOSEN = 14, "NO_PROP";
    INVALID_KE_PAYLOAD = 17, "INVAL_KE";
    AUTHENTICATION_FAILED = 24, "AUTH_FAILED";
    SINGLE_PAIR_REQUIRED = 34, "SINGLE_PAIR";
    NO_ADDITIONAL_SAS = 35, "NO_ADD_SAS";
    INTERNAL_ADDRESS_FAILURE = 36, "INT_ADDR_FAIL";
    FAILED_CP_REQUIRED = 37, "FAIL_CP_REQ";
    TS_UNACCEPTABLE = 38, "TS_UNACCEPT";
    INVALID_SELECTORS = 39, "INVAL_SEL";
    UNACCEPTABLE_ADDRESSES = 40, "UNACCEPT_ADDR"; // RFC 4555
    UNEXPECTED_NAT_DETECTED = 41, "UNEXPECT_NAT"; // RFC 4555
    USE_ASSIGNED_HOA = 42, "USE_ASSIGNED_HOA"; // RFC 5026
    TEMPORARY_FAILURE = 43, "TEMP_FAIL";
    CHILD_SA_NOT_FOUND = 44, "NO_CHILD_SA";
    INVALID_GROUP_ID = 45, "INVAL_GROUP_ID"; // G-IKEv2
    AUTHORIZATION_FAILED = 46, "AUTHZ_FAILED"; // G-IKEv2
    STATE_NOT_FOUND = 47, "STATE_NOT_FOUND"; // RFC 8019 / RFC 9867
    // Status types.
    INITIAL_CONTACT = 16384, "INIT_CONTACT";
    SET_WINDOW_SIZE = 16385, "SET_WINSIZE";
    ADDITIONAL_TS_POSSIBLE = 16386, "ADD_TS_POSS";
    IPCOMP_SUPPORTED = 16387, "IPCOMP_SUP";
    NAT_DETECTION_SOURCE_IP = 16388, "NATD_S_IP";
    NAT_DETECTION_DESTINATION_IP = 16389, "NATD_D_IP";
    COOKIE = 16390, "COOKIE";
    USE_TRANSPORT_MODE = 16391, "USE_TRANSP";
    HTTP_CERT_LOOKUP_SUPPORTED = 16392, "HTTP_CERT_LOOK";
    REKEY_SA = 16393, "REKEY_SA";
    ESP_TFC_PADDING_NOT_SUPPORTED = 16394, "ESP_TFC_PAD_N";
    NON_FIRST_FRAGMENTS_ALSO = 16395, "NON_FIRST_FRAG";
    MOBIKE_SUPPORTED = 16396, "MOBIKE_SUP"; // RFC 4555
    ADDITIONAL_IP4_ADDRESS = 16397, "ADD_4_ADDR";
    ADDITIONAL_IP6_ADDRESS = 16398, "ADD_6_ADDR";
    NO_ADDITIONAL_ADDRESSES = 16399, "NO_ADD_ADDR";
    UPDATE_SA_ADDRESSES = 16400, "UPD_SA_ADDR";
    COOKIE2 = 16401, "COOKIE2";
    NO_NATS_ALLOWED = 16402, "NO_NATS";
    AUTH_LIFETIME = 16403, "AUTH_LFT"; // RFC 4478
    MULTIPLE_AUTH_SUPPORTED = 16404, "MULT_AUTH"; // RFC 4739
    ANOTHER_AUTH_FOLLOWS = 16405, "AUTH_FOLLOWS"; // RFC 4739
    REDIRECT_SUPPORTED = 16406, "REDIR_SUP"; // RFC 5685
    REDIRECT = 16407, "REDIR";
    REDIRECTED_FROM = 16408, "REDIR_FROM";
    TICKET_LT_OPAQUE = 16409, "TKT_LT_OPAK"; // RFC 5723
    TICKET_REQUEST = 16410, "TKT_REQ";
    TICKET_ACK = 16411, "TKT_ACK";
    TICKET_NACK = 16412, "TKT_NACK";
    TICKET_OPAQUE = 16413, "TKT_OPAK";
    LINK_ID = 16414, "LINK_ID"; // RFC 5739
    USE_WESP_MODE = 16415, "WESP_MODE"; // RFC 5840
    ROHC_SUPPORTED = 16416, "ROHC_SUP"; // RFC 5857
    EAP_ONLY_AUTHENTICATION = 16417, "EAP_ONLY"; // RFC 5998
    CHILDLESS_IKEV2_SUPPORTED = 16418, "CHDLESS_SUP"; // RFC 6023
    QUICK_CRASH_DETECTION = 16419, "QUICK_CRASH_DET"; // RFC 6290
    IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420, "MSG_ID_SYN_SUP"; // RFC 6311
    IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED = 16421, "REPLAY_CTR_SYN_SUP";
    IKEV2_MESSAGE_ID_SYNC = 16422, "MSG_ID_SYN";
    IPSEC_REPLAY_COUNTER_SYNC = 16423, "REPLAY_CTR_SYN";
    SECURE_PASSWORD_METHODS = 16424, "SEC_PASSWD"; // RFC 6467
    PSK_PERSIST = 16425, "PSK_PST"; // RFC 6631
    PSK_CONFIRM = 16426, "PSK_CFM";
    ERX_SUPPORTED = 16427, "ERX_SUP"; // RFC 6867
    IFOM_CAPABILITY = 16428, "IFOM_CAP"; // 3GPP
    SENDER_REQUEST_ID = 16429, "SENDER_REQ_ID"; // G-IKEv2
    IKEV2_FRAGMENTATION_SUPPORTED = 16430, "FRAG_SUP"; // RFC 7383
    SIGNATURE_HASH_ALGORITHMS = 16431, "HASH_ALG"; // RFC 7427
    CLONE_IKE_SA_SUPPORTED = 16432, "CLONE_SUP"; // RFC 7791
    CLONE_IKE_SA = 16433, "CLONE";
    PUZZLE = 16434, "PUZZLE"; // RFC 8019
    USE_PPK = 16435, "USE_PPK"; // RFC 8784
    PPK_IDENTITY = 16436, "PPK_ID";
    NO_PPK_AUTH = 16437, "NO_PPK";
    INTERMEDIATE_EXCHANGE_SUPPORTED = 16438, "INT_SUP"; // RFC 9242
    IP4_ALLOWED = 16439, "IP4_ALLOWED"; // RFC 8983
    IP6_ALLOWED = 16440, "IP6_ALLOWED";
    ADDITIONAL_KEY_EXCHANGE = 16441, "ADD_KE"; // RFC 9370
    USE_AGGFRAG = 16442, "USE_AGGFRAG"; // RFC 9347
    SUPPORTED_AUTH_METHODS = 16443, "AUTH_METHODS"; // RFC 9593
}

impl NotifyType {
    /// Error types are 0–16383 (RFC 7296 §3.10.1); an unrecognised error in
    /// a response means the request failed.
    pub fn is_error(self) -> bool {
        self.0 < 16384
    }
}

impl fmt::Display for NotifyType {
    /// The abbreviation, or the number for unregistered types (`N(40960)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.abbrev() {
            Some(a) => f.write_str(a),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for NotifyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "NotifyType({})", self.0),
        }
    }
}
