//! Test artefacts for `sign_tests`: an RSA-2048 and a P-256 test key and
//! signatures over [`MSG`] made with the openssl 3 CLI (commands next to
//! each value). PKCS#1 v1.5 is deterministic, so `sign` must reproduce the
//! RSA values byte for byte; PSS and ECDSA ones are checked by verifying.

/// The signed octets of the CLI artefacts below: the 32 ASCII bytes
/// "ikedaemon RFC 7427 signed octets" (`printf '%s' … > msg.bin`).
pub(crate) const MSG: &[u8] = b"ikedaemon RFC 7427 signed octets";

/// RSA-2048 test key, made with
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem`.
pub(crate) const RSA_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDHlcBlddi0TG8S
+6e738i+vP8KNS7uKiyYugsIY/SCL2+YGkRnGa0eSjXpyupPd6lnd3gD/NGXKOm7
YRK8+yRHqbOLVMpt4/Ly76N4UqQpJ64UXTrSSjAk/ByYQn/r2kySBqNH0NxskYX/
2TIH3kStnQWZJvtnzg+1mDV3qtltBYk1kDNZzlLrbHds838lust6whwEK0gJUqHz
ppzzkudnMRID2tce1IHMrTU0QiyUTYbXUYQAz3FTEot3VZaQ3hGPo8y0Ijm5SJej
4tsZ0zclLRvdv6DnM12iLMFXht4Wh3rw7VIpM6SXHRf5GSwGki3xcrxTJTVQy/wJ
ywYSmUS9AgMBAAECggEAP7TON9SY+lwXbFDFppN06WU8Z064jy8JEyr3UJNPParU
jRF9Wgd5Gd0IPnsVtY31leAtf+BYKk7V5IjEyWvElddWRxgmkVMcfmz9me+PFM/k
of1sRCmIGpYaroMzf94raMUTo13IriL5ScRTUu2gsGYZnlwyDV1Z6FYQYwU257Q3
WvW2SI57SSFxe7Sc6t16pMyhUYX+EIegdPe1qEITv/Xs1bciPkDqWLyQLHwkAoP4
SyDsjnGX0v4Omix/rTFdH6L69S7C5cnkSpjgi8EzcJy6qf+HGZKKJJpsNcrkFMWk
R2Oakc7zLriccyW9dY3xikSkctjibF2tHhn7I0hK5QKBgQDkl0w7iILmHhRjtjXD
eJfc4sogZP4WN6qFZ8W+CabF++WZqDCpHiC2abuAxlL7uvycp2o36dmOLdQaRwju
CDEhHbULlHrpVw6AlnjOoKD0AU84pZ66V7BYX0x8G0QMxlcy1ZwWE0tpdTTGIsam
jXWCjh8uAMUesmUcMRK386c68wKBgQDfhBm7mtohaRinYlMP11oB8CAlQKL8wABh
zexRTLuPISNxdd2zacXpQC2Sl3cVjQOvZWdq1qZQiwz1OvtQ+iFtAysKyt/WvyZy
lZGP++j7DNubpPfUbFIV5xlJv5tVlQqKQECH4XZcCAb/WJDNwei1B1iEAvxGSA0z
+JkPN0sNjwKBgGAXDY+VAdlz2YRUyuLhZY0PtIHLkleKjN7JUYFiEz30dn6SCep9
ZKjpZ01pkOaKorfDVE4uuiofL6LgK2vL+8L89uboQoal9s2s8xmAwkfv6PpZ/JA+
Xj23ybH90CxCj9MpohRRhgjNoSKM6c6HdlcsIQU4g6Q0v3YLVuAGx0xrAoGBAKYq
/T59xwDjsxJthLbYMPAT5rILNaCV1TLg9nkShLXJuyHUsHd7gUkBD2BV/pAk/8Jb
ruC8p3Rli8KckM4IxuTWYB9r57Es9pZlH4xdiT1qt7EkmaJwzS2/Wwt6yS582RMi
5VafhXCx/xHCdBSjvi8nQOUTmx1c34Pto0yunLt9AoGBAOAI6x2R/ozUreCc3j/o
dKUiof5H3ODHa2H9mS/B6pJFmlH1BoH/RY3IYb0QktYjn2qcj7LBYbEccAsvm0AA
BmSlJZH/MZ9y7hr8nJiYOQNCRJQfnkQxGqXFsLhNjnunxT63W/uYHZ01tWHvmOvn
hTn21eAGbiW8PXvRUcadpEpt
-----END PRIVATE KEY-----
";

/// `openssl dgst -sha256 -sign rsa.pem -out sig msg.bin`
pub(crate) const RSA_SHA256_SIG: &str = "\
8160d4082bb6bd2d5d4eb81257ea7ed54260db1f65fbb3e4b71c7ef5d4a7863f83b028374bd395bf6c93453e62bb542d\
0a09d59256be4607ad8c86a8b322830429d9f90ac3a263ff97d306a5309b54379ee8923f67e4a5822c82ad727f9be2d5\
da134a6e56b31839473c9cd42ecb7921ff8268a7d64ce8dbd040b172875b5532bc30c0c33c7db8d7da4b71c5283cd984\
b2d39ec1a3e13149c5385bbc9010f37f6d1cce4ca4289714c80ce489b0a4de7bc75c50711953e386970d6e1cfc57c3f7\
8554aa0814b4d1e82ed54f29e9bde65eda7d213eb2507448c59f792fcba8c3e5f1efe628f28c8b92e8c58d1c08bb05ac\
09dac395e152e841d1cf3b0c09a76103";

/// `openssl dgst -sha1 -sign rsa.pem -out sig msg.bin`
pub(crate) const RSA_SHA1_SIG: &str = "\
9a60daa27446e470a75cf8e15808b83c9506b9226e2c4231cb2dda2d2beca22b745a0523c95a5f15a8bc4701b9c92e5f\
baccac18071b57493dc66a49375b6cd1ea2fe03ddf231e6b44e8df66204a68a936cbe6d5c192bbd112b5b962ea889596\
72cfdc50ceb5c55a8f778e1afed14a082b700cee04a7ff6f78cf2666955ef56fc21085eedd35d4a9d185ee82c30f6359\
1dbd2fc76284558d144fb78a4e0dded804ad618b8482e8c0f5355ceb5afd243c49e6c8d3c4c35ed91eb9b296a846dc25\
21d1ba1195400eb53e84ae92fa565104a5fbc0d1956670efdb1bde913e6c55e958562bafbb3dc2f11a15f56f461137ea\
affb3b6233fbaecb264d1acbd1f565cc";

/// `openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt
/// rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha256 -sign rsa.pem msg.bin`
pub(crate) const RSA_PSS_SHA256_SIG: &str = "\
59730b11c220e1e6c9295200092bdcf1c9cfc024e204edb3bd09f0aac8cc23322c6b412ee2d3edaad503c70eeff83f6b\
4f2a8344f52ab77a01998d771a6079ce996630968c8a2202df0f23d6b1d4cb39ea2e406255c662a752da44a85400d95b\
f238280fbe5868b7aa593484e890efca28daac1c5b067f554e69bcdc697c6817218ec3b39057ab7a0a9fd85e4a2b828e\
7b8b5194f11ee74995cb541e40ff19b6b23750ea490b8534fe4458c44674ed6efcde373e094fc54f4bf0e316ad5bc061\
cc292017e396b50b91da93f1fc2f435fca4226f1bd995641f1289f45f9052334a23419522895f756d77260da550f68f5\
1e0a983af2d17ef95c75c70d59d2c29b";

/// P-256 test key (`openssl genpkey -algorithm EC -pkeyopt
/// ec_paramgen_curve:P-256`, converted with `openssl ec` to the traditional
/// "EC PRIVATE KEY" form to exercise that loader path).
pub(crate) const EC256_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIE3Nx2p4Li+Ix7JzNTzdKVRCgExZtoIWtg3a0aa8nGYboAoGCCqGSM49
AwEHoUQDQgAEcaMJGoQRbzhtfWojFaNoCSbe1PtVfdWAp0Z6IoPq6ab5WrRj3Oa3
HthiCOxYGOiMz4DS49yoc+6yzSi1IdcOmA==
-----END EC PRIVATE KEY-----
";

/// `openssl dgst -sha256 -sign ec256.pem -out sig msg.bin` (DER).
pub(crate) const EC256_SHA256_SIG: &str = "\
3046022100d9d7a9cf819c854eb6aa5af9703d35269ee1b26792fa8509b4004975e7749248022100d0053849b48f1ff5\
f4924039441ad5b184749de8498b0faa4c31a89e816bd422";
