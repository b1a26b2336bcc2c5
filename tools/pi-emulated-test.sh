#!/usr/bin/env bash
# The Raspberry Pi install, proved on 64-bit ARM Debian 12 (Bookworm) under qemu-user emulation.
#
#   sudo tools/pi-emulated-test.sh [--pi 4|5] [--cache DIR] [--rebuild] [--build-only] [--keep]
#
# No Raspberry Pi is needed. An arm64 Bookworm root file system (the stand-in for Raspberry Pi OS
# Lite: debootstrap + python3, numpy and systemd, which Raspberry Pi OS ships pre-installed) is
# built once and cached; each run mounts a throw-away overlay on it, copies this checkout in as
# `git clone` would, and then, inside the chroot, as a Pi user would:
#   1. runs `systemd/install.sh` as docs/raspberry-pi.md says, without --with-broker (the broker and the
#      displays are tested on this machine: tests/test_displays_installed.py) (systemd is not PID 1 in a chroot and
#      the Raspberry Pi apt repository is absent: it must say so, enable without starting, and
#      carry on without python3-picamera2);
#   2. checks the unit, the config, the enable link and the venv landed where docs/raspberry-pi.md says,
#      and prints the package versions that landed on arm64;
#   3. `mood-edge --version`;
#   4. runs the installed daemon (the unit's ExecStart, with the state directory systemd would
#      give it) on the sample clip against a mosquitto on loopback and checks its messages:
#      availability online/offline, a state with faces, a mood and movie picks, valid JSON;
#   5. runs the daemon with the installed config and no camera: it must say clearly that no camera
#      is there and retry (it must not exit);
#   6. `mood-edge bench` briefly;
#   7. with --cost: aarch64 instructions per frame per stage of the installed pipeline, counted
#      by a qemu TCG plugin (tools/pi/insn-count.c), per living-room scene (empty, one face, two
#      faces, a TV playing, someone walking in to 3 m and to 1 m) read through the real
#      Picamera2Source at the Pi camera's 1280x960 + 800x600; with --cost-clip also on the sample
#      clip for BlazeFace (the default), plain BlazeFace and Haar;
#   8. `systemd/install.sh --uninstall`: the unit, the link and the venv go, the config stays.
# It exits 0 when every check passed, 1 when one failed (the failing check is named), 2 on a
# usage or host-setup error. Mounts are undone on any exit. Emulated timings mean nothing: this is
# a correctness test.
#
# Options:
#   --pi 4|5        the CPU to emulate: 4 = Cortex-A72 (default), 5 = Cortex-A76 (dot product)
#   --cache DIR     where the root file system and pip's download cache are kept
#                   (default: $PI_EMULATED_CACHE, else /var/cache/mood-edge)
#   --rebuild       build the root file system again even if a cached one is there
#   --build-only    only build (or check) the cached root file system
#   --keep          keep the run's overlay (upper directory and logs) for inspection, until
#                   the next run
#   --cost          also count instructions per frame per scene (needs qemu-user, gcc, the qemu
#                   source for qemu-plugin.h, fetched with apt-get source, and the checkout's .venv
#                   for the scenes' pictures; ~15 more minutes; not part of CI): per scene the M
#                   instructions a frame (median / mean / largest), first sight of a face and
#                   the whole-frame look, against issue 31's aims; the figures go to
#                   DIR/pi<4|5>-instructions-scenes.json under --cache
#   --cost-clip     --cost, and the sample clip per detector too (DIR/pi<4|5>-instructions-<detector>.json)
#   -h, --help      this text
#
# Environment: MIRROR / SECURITY_MIRROR (default: this machine's own apt sources, else
# deb.debian.org), PI_EMULATED_CACHE. Needs root (mounts, chroot), qemu-user-static,
# binfmt-support, debootstrap and mosquitto (installed with apt when missing), ~1.5 GB of disk.
# Cold (nothing cached): about 8 minutes on 2 cores; warm: about 4.
set -euo pipefail

