//! NAT detection (RFC 7296 §2.23): the SHA-1 hash of SPIi | SPIr | IP |
//! port that NAT_DETECTION_SOURCE_IP and _DESTINATION_IP carry.

use std::net::SocketAddr;

/// The NAT detection hash for one address.
pub fn hash(spi_i: u64, spi_r: u64, addr: SocketAddr) -> [u8; 20] {
    let mut h = openssl::sha::Sha1::new();
    h.update(&spi_i.to_be_bytes());
    h.update(&spi_r.to_be_bytes());
    match addr.ip() {
        std::net::IpAddr::V4(a) => h.update(&a.octets()),
        std::net::IpAddr::V6(a) => h.update(&a.octets()),
    }
    h.update(&addr.port().to_be_bytes());
    h.finish()
}
