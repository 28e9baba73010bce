//! Policy enumerations from `<netipsec/ipsec.h>` (KAME, Linux) and
//! OpenBSD's flow types: policy type, direction, mode, level.

use crate::dialect::dialect_numbers;

dialect_numbers! {
    /// `sadb_x_policy_type` (KAME/Linux).
    pub enum PolicyType: u16 {
        /// Drop matching packets.
        Discard = [0, 0, _],
        /// No IPsec.
        None = [1, 1, _],
        /// Apply IPsec as the ipsecrequests say.
        Ipsec = [2, 2, _],
        /// Consult the default policy.
        Entrust = [3, 3, _],
        /// Bypass IPsec.
        Bypass = [4, 4, _],
    }
}

dialect_numbers! {
    /// `sadb_x_policy_dir` (KAME/Linux) and OpenBSD `sadb_protocol_direction`.
    pub enum Direction: u8 {
        /// Any direction.
        Any = [0, 0, _],
        /// Inbound.
        Inbound = [1, 1, 1],
        /// Outbound.
        Outbound = [2, 2, 2],
        /// Forwarded (Linux).
        Forward = [3, _, _],
        /// A per-socket inbound policy (Linux reports socket policies, such
        /// as IKE daemons' bypass policies, as XFRM direction + 1 = 4).
        SocketInbound = [4, _, _],
        /// A per-socket outbound policy (Linux: 5).
        SocketOutbound = [5, _, _],
    }
}

dialect_numbers! {
    /// IPsec mode in `sadb_x_sa2_mode` and `sadb_x_ipsecrequest_mode`.
    pub enum Mode: u8 {
        /// Any mode.
        Any = [0, 0, _],
        /// Transport mode.
        Transport = [1, 1, _],
        /// Tunnel mode.
        Tunnel = [2, 2, _],
        /// Bound end-to-end tunnel (Linux).
        Beet = [3, _, _],
        /// TCP-MD5 signature "mode" (FreeBSD).
        TcpMd5 = [_, 3, _],
    }
}

dialect_numbers! {
    /// `sadb_x_ipsecrequest_level`.
    pub enum Level: u8 {
        /// System default.
        Default = [0, 0, _],
        /// Use an SA if there is one.
        Use = [1, 1, _],
        /// Require an SA.
        Require = [2, 2, _],
        /// Require an SA used by this policy only.
        Unique = [3, 3, _],
    }
}

dialect_numbers! {
    /// OpenBSD flow types (`SADB_X_FLOW_TYPE_*`).
    pub enum FlowType: u8 {
        /// Use IPsec if an SA exists.
        Use = [_, _, 1],
        /// Acquire an SA, pass cleartext meanwhile.
        Acquire = [_, _, 2],
        /// Require IPsec.
        Require = [_, _, 3],
        /// Bypass IPsec.
        Bypass = [_, _, 4],
        /// Drop.
        Deny = [_, _, 5],
        /// Use IPsec but do not acquire.
        DontAcq = [_, _, 6],
    }
}

/// IP protocol numbers used in ipsecrequests.
pub mod proto {
    /// ESP.
    pub const ESP: u16 = 50;
    /// AH.
    pub const AH: u16 = 51;
    /// IPComp.
    pub const IPCOMP: u16 = 108;
    /// "Any upper-layer protocol" in `sadb_address_proto`.
    pub const ANY: u8 = 255;
}