prog=pi-emulated-test.sh
REPO=$(cd "$(dirname "$0")/.." && pwd)
PI=4 CACHE=${PI_EMULATED_CACHE:-/var/cache/mood-edge} REBUILD=0 BUILD_ONLY=0 KEEP=0 COST=0 COST_CLIP=0
CLIP_FRAMES=120   # 8 s of the sample clip: faces, a mood and picks (emulated, ~1 min)
T0=$SECONDS

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "$prog: error: $*" >&2; exit 2; }
step() { printf '==> [%02d:%02d] %s\n' $(((SECONDS - T0) / 60)) $(((SECONDS - T0) % 60)) "$*"; }
FAILED=0
pass() { echo "    ok: $*"; }
fail() { echo "$prog: FAILED: $*" >&2; FAILED=1; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --pi) [ $# -ge 2 ] || die "--pi needs 4 or 5"; PI=$2; shift 2 ;;
        --pi=*) PI=${1#--pi=}; shift ;;
        --cache) [ $# -ge 2 ] || die "--cache needs a directory"; CACHE=$2; shift 2 ;;
        --cache=*) CACHE=${1#--cache=}; shift ;;
        --rebuild) REBUILD=1; shift ;;
        --build-only) BUILD_ONLY=1; shift ;;
        --keep) KEEP=1; shift ;;
        --cost) COST=1; shift ;;
        --cost-clip) COST=1; COST_CLIP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
case "$PI" in
    4) QEMU_CPU=cortex-a72 ;;
    5) QEMU_CPU=cortex-a76 ;;
    *) die "--pi $PI: expected 4 (Cortex-A72) or 5 (Cortex-A76)" ;;
esac
CPUINFO=$REPO/tools/pi/cpuinfo-pi$PI
[ -r "$CPUINFO" ] || die "$CPUINFO is missing"
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "needs root (mounts and chroot): run it as root"
    exec sudo -E "$0" --pi "$PI" --cache "$CACHE" $([ $REBUILD = 1 ] && echo --rebuild) \
        $([ $BUILD_ONLY = 1 ] && echo --build-only) $([ $KEEP = 1 ] && echo --keep) $([ $COST = 1 ] && echo --cost) $([ $COST_CLIP = 1 ] && echo --cost-clip)
fi
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
BASE=$CACHE/pi-root
# one run at a time per cache (they share the root and pip's cache); leftovers of a killed run go
exec 9> "$CACHE/.lock"
if ! flock -n 9; then
    echo "$prog: waiting for the other run using $CACHE to finish"
    flock 9
fi
for old in "$CACHE"/run.*; do
    [ -d "$old" ] || continue
    if grep -q " $old/" /proc/mounts; then echo "$prog: warning: $old still has mounts (a killed run?)" >&2
    else rm -rf "$old"; fi
done

