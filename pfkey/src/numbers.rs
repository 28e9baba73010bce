//! Message types, SA types, SA states and extension kinds, with their wire
//! numbers in each dialect (from `<linux/pfkeyv2.h>`, FreeBSD's and
//! OpenBSD's `<net/pfkeyv2.h>`).

use crate::dialect::dialect_numbers;

dialect_numbers! {
    /// `sadb_msg_type`.
    pub enum MessageType: u8 {
        /// Allocate an SPI and a larval SA.
        GetSpi = [1, 1, 1],
        /// Complete a larval SA.
        Update = [2, 2, 2],
        /// Add a mature SA.
        Add = [3, 3, 3],
        /// Delete an SA.
        Delete = [4, 4, 4],
        /// Read an SA.
        Get = [5, 5, 5],
        /// Kernel asks the key manager for an SA.
        Acquire = [6, 6, 6],
        /// Register as key manager for an SA type; the reply lists algorithms.
        Register = [7, 7, 7],
        /// An SA reached a soft or hard lifetime.
        Expire = [8, 8, 8],
        /// Delete all SAs (of a type).
        Flush = [9, 9, 9],
        /// List all SAs.
        Dump = [10, 10, 10],
        /// Promiscuous mode.
        XPromisc = [11, 11, 11],
        /// Policy change notification (KAME, unused by Linux).
        XPchange = [12, 12, _],
        /// Update a policy.
        XSpdUpdate = [13, 13, _],
        /// Add a policy.
        XSpdAdd = [14, 14, _],
        /// Delete a policy by selector.
        XSpdDelete = [15, 15, _],
        /// Read a policy by id.
        XSpdGet = [16, 16, _],
        /// Policy acquire.
        XSpdAcquire = [17, 17, _],
        /// List all policies.
        XSpdDump = [18, 18, 16],
        /// Delete all policies.
        XSpdFlush = [19, 19, _],
        /// Set a policy index.
        XSpdSetIdx = [20, 20, _],
        /// A policy expired.
        XSpdExpire = [21, 21, _],
        /// Delete a policy by id.
        XSpdDelete2 = [22, 22, _],
        /// A NAT-T peer's mapping changed (Linux).
        XNatTNewMapping = [23, _, _],
        /// Migrate SAs and policies (Linux, MOBIKE).
        XMigrate = [24, _, _],
        /// Add a flow (OpenBSD).
        XAddFlow = [_, _, 12],
        /// Delete a flow (OpenBSD).
        XDelFlow = [_, _, 13],
        /// Group SAs into a bundle (OpenBSD).
        XGrpSpis = [_, _, 14],
        /// Ask the kernel for a policy (OpenBSD).
        XAskPolicy = [_, _, 15],
    }
}

dialect_numbers! {
    /// `sadb_msg_satype`: note that OpenBSD numbers AH 1 and ESP 2.
    pub enum SaType: u8 {
        /// Any type (dumps, flushes, registrations of all types).
        Unspec = [0, 0, 0],
        /// Authentication Header.
        Ah = [2, 2, 1],
        /// Encapsulating Security Payload.
        Esp = [3, 3, 2],
        /// RSVP.
        Rsvp = [5, 5, 3],
        /// OSPFv2.
        Ospfv2 = [6, 6, 4],
        /// RIPv2.
        Ripv2 = [7, 7, 5],
        /// Mobile IP.
        Mip = [8, 8, 6],
        /// IP-in-IP (OpenBSD).
        XIpip = [_, _, 7],
        /// TCP-MD5 signatures (RFC 2385).
        XTcpSignature = [_, 11, 8],
        /// IP payload compression.
        XIpcomp = [9, 9, 9],
    }
}

dialect_numbers! {
    /// `sadb_sa_state`.
    pub enum SaState: u8 {
        /// Allocated by GETSPI, not yet usable.
        Larval = [0, 0, 0],
        /// Usable.
        Mature = [1, 1, 1],
        /// Past its soft lifetime.
        Dying = [2, 2, 2],
        /// Past its hard lifetime.
        Dead = [3, 3, 3],
    }
}

