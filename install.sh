#!/bin/sh
# Install ikedaemon: the binaries built by `cargo build --release`, the man
# pages, an example configuration and the rc.d script or systemd unit, where
# Linux, FreeBSD or OpenBSD expects each of them.
#
#   sh install.sh [options] [PREFIX=dir] [DESTDIR=dir]
#
# Run `sh install.sh --help` for the options. A staged install (DESTDIR set)
# does not need root; everything else does, except --dry-run.
set -eu

usage() {
	cat <<'USAGE'
usage: install.sh [--os linux|freebsd|openbsd] [--prefix dir] [--destdir dir]
                  [--target-dir dir] [--create-user] [--dry-run] [--help]

  --os           system to install for (default: from `uname -s`)
  --prefix       installation prefix (default: $PREFIX, else /usr/local);
                 with --prefix /usr on Linux the binaries go to /usr/sbin
  --destdir      stage the files under this directory (default: $DESTDIR);
                 does not need root, creates no user
  --target-dir   where ikedaemon and ikectl were built (default:
                 $CARGO_TARGET_DIR/release, else target/release)
  --create-user  create the unprivileged user _ikedaemon instead of
                 printing the command that does it
  --dry-run, -n  print what would be done and change nothing

PREFIX=dir and DESTDIR=dir are also accepted as arguments, as with make(1).

Installed files (PREFIX, DESTDIR prepended to all):
  all       PREFIX/sbin/ikedaemon, PREFIX/sbin/ikectl, /var/empty (if absent)
  linux     PREFIX/share/man/man5, man8; /etc/ikedaemon.conf (if absent);
            ikedaemon.service in PREFIX/lib/systemd/system (PREFIX /usr or
            /usr/local) or /etc/systemd/system (any other PREFIX)
  freebsd   PREFIX/share/man/man5, man8; PREFIX/etc/ikedaemon.conf.sample;
            PREFIX/etc/rc.d/ikedaemon
  openbsd   PREFIX/man/man5, man8; PREFIX/etc/ikedaemon.conf.sample;
            /etc/rc.d/ikedaemon
USAGE
}

die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}

warn() {
	printf 'install.sh: warning: %s\n' "$*" >&2
}

srcdir=$(cd "$(dirname "$0")" && pwd)

os=
prefix=${PREFIX:-/usr/local}
destdir=${DESTDIR:-}
targetdir=
create_user=no
dry_run=no

need_arg() {
	[ "$2" -ge 2 ] || die "$1 needs an argument (see --help)"
}

while [ $# -gt 0 ]; do
	case $1 in
	--os) need_arg "$1" $#; os=$2; shift 2 ;;
	--os=*) os=${1#*=}; shift ;;
	--prefix) need_arg "$1" $#; prefix=$2; shift 2 ;;
	--prefix=*|PREFIX=*) prefix=${1#*=}; shift ;;
	--destdir) need_arg "$1" $#; destdir=$2; shift 2 ;;
	--destdir=*|DESTDIR=*) destdir=${1#*=}; shift ;;
	--target-dir) need_arg "$1" $#; targetdir=$2; shift 2 ;;
	--target-dir=*) targetdir=${1#*=}; shift ;;
	--create-user) create_user=yes; shift ;;
	--dry-run|-n) dry_run=yes; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

if [ -z "$os" ]; then
	case $(uname -s) in
	Linux) os=linux ;;
	FreeBSD) os=freebsd ;;
	OpenBSD) os=openbsd ;;
	*) die "cannot tell the system from 'uname -s' ($(uname -s)): use --os linux|freebsd|openbsd" ;;
	esac
fi
case $os in
linux|freebsd|openbsd) ;;
*) die "unknown --os '$os': use linux, freebsd or openbsd" ;;
esac

