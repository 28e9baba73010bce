# Shared helpers of the interop harness (sourced by peer-strongswan,
# peer-libreswan, netns-pair, selftest, install-peers, capture-strongswan;
# not executable on its own).
# shellcheck shell=bash disable=SC2034  # variables used by the sourcing scripts

# Where install-peers unpacks libreswan (the package conflicts with strongSwan).
IKD_INTEROP_CACHE=${IKD_INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ikedaemon-interop}
LIBRESWAN_ROOT=$IKD_INTEROP_CACHE/libreswan
CHARON=/usr/lib/ipsec/charon
DN_BASE="C=XX, O=ikedaemon interop test"

die() { echo "${0##*/}: $*" >&2; exit 1; }
need_root() { [[ $(id -u) == 0 ]] || die "must run as root"; }

# wait_for SECONDS CMD...: poll every 0.1 s until CMD succeeds; 1 on timeout.
wait_for() {
    local t=$(($1 * 10))
    shift
    until "$@" 2>/dev/null; do
        ((t-- > 0)) || return 1
        sleep 0.1
    done
}

# pid_alive PID: running and not a zombie (PID 1 here reaps orphans late).
pid_alive() {
    [[ -e /proc/$1 ]] || return 1
    [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# stop_pid PID [SECONDS]: TERM, bounded wait (zombie = exited), then KILL.
stop_pid() {
    local pid=$1 secs=${2:-5}
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! wait_for "$secs" eval "! pid_alive $pid"; then
        echo "${0##*/}: PID $pid ignored TERM for ${secs}s, sending KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        wait_for 2 eval "! pid_alive $pid" || return 1
    fi
}

ns_exists() { [[ -e /run/netns/$1 ]]; }

# pid_of PIDFILE EXE: prints the PID in PIDFILE if that process runs EXE.
pid_of() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    # A suffix match: inside the test VM (a chroot into the host's files)
    # a process in another mount namespace shows /mnt/host/... here.
    pid_alive "$pid" && [[ $(readlink "/proc/$pid/exe") == *"$2" ]] && echo "$pid"
}

# usage: the calling script's "# Usage" comment block, exit 2.
usage() { sed -n '/^# Usage/,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }

# parse_ns_dir ARGS...: the peer scripts' common options: --ns NS and
# --dir WORKDIR into NS and DIR (absolute), the rest into ARGS.
parse_ns_dir() {
    while (($#)); do
        case $1 in
            --ns) NS=${2:?--ns NS}; shift 2 ;;
            --dir) DIR=${2:?--dir WORKDIR}; shift 2 ;;
            *) ARGS+=("$1"); shift ;;
        esac
    done
    [[ -n $NS && -n $DIR ]] || usage
    DIR=$(realpath -m "$DIR")
}

APT_UPDATED=
# apt_update_once: `apt-get update`, at most once per run.
apt_update_once() {
    [[ $APT_UPDATED ]] && return
    echo "${0##*/}: apt-get update"
    apt-get update -q >/dev/null
    APT_UPDATED=1
}
# missing_pkgs PKG...: prints those not installed.
missing_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
    done
}
# apt_install PKG...: installs those missing (updating the lists once).
apt_install() {
    local missing
    mapfile -t missing < <(missing_pkgs "$@")
    if ((${#missing[@]} == 0)); then
        echo "${0##*/}: already installed: $*"
        return
    fi
    apt_update_once
    echo "${0##*/}: apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# umount_under DIR: unmount anything still mounted below DIR in this mount
# namespace (the daemons' bind mounts live in ip-netns-exec's private mount
# namespace, so normally there is nothing to do).
umount_under() {
    local m
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v d="$1/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

# gen_certs DIR TYPE: CA + responder.example + initiator.example end entities
# (ECDSA P-256 or RSA-2048, ID = subjectAltName) as DIR/{ca,responder,initiator}.{pem,key}.
gen_certs() {
    local d=$1 type size who
    case $2 in
        ecdsa) type=ecdsa size=256 ;;
        rsa) type=rsa size=2048 ;;
        *) die "--cert: ecdsa or rsa, not '$2'" ;;
    esac
    mkdir -p "$d"
    printf 'pki {\n  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey\n}\n' >"$d/pki.conf"
    (
        export STRONGSWAN_CONF=$d/pki.conf
        umask 077
        pki --gen --type "$type" --size "$size" --outform pem >"$d/ca.key"
        pki --self --ca --lifetime 3650 --in "$d/ca.key" --dn "$DN_BASE, CN=ikedaemon test CA" \
            --outform pem >"$d/ca.pem"
        for who in responder initiator; do
            pki --gen --type "$type" --size "$size" --outform pem >"$d/$who.key"
            pki --pub --in "$d/$who.key" |
                pki --issue --lifetime 3650 --cacert "$d/ca.pem" --cakey "$d/ca.key" \
                    --dn "$DN_BASE, CN=$who.example" --san "$who.example" --outform pem >"$d/$who.pem"
        done
    )
}

# export_certs CERTDIR EXPORTDIR ROLE: the peer is ROLE (responder|initiator),
# ikedaemon gets the other identity: ca.pem, ikedaemon.{pem,key} (0600), peer.pem.
export_certs() {
    local other=initiator
    [[ $3 == responder ]] || other=responder
    mkdir -p "$2"
    cp "$1/ca.pem" "$2/ca.pem"
    cp "$1/$3.pem" "$2/peer.pem"
    cp "$1/$other.pem" "$2/ikedaemon.pem"
    install -m 0600 "$1/$other.key" "$2/ikedaemon.key"
    printf 'peer_id=%s.example\nikedaemon_id=%s.example\n' "$3" "$other" >"$2/ids"
}