/// The structure an extension kind is encoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `struct sadb_sa`.
    Sa,
    /// `struct sadb_lifetime`.
    Lifetime,
    /// `struct sadb_address` + socket address.
    Address,
    /// `struct sadb_key` + key bits.
    Key,
    /// `struct sadb_ident` + string.
    Identity,
    /// `struct sadb_sens` + bitmaps.
    Sensitivity,
    /// `struct sadb_prop` + `sadb_comb`s.
    Proposal,
    /// `struct sadb_supported` + `sadb_alg`s.
    Supported,
    /// `struct sadb_spirange`.
    SpiRange,
    /// `struct sadb_x_kmprivate` + opaque data.
    KmPrivate,
    /// KAME/Linux `struct sadb_x_policy` + ipsecrequests.
    Policy,
    /// `struct sadb_x_sa2`.
    Sa2,
    /// `struct sadb_x_nat_t_type`.
    NatTType,
    /// `struct sadb_x_nat_t_port`.
    NatTPort,
    /// FreeBSD `struct sadb_x_nat_t_frag`.
    NatTFrag,
    /// FreeBSD `struct sadb_x_sa_replay`.
    SaReplay,
    /// Linux `struct sadb_x_sec_ctx` + context string.
    SecCtx,
    /// Linux `struct sadb_x_kmaddress` + two socket addresses.
    KmAddress,
    /// Linux `struct sadb_x_filter`.
    Filter,
    /// OpenBSD `struct sadb_protocol`.
    Protocol,
    /// OpenBSD `struct sadb_x_policy` (a sequence number only).
    PolicySeq,
    /// OpenBSD `struct sadb_x_cred` + data (obsolete credentials/auth).
    Credential,
    /// OpenBSD `struct sadb_x_udpencap`.
    UdpEncap,
    /// OpenBSD `struct sadb_x_tag` + tag name.
    Tag,
    /// OpenBSD `struct sadb_x_tap`.
    Tap,
    /// OpenBSD `struct sadb_x_counter`.
    Counter,
    /// OpenBSD `struct sadb_x_rdomain`.
    Rdomain,
    /// OpenBSD `struct sadb_x_mtu`.
    Mtu,
    /// OpenBSD `struct sadb_x_replay`.
    Replay,
    /// OpenBSD `struct sadb_x_iface`.
    Iface,
    /// FreeBSD `struct sadb_x_if_hw_offl`.
    IfHwOffload,
}

dialect_numbers! {
    /// `sadb_ext_type`: every extension of the three dialects.
    pub enum ExtKind: u16 {
        /// SA parameters (SPI, algorithms, state).
        Sa = [1, 1, 1],
        /// Current use of an SA.
        LifetimeCurrent = [2, 2, 2],
        /// Hard lifetime.
        LifetimeHard = [3, 3, 3],
        /// Soft lifetime.
        LifetimeSoft = [4, 4, 4],
        /// Source address.
        AddressSrc = [5, 5, 5],
        /// Destination address.
        AddressDst = [6, 6, 6],
        /// Proxy address.
        AddressProxy = [7, 7, 7],
        /// Authentication key.
        KeyAuth = [8, 8, 8],
        /// Encryption key.
        KeyEncrypt = [9, 9, 9],
        /// Source identity.
        IdentitySrc = [10, 10, 10],
        /// Destination identity.
        IdentityDst = [11, 11, 11],
        /// Sensitivity labels.
        Sensitivity = [12, 12, 12],
        /// Proposal (in ACQUIRE).
        Proposal = [13, 13, 13],
        /// Supported authentication algorithms (REGISTER reply).
        SupportedAuth = [14, 14, 14],
        /// Supported encryption algorithms (REGISTER reply).
        SupportedEncrypt = [15, 15, 15],
        /// SPI range for GETSPI.
        SpiRange = [16, 16, 16],
        /// Key manager private data.
        KmPrivate = [17, 17, _],
        /// Security policy with ipsecrequests.
        Policy = [18, 18, _],
        /// Mode, sequence and reqid of an SA.
        Sa2 = [19, 19, _],
        /// NAT-T encapsulation type.
        NatTType = [20, 20, _],
        /// NAT-T source port.
        NatTSport = [21, 21, _],
        /// NAT-T destination port.
        NatTDport = [22, 22, _],
        /// NAT-T original address (Linux).
        NatTOa = [23, _, _],
        /// NAT-T original address of the initiator (KAME).
        NatTOai = [_, 23, _],
        /// NAT-T original address of the responder (KAME).
        NatTOar = [_, 24, _],
        /// ESP fragment size override (KAME).
        NatTFrag = [_, 25, _],
        /// Security context (Linux LSM).
        SecCtx = [24, _, _],
        /// Key manager addresses for MIGRATE (Linux).
        KmAddress = [25, _, _],
        /// Dump filter (Linux).
        Filter = [26, _, _],
        /// Replay window in packets (KAME).
        SaReplay = [_, 26, _],
        /// New source address (KAME).
        NewAddressSrc = [_, 27, _],
        /// New destination address (KAME).
        NewAddressDst = [_, 28, _],
        /// Current lifetime of software-offloaded traffic (FreeBSD 14+).
        LifetimeCurSwOffload = [_, 29, _],
        /// Current lifetime of hardware-offloaded traffic (FreeBSD 14+).
        LifetimeCurHwOffload = [_, 30, _],
        /// Interface for IPsec hardware offload (FreeBSD 14+).
        IfHwOffload = [_, 31, _],
        /// Flow source mask (OpenBSD).
        SrcMask = [_, _, 17],
        /// Flow destination mask (OpenBSD).
        DstMask = [_, _, 18],
        /// Flow transport protocol (OpenBSD).
        Protocol = [_, _, 19],
        /// Flow type and direction (OpenBSD).
        FlowType = [_, _, 20],
        /// Flow source network (OpenBSD).
        SrcFlow = [_, _, 21],
        /// Flow destination network (OpenBSD).
        DstFlow = [_, _, 22],
        /// Second SA of a group (OpenBSD `SADB_X_EXT_SA2`).
        ObsdSa2 = [_, _, 23],
        /// Destination of the second SA (OpenBSD).
        ObsdDst2 = [_, _, 24],
        /// Policy sequence (OpenBSD `SADB_X_EXT_POLICY`).
        ObsdPolicy = [_, _, 25],
        /// Local credentials (OpenBSD, obsolete).
        LocalCredentials = [_, _, 26],
        /// Remote credentials (OpenBSD, obsolete).
        RemoteCredentials = [_, _, 27],
        /// Local auth data (OpenBSD, obsolete).
        LocalAuth = [_, _, 28],
        /// Remote auth data (OpenBSD, obsolete).
        RemoteAuth = [_, _, 29],
        /// Supported compression algorithms (OpenBSD).
        SupportedComp = [_, _, 30],
        /// UDP encapsulation port (OpenBSD).
        UdpEncap = [_, _, 31],
        /// Last use (OpenBSD).
        LifetimeLastUse = [_, _, 32],
        /// pf tag (OpenBSD).
        Tag = [_, _, 33],
        /// enc(4) interface unit (OpenBSD).
        Tap = [_, _, 34],
        /// SA type of the second SA (OpenBSD).
        SaType2 = [_, _, 35],
        /// Traffic counters (OpenBSD).
        Counter = [_, _, 36],
        /// Routing domains (OpenBSD).
        Rdomain = [_, _, 37],
        /// Path MTU (OpenBSD).
        Mtu = [_, _, 38],
        /// Replay counter (OpenBSD).
        Replay = [_, _, 39],
        /// sec(4) interface (OpenBSD).
        Iface = [_, _, 40],
    }
}