# Paths are substituted into scripts with sed(1) using '|' as delimiter.
check_path() {
	case $2 in
	/*) ;;
	*) die "$1 must be an absolute path: '$2'" ;;
	esac
	case $2 in
	*'|'*|*"\\"*|*'&'*) die "$1 must not contain '|', '\\' or '&': '$2'" ;;
	esac
}
check_path PREFIX "$prefix"
[ -z "$destdir" ] || check_path DESTDIR "$destdir"
# pfx: PREFIX to join paths to ("" for /).
pfx=${prefix%/}
destdir=${destdir%/}

if [ -z "$targetdir" ]; then
	targetdir=${CARGO_TARGET_DIR:-$srcdir/target}/release
fi

if [ -n "$destdir" ] && [ "$create_user" = yes ]; then
	die "--create-user does not apply to a staged install (DESTDIR is set)"
fi
if [ -z "$destdir" ] && [ "$dry_run" = no ] && [ "$(id -u)" -ne 0 ]; then
	die "must be root to install into the system (set DESTDIR for a staged install, or use --dry-run)"
fi

# Where things go, per system.
sbindir=$pfx/sbin
case $os in
linux)
	mandir=$pfx/share/man
	case $pfx in
	/usr|/usr/local) unitdir=$pfx/lib/systemd/system ;;
	*) unitdir=/etc/systemd/system ;;
	esac
	;;
freebsd)
	mandir=$pfx/share/man
	rcdir=$pfx/etc/rc.d
	sampledir=$pfx/etc
	;;
openbsd)
	mandir=$pfx/man
	rcdir=/etc/rc.d
	sampledir=$pfx/etc
	;;
esac

# Print a command as a shell would read it back.
show() {
	out=
	for a in "$@"; do
		case $a in
		''|*[!A-Za-z0-9_./=:,+@%-]*)
			q=$(printf '%s' "$a" | sed "s/'/'\\\\''/g")
			a="'$q'" ;;
		esac
		out="$out${out:+ }$a"
	done
	printf '%s\n' "$out"
}

run() {
	show "$@"
	[ "$dry_run" = yes ] || "$@"
}

# mkdir_once DIR: create DIR (and its parents) once.
made_dirs=
mkdir_once() {
	case "$made_dirs" in
	*"
$1
"*) return 0 ;;
	esac
	made_dirs="$made_dirs
$1
"
	run install -d -m 0755 "$1"
}

# install_file MODE SRC DST: copy SRC (relative to the source tree, or
# absolute) to DESTDIR+DST.
install_file() {
	mkdir_once "$destdir$(dirname "$3")"
	run install -m "$1" "$2" "$destdir$3"
}

# install_edited MODE SRC DST SED-SCRIPT: as install_file, with the paths in
# SRC rewritten by SED-SCRIPT.
install_edited() {
	mkdir_once "$destdir$(dirname "$3")"
	printf '%s > %s\n' "$(show sed -e "$4" "$2")" "$(show "$destdir$3")"
	if [ "$dry_run" = no ]; then
		sed -e "$4" "$2" >"$destdir$3.tmp.$$"
		chmod "$1" "$destdir$3.tmp.$$"
		mv -f "$destdir$3.tmp.$$" "$destdir$3"
	fi
}

# optional SRC: true if SRC exists, else a warning.
optional() {
	[ -e "$1" ] && return 0
	warn "$1 does not exist: not installed"
	return 1
}

[ "$dry_run" = yes ] && echo "install.sh: dry run, nothing is changed"
echo "install.sh: installing for $os, PREFIX=$prefix${destdir:+, DESTDIR=$destdir}"

# Binaries.
for prog in ikedaemon ikectl; do
	if [ ! -f "$targetdir/$prog" ]; then
		msg="$targetdir/$prog not found: run 'cargo build --release' first, or pass --target-dir"
		[ "$dry_run" = yes ] || die "$msg"
		warn "$msg"
	fi
	install_file 0755 "$targetdir/$prog" "$sbindir/$prog"
done

# Manual pages.
for page in ikedaemon.conf.5 ikedaemon.8 ikectl.8; do
	src=$srcdir/man/$page
	optional "$src" || continue
	install_file 0644 "$src" "$mandir/man${page##*.}/$page"
done

# Configuration: a sample on the BSDs (the administrator copies it), the
# file itself on Linux unless one is there already. It may hold secrets,
# which the daemon wants readable by root only.
conf=$srcdir/etc/ikedaemon.conf
case $os in
linux)
	if [ -e "$destdir/etc/ikedaemon.conf" ]; then
		echo "install.sh: keeping the existing $destdir/etc/ikedaemon.conf"
	elif optional "$conf"; then
		install_file 0600 "$conf" /etc/ikedaemon.conf
	fi
	;;
*)
	if optional "$conf"; then
		install_file 0644 "$conf" "$sampledir/ikedaemon.conf.sample"
	fi
	;;
esac

# Service definitions, with the installed paths.
case $os in
linux)
	install_edited 0644 "$srcdir/etc/systemd/ikedaemon.service" \
	    "$unitdir/ikedaemon.service" "s|/usr/sbin/ikedaemon|$sbindir/ikedaemon|g"
	;;
freebsd)
	install_edited 0755 "$srcdir/etc/rc.d/ikedaemon" "$rcdir/ikedaemon" \
	    "s|/usr/local/sbin/ikedaemon|$sbindir/ikedaemon|g; s|/usr/local/etc/ikedaemon.conf|$pfx/etc/ikedaemon.conf|g"
	;;
openbsd)
	install_edited 0555 "$srcdir/etc/rc.d/openbsd/ikedaemon" "$rcdir/ikedaemon" \
	    "s|/usr/local/sbin/ikedaemon|$sbindir/ikedaemon|g"
	;;
esac

# The chroot directory of the unprivileged processes. An existing one is
# left alone (on FreeBSD it is immutable).
if [ -d "$destdir/var/empty" ]; then
	:
else
	mkdir_once "$destdir/var/empty"
	if [ "$(id -u)" -eq 0 ]; then
		run chown 0:0 "$destdir/var/empty"
	else
		echo "install.sh: not root: $destdir/var/empty is not owned by root; the package must set owner root, mode 0755"
	fi
fi

# The unprivileged user.
case $os in
linux) set -- useradd --system --no-create-home --shell /usr/sbin/nologin --home-dir /var/empty _ikedaemon ;;
freebsd) set -- pw useradd _ikedaemon -d /var/empty -s /usr/sbin/nologin -c "ikedaemon unprivileged user" ;;
openbsd) set -- useradd -d /var/empty -s /sbin/nologin _ikedaemon ;;
esac
user_todo=
if [ -z "$destdir" ] && id _ikedaemon >/dev/null 2>&1; then
	echo "install.sh: user _ikedaemon exists"
elif [ "$create_user" = yes ]; then
	run "$@"
else
	user_todo=$(show "$@")
fi

echo
echo "Next steps:"
n=1
step() {
	printf '  %d. %s\n' "$n" "$1"
	shift
	for line in "$@"; do
		printf '       %s\n' "$line"
	done
	n=$((n + 1))
}
if [ -n "$user_todo" ]; then
	step "Create the unprivileged user (as root):" "$user_todo"
fi
case $os in
linux)
	step "Edit /etc/ikedaemon.conf (ikedaemon.conf(5)) and check it:" \
	    "$sbindir/ikedaemon -n -f /etc/ikedaemon.conf"
	step "Start it now and at boot:" \
	    "systemctl daemon-reload" "systemctl enable --now ikedaemon"
	;;
freebsd)
	step "Create $pfx/etc/ikedaemon.conf from the sample and check it:" \
	    "cp $sampledir/ikedaemon.conf.sample $pfx/etc/ikedaemon.conf" \
	    "chmod 600 $pfx/etc/ikedaemon.conf" \
	    "service ikedaemon oneconfigtest"
	step "Start it now and at boot:" \
	    "sysrc ikedaemon_enable=YES" "service ikedaemon start"
	;;
openbsd)
	step "Create /etc/ikedaemon.conf from the sample and check it:" \
	    "cp $sampledir/ikedaemon.conf.sample /etc/ikedaemon.conf" \
	    "chmod 600 /etc/ikedaemon.conf" \
	    "$sbindir/ikedaemon -n"
	step "Start it now and at boot:" \
	    "rcctl enable ikedaemon" "rcctl start ikedaemon"
	;;
esac
echo "Only 'kernel: none' is implemented yet: see CAVEATS in ikedaemon(8)."