# ---------------------------------------------------------------- cleanup: every mount, every process
MOUNTS=()   # in mount order; undone in reverse
PIDS=()
WORK=""
cleanup() {
    local rc=$? i
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    stop_root_processes "${R:-}"
    stop_root_processes "$CACHE/pi-root.tmp"
    local m
    for m in $(awk -v d="$CACHE/pi-root.tmp/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null
    done
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null \
            || echo "$prog: warning: could not unmount ${MOUNTS[i]}" >&2
    done
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "$KEEP" = 1 ]; then echo "$prog: kept $WORK"
        elif ! grep -q " $WORK/" /proc/mounts; then rm -rf "$WORK"
        else echo "$prog: warning: $WORK still has mounts; not removed" >&2; fi
    fi
    if [ "$rc" = 0 ]; then step "all checks passed (pi$PI, $QEMU_CPU)"
    elif [ "$FAILED" = 1 ]; then echo "$prog: the emulated Pi test FAILED (see above; logs were in ${WORK:-?}/logs)" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
# bash runs a trap only once the foreground command is done: long steps run through run_fg (in the
# background, then wait, which a signal interrupts) and a signal stops everything below this shell
descendants() {
    local p
    for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$p"; descendants "$p"; done
}
on_signal() {
    trap - INT TERM
    echo "$prog: interrupted: stopping and cleaning up" >&2
    local d; d=$(descendants $$)
    [ -z "$d" ] || kill -TERM $d 2>/dev/null
    exit 130
}
trap on_signal INT TERM
run_fg() { "$@" & wait $!; }

mnt() {  # mnt TARGET ARGS...: mount and remember
    local target=$1; shift
    mount "$@" "$target" || die "mount $* $target failed"
    MOUNTS+=("$target")
}

# ---------------------------------------------------------------- host prerequisites
host_setup() {
    local missing=()
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    [ -x /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
    command -v update-binfmts >/dev/null 2>&1 || missing+=(binfmt-support)
    [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
    command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
    if [ ${#missing[@]} -gt 0 ]; then
        step "apt-get install ${missing[*]} (on this machine)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
            || die "cannot mount binfmt_misc (a container without privileges?): arm64 binaries cannot run here"
    fi
    if ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    fi
    grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null \
        || die "binfmt_misc has no enabled qemu-aarch64 entry (update-binfmts --enable qemu-aarch64 failed)"
    grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
        || echo "$prog: note: qemu-aarch64 is registered without the F flag; using the copy in the root"
}

# this machine's Debian mirror (the one its own apt uses), for the suite given (bookworm or bookworm-security)
host_mirror() {
    local suite=$1 uri
    uri=$(awk -v s="$suite" '
        FNR == 1 { uris = ""; suites = "" }
        /^deb / && $3 == s { print $2; exit }
        /^URIs:/ { uris = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) suites = s }
        /^$/ { if (uris != "" && suites != "") { print uris; exit } uris = ""; suites = "" }
        END { if (uris != "" && suites != "") print uris }
    ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
    echo "${uri:-}"
}

# ---------------------------------------------------------------- the cached arm64 root file system
# Raspberry Pi OS Lite ships python3, numpy (with picamera2) and systemd; debootstrap's minbase does not.
BASE_PACKAGES=ca-certificates,systemd,python3,python3-numpy
RECIPE=1

in_root() {  # in_root ROOT CMD...: run CMD in the arm64 root, with a clean environment
    local root=$1; shift
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        TERM=dumb QEMU_CPU="$QEMU_CPU" DEBIAN_FRONTEND=noninteractive \
        unshare --uts sh -c 'hostname raspberrypi && exec chroot "$0" "$@"' "$root" "$@"
}

build_base() {
    local mirror security tmp=$CACHE/pi-root.tmp
    mirror=${MIRROR:-$(host_mirror bookworm)}; mirror=${mirror:-http://deb.debian.org/debian}
    security=${SECURITY_MIRROR:-$(host_mirror bookworm-security)}; security=${security:-http://deb.debian.org/debian-security}
    local stamp="recipe=$RECIPE packages=$BASE_PACKAGES mirror=$mirror"
    if [ "$REBUILD" = 0 ] && [ -f "$BASE/.mood-edge-pi-root" ] && [ "$(cat "$BASE/.mood-edge-pi-root")" = "$stamp" ]; then
        step "cached arm64 Bookworm root: $BASE"
        return 0
    fi
    step "building the arm64 Bookworm root in $BASE from $mirror (first stage: download)"
    grep -q " $tmp" /proc/mounts && die "$tmp has mounts left from an earlier run: unmount them first"
    rm -rf "$tmp"
    run_fg debootstrap --arch=arm64 --foreign --variant=minbase --include="$BASE_PACKAGES" bookworm "$tmp" "$mirror" \
        > "$CACHE/debootstrap.log" 2>&1 || { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap (first stage) failed; log: $CACHE/debootstrap.log"; }
    install -m 0755 /usr/bin/qemu-aarch64-static "$tmp/usr/bin/qemu-aarch64-static"
    step "second stage, emulated (a few minutes)"
    run_fg in_root "$tmp" /debootstrap/debootstrap --second-stage >> "$CACHE/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap (second stage) failed; log: $CACHE/debootstrap.log"; }
    cat > "$tmp/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
    echo raspberrypi > "$tmp/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n' > "$tmp/etc/hosts"
    # This machine's way to the Internet: its extra CA certificates and pip settings (index, CA).
    if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
        cp -r /usr/local/share/ca-certificates/. "$tmp/usr/local/share/ca-certificates/"
    fi
    write_pip_conf > "$tmp/etc/pip.conf"
    cp -L /etc/resolv.conf "$tmp/etc/resolv.conf"
    step "apt-get update and CA certificates in the root"
    run_fg in_root "$tmp" update-ca-certificates >> "$CACHE/debootstrap.log" 2>&1 || die "update-ca-certificates failed in the root"
    run_fg in_root "$tmp" apt-get update -qq >> "$CACHE/debootstrap.log" 2>&1 || die "apt-get update failed in the root (mirror $mirror)"
    in_root "$tmp" apt-get clean
    echo "$stamp" > "$tmp/.mood-edge-pi-root"
    rm -rf "$BASE"
    mv "$tmp" "$BASE"
    step "cached the root: $(du -sh "$BASE" | cut -f1)"
}

# pip inside the root must reach PyPI the way this machine does: its index (PIP_INDEX_URL, pip.conf)
# and CA bundle (which update-ca-certificates rebuilds in the root from the copied certificates).
write_pip_conf() {
    echo "# from the build host (tools/pi-emulated-test.sh): how pip reaches PyPI here"
    echo "[global]"
    echo "cert = /etc/ssl/certs/ca-certificates.crt"
    [ -z "${PIP_INDEX_URL:-}" ] || echo "index-url = $PIP_INDEX_URL"
    [ -z "${PIP_EXTRA_INDEX_URL:-}" ] || echo "extra-index-url = $PIP_EXTRA_INDEX_URL"
    [ -z "${PIP_TRUSTED_HOST:-}" ] || echo "trusted-host = $PIP_TRUSTED_HOST"
    if [ -r /etc/pip.conf ]; then
        grep -E '^\s*(index-url|extra-index-url|trusted-host|proxy)\s*=' /etc/pip.conf || true
    fi
}

# ---------------------------------------------------------------- one run, on a throw-away overlay
# mount the cached root read-only under an overlay, with a Pi's /proc/cpuinfo, a /dev without any
# camera, an empty /run (so no /run/systemd/system) and pip's download cache kept between runs
prepare_run_root() {
    WORK=$(mktemp -d "$CACHE/run.XXXXXX")
    R=$WORK/root LOGS=$WORK/logs
    mkdir -p "$WORK/upper" "$WORK/work" "$R" "$LOGS" "$CACHE/pip"
    if mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$WORK/upper,workdir=$WORK/work" "$R" 2>/dev/null; then
        MOUNTS+=("$R")
    else
        step "no overlayfs here: copying the root (slower)"
        cp -a "$BASE/." "$R/"
    fi
    mnt "$R/proc" -t proc proc
    # qemu-user shows the guest this machine's x86 /proc/cpuinfo, on which LiteRT's CPU detection crashes
    mnt "$R/proc/cpuinfo" --bind "$CPUINFO"
    mnt "$R/sys" -t sysfs -o ro sysfs
    mnt "$R/dev" -t tmpfs -o mode=0755,nosuid tmpfs
    local d
    for d in null zero full random urandom tty; do
        touch "$R/dev/$d"
        mnt "$R/dev/$d" --bind "/dev/$d"
    done
    ln -s /proc/self/fd "$R/dev/fd"
    mkdir -p "$R/dev/shm"
    mnt "$R/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
    mnt "$R/run" -t tmpfs -o mode=0755,nosuid,nodev tmpfs
    mkdir -p "$R/root/.cache/pip"
    mnt "$R/root/.cache/pip" --bind "$CACHE/pip"
    cp -L /etc/resolv.conf "$R/etc/resolv.conf"
    # the checkout, as `git clone` would give it (with this working tree's uncommitted changes)
    mkdir -p "$R/root/mood-edge"
    if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$REPO" ls-files -z -co --exclude-standard \
            | grep -zvE '^(\.cache|\.venv[^/]*|displays/node_modules)(/|$)' \
            | tar -C "$REPO" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$R/root/mood-edge" -xf -
    else
        tar -C "$REPO" --exclude=./.cache --exclude='./.venv*' --exclude=node_modules -cf - . | tar -C "$R/root/mood-edge" -xf -
    fi
}

# chroot_run LOG TIMEOUT CMD...: run CMD in the run's root, its output in LOG; its exit status.
# In the background (chroot_run ... &), kill $! stops CMD: timeout passes the signal on.
chroot_run() {
    local log=$1 limit=$2; shift 2
    exec_or_call timeout --kill-after=10 "$limit" \
        bash -c "$(declare -f in_root); QEMU_CPU=$QEMU_CPU in_root \"\$@\"" _ "$R" "$@" > "$log" 2>&1
}
# in a background subshell ($BASHPID differs from $$) exec, so that $! is timeout itself
exec_or_call() { if [ "$BASHPID" != "$$" ]; then exec "$@"; else "$@"; fi; }

# stop_root_processes DIR: every process still running inside DIR (its root directory), before unmounting
stop_root_processes() {
    [ -n "$1" ] && [ -d "$1" ] || return 0
    local p pids=()
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$1" ] && pids+=("${p#/proc/}")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    kill -TERM "${pids[@]}" 2>/dev/null; sleep 2; kill -KILL "${pids[@]}" 2>/dev/null
}

show() { sed 's/^/    | /' "$1" | tail -n "${2:-40}"; }
expect_in() {  # expect_in LOG TEXT WHAT
    grep -qF -- "$2" "$1" || { show "$1"; fail "$3: no \"$2\" in $(basename "$1")"; }
    pass "$3"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_broker() {
    PORT=$(free_port)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$PORT" > "$WORK/mosquitto.conf"
    /usr/sbin/mosquitto -c "$WORK/mosquitto.conf" > "$LOGS/mosquitto.log" 2>&1 &
    PIDS+=($!)
    local i
    for i in $(seq 50); do
        mosquitto_pub -h 127.0.0.1 -p "$PORT" -t mood-edge-test/ping -n 2>/dev/null && return 0
        sleep 0.2
    done
    show "$LOGS/mosquitto.log"; die "mosquitto did not start on 127.0.0.1:$PORT"
}

run_install() {
    step "systemd/install.sh in the chroot, as docs/raspberry-pi.md says but without --with-broker (cd mood-edge && sudo systemd/install.sh; root already)"
    local rc=0
    run_fg chroot_run "$LOGS/install.log" 1200 bash -c 'cd /root/mood-edge && systemd/install.sh' || rc=$?
    [ "$rc" = 0 ] || { show "$LOGS/install.log"; fail "install.sh exited $rc"; }
    show "$LOGS/install.log" 12
    pass "install.sh exited 0"
    expect_in "$LOGS/install.log" "python3-picamera2 is not in this system's apt sources" \
        "it says in one line that python3-picamera2 cannot be had and carries on for USB cameras"
    expect_in "$LOGS/install.log" "systemd is not running here (no /run/systemd/system" \
        "it says systemd is not running and it enabled the service without starting it"
    ! grep -q "install.sh: started" "$LOGS/install.log" || fail "install.sh says 'started' but nothing can start in a chroot"
    pass "it does not claim to have started the service"
}

check_layout() {
    step "the files land where docs/raspberry-pi.md says"
    cmp -s "$REPO/systemd/mood-edge.service" "$R/etc/systemd/system/mood-edge.service" \
        || fail "/etc/systemd/system/mood-edge.service is not the shipped unit"
    pass "/etc/systemd/system/mood-edge.service is the shipped unit"
    [ "$(readlink "$R/etc/systemd/system/multi-user.target.wants/mood-edge.service")" = /etc/systemd/system/mood-edge.service ] \
        || fail "mood-edge.service is not enabled (no multi-user.target.wants link)"
    pass "enabled: multi-user.target.wants/mood-edge.service"
    EXEC_START=$(sed -n 's/^ExecStart=//p' "$R/etc/systemd/system/mood-edge.service")
    [ -x "$R${EXEC_START%% *}" ] || fail "the unit's ExecStart ${EXEC_START%% *} is not there"
    pass "the unit's ExecStart is there: $EXEC_START"
    grep -qx 'include-system-site-packages = true' "$R/opt/mood-edge/venv/pyvenv.cfg" \
        || fail "/opt/mood-edge/venv was not made with --system-site-packages"
    pass "/opt/mood-edge/venv sees the system packages"
    [ -f "$R/etc/mood-edge/config.toml" ] && [ -f "$R/etc/mood-edge/config.example.toml" ] \
        || fail "no /etc/mood-edge/config.toml and config.example.toml"
    grep -qx 'source = "v4l2:0"' "$R/etc/mood-edge/config.toml" \
        || fail "without picamera2 the new /etc/mood-edge/config.toml should ask for v4l2:0"
    pass "/etc/mood-edge/config.toml (camera.source = \"v4l2:0\": no picamera2 here) and config.example.toml"
    grep -qx 'StateDirectory=mood-edge' "$R/etc/systemd/system/mood-edge.service" \
        || fail "the unit does not ask systemd for the state directory /var/lib/mood-edge"
    pass "the unit's state directory is /var/lib/mood-edge (StateDirectory=mood-edge)"
    run_fg chroot_run "$LOGS/versions.txt" 300 /opt/mood-edge/venv/bin/python -c '
import importlib.metadata as m, platform, sys
import numpy, cv2, paho.mqtt, ai_edge_litert, defusedxml
print("python", platform.python_version(), platform.machine())
for name in ("mood-edge", "ai-edge-litert", "opencv-python-headless", "numpy", "paho-mqtt", "defusedxml"):
    print(name, m.version(name))
print("numpy from", numpy.__file__.rsplit("/numpy/", 1)[0])
' || { show "$LOGS/versions.txt"; fail "the venv cannot import its packages"; }
    step "what landed on arm64:"
    show "$LOGS/versions.txt"
    chroot_run "$LOGS/version.log" 300 /opt/mood-edge/venv/bin/mood-edge --version \
        || { show "$LOGS/version.log"; fail "mood-edge --version failed"; }
    grep -qE '^mood-edge [0-9]' "$LOGS/version.log" || { show "$LOGS/version.log"; fail "mood-edge --version printed no version"; }
    pass "$(cat "$LOGS/version.log")"
}

# the installed daemon, as the unit runs it (ExecStart, $STATE_DIRECTORY), on the sample clip
run_clip() {
    step "the installed daemon on the sample clip, publishing to mosquitto on 127.0.0.1:$PORT"
    mosquitto_sub -h 127.0.0.1 -p "$PORT" -v -t 'mood-edge/#' -t 'homeassistant/#' > "$LOGS/mqtt.txt" 2>&1 &
    PIDS+=($!)
    sleep 0.5
    local rc=0
    # shellcheck disable=SC2086
    run_fg chroot_run "$LOGS/daemon-clip.log" 600 env STATE_DIRECTORY=/var/lib/mood-edge PYTHONUNBUFFERED=1 \
        $EXEC_START --camera file:/root/mood-edge/samples/living-room.mp4 --broker "mqtt://127.0.0.1:$PORT" \
        --frames "$CLIP_FRAMES" || rc=$?
    [ "$rc" = 0 ] || { show "$LOGS/daemon-clip.log"; fail "the daemon exited $rc on the sample clip"; }
    show "$LOGS/daemon-clip.log" 8
    expect_in "$LOGS/daemon-clip.log" "stopping after $CLIP_FRAMES frames" \
        "it ran $CLIP_FRAMES frames of the clip and stopped cleanly"
    sleep 1
    python3 - "$LOGS/mqtt.txt" <<'PY' || fail "the daemon's MQTT messages (above)"
import json, sys
lines = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[1]) if " " in l]
base = "mood-edge/raspberrypi/"
avail = [p for t, p in lines if t == base + "availability"]
states = [json.loads(p) for t, p in lines if t == base + "state"]
moods = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
seen = [s for s in states if s["faces"] > 0 and s["mood"] in moods and s["recommendations"] and s["camera"] == "ok"]
problems = []
if avail[:1] != ["online"] or avail[-1:] != ["offline"]:
    problems.append(f"availability should go online then offline, got {avail}")
if not states:
    problems.append("no state message on " + base + "state")
elif not all(s["schema"] == 1 and s["device"] == "raspberrypi" for s in states):
    problems.append("a state message without schema 1 / device raspberrypi")
if not seen:
    problems.append("no state with a face, a mood and picks: " + repr([(s["mood"], s["faces"]) for s in states]))
if not any(t.startswith("homeassistant/") and t.endswith("/config") for t, _ in lines):
    problems.append("no Home Assistant discovery")
for p in problems:
    print("    " + p)
if problems:
    sys.exit(1)
last = seen[-1]
print(f"    ok: {len(states)} state messages; e.g. mood {last['mood']} ({last['confidence']:.2f}), "
      f"{last['faces']} face(s), first pick {last['recommendations'][0]['title']!r}; availability {avail}")
PY
    [ -s "$R/var/lib/mood-edge/recommend-history.json" ] || fail "no recommendation history in /var/lib/mood-edge"
    pass "the recommendation history is in /var/lib/mood-edge (the state directory)"
}

# no camera at all (no /dev/video*, no picamera2): it must say so clearly, publish camera "down" and keep retrying
run_no_camera() {
    step "the daemon with no camera: the installed config (v4l2:0) and the shipped default (picamera2)"
    local pids=() name
    for name in installed example; do
        local config=/etc/mood-edge/config.toml
        [ "$name" = installed ] || config=/root/mood-edge/config.example.toml
        chroot_run "$LOGS/daemon-nocam-$name.log" 600 /opt/mood-edge/venv/bin/mood-edge run --config "$config" \
            --broker "mqtt://127.0.0.1:$PORT" --device-id "nocam-$name" --state-dir /tmp/nocam-$name &
        pids+=($!); PIDS+=($!)
    done
    # up to 5 minutes for both to start (emulated imports are slow) and then to retry for a few seconds
    local i
    for i in $(seq 300); do
        grep -qs 'camera down' "$LOGS/daemon-nocam-installed.log" && grep -qs 'camera down' "$LOGS/daemon-nocam-example.log" && break
        kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null || break
        sleep 1
    done
    sleep 8
    for i in 0 1; do
        name=$([ $i = 0 ] && echo installed || echo example)
        kill -0 "${pids[i]}" 2>/dev/null || { show "$LOGS/daemon-nocam-$name.log"; fail "with no camera ($name config) the daemon exited instead of retrying"; }
        kill -TERM "${pids[i]}"
    done
    wait "${pids[0]}" "${pids[1]}" 2>/dev/null || true
    expect_in "$LOGS/daemon-nocam-installed.log" "camera: v4l2:0: cannot open it" "v4l2:0 with no camera: it says it cannot open it"
    expect_in "$LOGS/daemon-nocam-example.log" "picamera2 is not installed" "picamera2 with no picamera2: it says it is not installed"
    for name in installed example; do
        expect_in "$LOGS/daemon-nocam-$name.log" "camera down: cannot open it; retrying with backoff" "$name config: it retries with backoff"
    done
    sed -n 's/^mood-edge\/nocam-installed\/state //p' "$LOGS/mqtt.txt" | grep -q '"camera": *"down"' \
        || fail "no state with camera \"down\" was published"
    pass "it published camera \"down\" and kept running"
    sed 's/^/    | /' "$LOGS/daemon-nocam-installed.log" | grep -m2 camera || true
}

run_bench() {
    step "mood-edge bench, briefly (emulated timings mean nothing)"
    run_fg chroot_run "$LOGS/bench.log" 600 /opt/mood-edge/venv/bin/mood-edge bench --frames 20 --warmup 2 \
        --no-compare --no-progress --json /root/bench.json \
        || { show "$LOGS/bench.log"; fail "mood-edge bench failed"; }
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$R/root/bench.json" 2>/dev/null \
        || fail "mood-edge bench wrote no valid JSON"
    show "$LOGS/bench.log" 12
    pass "mood-edge bench ran the pipeline and wrote its JSON"
}

# ---------------------------------------------------------------- --cost: instructions per frame
# qemu-plugin.h is in no Debian binary package: take it from the qemu source package (deb-src
# configured privately under the cache, so this machine's apt sources stay as they are).
cost_setup() {
    local missing=() d=$CACHE/qemu-src
    [ -x /usr/bin/qemu-aarch64 ] || missing+=(qemu-user)
    command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
    if [ ${#missing[@]} -gt 0 ]; then
        step "apt-get install ${missing[*]} (on this machine, for --cost)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if [ ! -f "$d/qemu-plugin.h" ]; then
        step "qemu-plugin.h from the Debian qemu source package"
        local mirror; mirror=${MIRROR:-$(host_mirror bookworm)}; mirror=${mirror:-http://deb.debian.org/debian}
        mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/parts"
        echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main" > "$d/sources.list"
        local apt=(-o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/parts"
                   -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache")
        apt-get "${apt[@]}" update -qq >/dev/null 2>&1 || die "apt-get update (deb-src $mirror) failed"
        (cd "$d" && apt-get "${apt[@]}" source --download-only -qq qemu >/dev/null 2>&1) || die "apt-get source qemu failed"
        tar -xJf "$d"/qemu_*.orig.tar.xz -C "$d" --wildcards '*/include/qemu/qemu-plugin.h' --strip-components=3 \
            || die "no include/qemu/qemu-plugin.h in the qemu source"
        rm -f "$d"/qemu_*.tar.xz
    fi
    PLUGIN=$CACHE/insn-count.so
    if [ ! -f "$PLUGIN" ] || [ "$REPO/tools/pi/insn-count.c" -nt "$PLUGIN" ]; then
        gcc -shared -fPIC -O2 -Wall -I "$d" -o "$PLUGIN" "$REPO/tools/pi/insn-count.c" || die "building the plugin failed"
    fi
}

# the installed venv's pipeline under the host's plugin-capable (dynamic) qemu-aarch64, with this
# root as its sysroot (-L): /proc/cpuinfo resolves to the Pi's one mounted in the root.
# cost_run NAME ARGS...: tools/pi/stage_cost.py ARGS counted; the table is printed, JSON in the cache
cost_run() {
    local name=$1; shift
    local marks=$LOGS/marks-$name.txt guest=$LOGS/cost-$name.txt json=$CACHE/pi$PI-instructions-$name.json
    run_fg env -i PATH=/usr/bin:/bin timeout 2400 nice -n 10 /usr/bin/qemu-aarch64 -L "$R" -cpu "$QEMU_CPU" \
        -plugin "$PLUGIN,out=$marks" \
        -E "PYTHONPATH=$R/opt/mood-edge/venv/lib/python3.11/site-packages" \
        -E "MOOD_EDGE_DATA=$R/opt/mood-edge/venv/share/mood-edge" -E PYTHONDONTWRITEBYTECODE=1 \
        -E "LD_LIBRARY_PATH=$R/usr/lib/aarch64-linux-gnu/blas:$R/usr/lib/aarch64-linux-gnu/lapack" \
        "$R/usr/bin/python3.11" "$REPO/tools/pi/stage_cost.py" "$@" > "$guest" 2>&1 \
        || { show "$guest"; fail "the instruction count ($name) failed"; }
    python3 "$REPO/tools/pi/stage_cost_report.py" "$marks" "$guest" "pi$PI $QEMU_CPU" "$json" | tee "$LOGS/cost-$name-table.txt"
    echo "    (written to $json)"
}

# the living-room scenes through the real Picamera2Source (1280x960 main + 800x600 lores YUV420
# from a stand-in picamera2), the default detector, one thread. The emulated root has no
# scikit-image (the daemon does not need it): the scenes' buffers are built here, with the
# checkout's own Python (.venv, which tools/test.sh makes), and read there.
COST_SCENES=empty,one,two,tv,walkin,close,idle
COST_FRAMES=40
run_cost() {
    cost_setup
    local py=${PYTHON:-$REPO/.venv/bin/python} budget=300
    "$py" -c 'import skimage, cv2' 2>/dev/null \
        || die "--cost builds its scenes with scikit-image and OpenCV: $py has not got them (run tools/test.sh once, or set PYTHON=)"
    step "the scenes ($COST_SCENES, $COST_FRAMES frames measured each), as the Pi camera's YUV420 buffers"
    PYTHONPATH=$REPO run_fg "$py" "$REPO/tools/pi/pi_scenes.py" "$WORK/scenes" --scenes "$COST_SCENES" \
        --frames "$COST_FRAMES" > "$LOGS/scenes.log" 2>&1 || { show "$LOGS/scenes.log"; fail "building the scenes failed"; }
    step "instructions per frame, per scene: the real Picamera2Source, the default config, 1 thread, $QEMU_CPU (qemu TCG plugin; ~15 minutes)"
    cost_run scenes --picamera2 --scene-dir "$WORK/scenes" --scenes "$COST_SCENES" --frames "$COST_FRAMES" --warmup 0
    local m
    for scene in empty one; do
        m=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["scenes"][sys.argv[2]]["per_frame_minstr"]["mean"])' \
            "$CACHE/pi$PI-instructions-scenes.json" "$scene")
        python3 -c "import sys; sys.exit(0 if $m <= $budget else 1)" \
            || fail "$scene: the default pipeline costs $m M instructions per frame on average: over the Pi 4 budget of $budget M (5 frames/s in one 1.5 GHz core)"
        pass "$scene: $m M instructions per frame on average (a whole-frame look included), within the Pi 4 budget of $budget M (5 frames/s in one core)"
    done
    if [ "$COST_CLIP" = 1 ]; then
        local det
        for det in default blazeface haar; do
            step "instructions per frame: $det detector on the sample clip, the default config otherwise, 1 thread, $QEMU_CPU"
            cost_run "$det" $([ "$det" = default ] || echo --detector "$det")
        done
    fi
}

run_uninstall() {
    step "systemd/install.sh --uninstall"
    local rc=0
    run_fg chroot_run "$LOGS/uninstall.log" 600 bash -c 'cd /root/mood-edge && systemd/install.sh --uninstall' || rc=$?
    [ "$rc" = 0 ] || { show "$LOGS/uninstall.log"; fail "install.sh --uninstall exited $rc"; }
    show "$LOGS/uninstall.log" 8
    [ ! -e "$R/etc/systemd/system/mood-edge.service" ] || fail "--uninstall left the unit"
    [ ! -L "$R/etc/systemd/system/multi-user.target.wants/mood-edge.service" ] || fail "--uninstall left the enable link"
    [ ! -e "$R/opt/mood-edge" ] || fail "--uninstall left /opt/mood-edge"
    [ -f "$R/etc/mood-edge/config.toml" ] || fail "--uninstall removed the config (only --purge should)"
    pass "the unit, its link and /opt/mood-edge are gone; /etc/mood-edge/config.toml is kept"
}

host_setup
build_base
[ "$BUILD_ONLY" = 0 ] || exit 0
prepare_run_root
start_broker
run_install
check_layout
run_clip
run_no_camera
run_bench
[ "$COST" = 0 ] || run_cost
run_uninstall