impl ExtKind {
    /// The structure this extension is encoded with.
    pub fn layout(self) -> Layout {
        use ExtKind::*;
        match self {
            Sa | ObsdSa2 => Layout::Sa,
            LifetimeCurrent | LifetimeHard | LifetimeSoft | LifetimeLastUse
            | LifetimeCurSwOffload | LifetimeCurHwOffload => Layout::Lifetime,
            AddressSrc | AddressDst | AddressProxy | NatTOa | NatTOai | NatTOar | NewAddressSrc
            | NewAddressDst | SrcMask | DstMask | SrcFlow | DstFlow | ObsdDst2 => Layout::Address,
            KeyAuth | KeyEncrypt => Layout::Key,
            IdentitySrc | IdentityDst => Layout::Identity,
            Sensitivity => Layout::Sensitivity,
            Proposal => Layout::Proposal,
            SupportedAuth | SupportedEncrypt | SupportedComp => Layout::Supported,
            SpiRange => Layout::SpiRange,
            KmPrivate => Layout::KmPrivate,
            Policy => Layout::Policy,
            Sa2 => Layout::Sa2,
            NatTType => Layout::NatTType,
            NatTSport | NatTDport => Layout::NatTPort,
            NatTFrag => Layout::NatTFrag,
            SaReplay => Layout::SaReplay,
            SecCtx => Layout::SecCtx,
            KmAddress => Layout::KmAddress,
            Filter => Layout::Filter,
            Protocol | FlowType | SaType2 => Layout::Protocol,
            ObsdPolicy => Layout::PolicySeq,
            LocalCredentials | RemoteCredentials | LocalAuth | RemoteAuth => Layout::Credential,
            UdpEncap => Layout::UdpEncap,
            Tag => Layout::Tag,
            Tap => Layout::Tap,
            Counter => Layout::Counter,
            Rdomain => Layout::Rdomain,
            Mtu => Layout::Mtu,
            Replay => Layout::Replay,
            Iface => Layout::Iface,
            IfHwOffload => Layout::IfHwOffload,
        }
    }
}
