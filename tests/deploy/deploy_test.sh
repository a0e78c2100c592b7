#!/usr/bin/env bash
# Deployment checks.
#   deploy_test.sh units SRC BUILD  systemd-analyze verify (any complaint fails)
#                                   and the units' exposure scores
#   deploy_test.sh deb SRC BUILD    cpack builds the .deb; its contents and
#                                   dependencies are checked; with root and
#                                   CALLSCOPE_DEB_INSTALL=1 (set by .ci/run) it
#                                   is installed with apt, both services are
#                                   started (systemctl when systemd runs, else
#                                   their ExecStart as the service user with
#                                   the unit's credentials, state directory and
#                                   capabilities), a probe delivers to the
#                                   collector, and the package is purged.
set -u
CASE=$1 SRC=$2 BUILD=$3
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
WORK=$(mktemp -d /tmp/cs-deploy-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

units() {
    command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
    # the units as installed, pointing at this build's binaries
    sed "s#/usr/bin/callscope-collector#$BUILD/collector/callscope-collector#g" \
        "$SRC/systemd/callscope-collector.service" >"$WORK/callscope-collector.service"
    sed "s#/usr/bin/callscope-probe#$BUILD/probe/callscope-probe#g" \
        "$SRC/systemd/callscope-probe@.service" >"$WORK/callscope-probe@.service"
    cp "$WORK/callscope-probe@.service" "$WORK/callscope-probe@eth0.service"
    for u in callscope-serve.service callscope-teams-ranges.service; do
        sed "s#/usr/bin/callscope-collector#$BUILD/collector/callscope-collector#g" \
            "$SRC/systemd/$u" >"$WORK/$u"
    done
    cp "$SRC/systemd/callscope-teams-ranges.timer" "$WORK/"
    out=$(systemd-analyze verify "$WORK/callscope-collector.service" \
        "$WORK/callscope-probe@eth0.service" "$WORK/callscope-serve.service" \
        "$WORK/callscope-teams-ranges.service" "$WORK/callscope-teams-ranges.timer" 2>&1)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify complained"
    ok "units verify clean"
    for u in callscope-collector.service callscope-probe@eth0.service callscope-serve.service \
        callscope-teams-ranges.service; do
        score=$(systemd-analyze security --offline=yes "$WORK/$u" 2>/dev/null |
            sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
        echo "exposure $u: ${score:-?}"
        [ -n "$score" ] && awk -v s="$score" 'BEGIN{exit !(s <= 3.0)}' ||
            fail "$u exposure ${score:-?} above 3.0"
    done
    ok "exposure scores at most 3.0"
    grep -q '^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN$' "$SRC/systemd/callscope-probe@.service" ||
        fail "probe capabilities"
    ok "probe has CAP_NET_RAW and CAP_NET_ADMIN only"
}

deb() {
    command -v dpkg-deb >/dev/null || { echo "SKIP: no dpkg-deb"; exit 77; }
    (cd "$BUILD" && cpack -G DEB -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1) ||
        { cat "$WORK/cpack.log"; fail "cpack"; }
    debf=$(ls "$WORK"/pkg/callscope_*.deb 2>/dev/null | head -1)
    [ -n "$debf" ] || fail "no .deb made"
    ok "built $(basename "$debf") ($(stat -c %s "$debf") bytes)"
    contents=$(dpkg-deb -c "$debf")
    for f in ./usr/bin/callscope-probe ./usr/bin/callscope-collector \
        ./usr/lib/systemd/system/callscope-probe@.service \
        ./usr/lib/systemd/system/callscope-collector.service \
        ./usr/lib/systemd/system/callscope-serve.service \
        ./usr/lib/systemd/system/callscope-teams-ranges.service \
        ./usr/lib/systemd/system/callscope-teams-ranges.timer \
        ./usr/lib/sysusers.d/callscope.conf ./usr/share/callscope/teams-media.protos \
        ./etc/callscope/teams-media.protos ./etc/callscope/serve.env \
        ./usr/share/bash-completion/completions/callscope-probe \
        ./usr/share/bash-completion/completions/callscope-collector \
        ./usr/share/doc/callscope/LICENSE ./usr/share/doc/callscope/copyright \
        ./usr/share/man/man8/callscope-probe.8.gz ./usr/share/man/man8/callscope-collector.8.gz \
        ./etc/callscope/probe.conf ./etc/callscope/collector.conf; do
        echo "$contents" | grep -q " $f\$" || fail "package lacks $f"
    done
    ok "package holds binaries, units, timer, sysusers, ranges, configs, completions, licence, man pages"
    # the pages as packaged: gzip -9n (no name, no time stamp), read by man
    for p in callscope-probe callscope-collector; do
        dpkg-deb --fsys-tarfile "$debf" | tar -xO "./usr/share/man/man8/$p.8.gz" >"$WORK/$p.8.gz"
        gzip -lv "$WORK/$p.8.gz" >/dev/null || fail "$p.8.gz is not gzip"
        [ "$(od -An -tu4 -j4 -N4 "$WORK/$p.8.gz" | tr -d ' ')" = 0 ] || fail "$p.8.gz has a time stamp (gzip -n)"
        if command -v man >/dev/null; then
            w=$(man --warnings -l "$WORK/$p.8.gz" 2>&1 >/dev/null)
            [ -z "$w" ] || { echo "$w"; fail "man warns on the packaged $p(8)"; }
            man -l "$WORK/$p.8.gz" 2>/dev/null | grep -q "EXIT STATUS" || fail "$p(8) does not render"
        fi
    done
    ok "the packaged man pages are gzip -9n and render without warnings"
    maint=$(dpkg-deb -f "$debf" Maintainer)
    echo "Maintainer: $maint"
    case $maint in *localhost*|"") fail "placeholder Maintainer" ;; esac
    # Debian policy 5.6.2: "Name <address>", one of each
    re='^[^<>@,]*[^<>@,[:space:]] <[^<>@[:space:]]+@[^<>@[:space:]]+[.][^<>@[:space:]]+>$'
    [[ $maint =~ $re ]] || fail "Maintainer is not 'Name <address>': $maint"
    want=$(sed -n 's/^CALLSCOPE_MAINTAINER:STRING=//p' "$BUILD/CMakeCache.txt")
    [ "$maint" = "$want" ] || fail "Maintainer is not CALLSCOPE_MAINTAINER ($want)"
    ok "Maintainer is a well-formed 'Name <address>', the one CMake was given"
    # the programs as packaged: --version says the package's version
    version=$(dpkg-deb -f "$debf" Version)
    dpkg-deb -x "$debf" "$WORK/root" || fail "dpkg-deb -x"
    for p in callscope-probe callscope-collector; do
        v=$("$WORK/root/usr/bin/$p" --version 2>&1)
        [ "$v" = "$p $version" ] || fail "$p --version says '$v', the package is $version"
    done
    ok "both programs' --version say $version, the package's version"
    cmp -s "$WORK/root/usr/share/doc/callscope/LICENSE" "$SRC/LICENSE" || fail "packaged LICENSE"
    head -1 "$WORK/root/usr/share/doc/callscope/copyright" |
        grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
        fail "copyright is not in the machine-readable format"
    grep -q '^License: MIT$' "$WORK/root/usr/share/doc/callscope/copyright" || fail "copyright licence"
    ok "LICENSE and a machine-readable copyright file are packaged"
    for p in callscope-probe callscope-collector; do
        bash -c ". '$WORK/root/usr/share/bash-completion/completions/$p' && complete -p $p" \
            >/dev/null 2>&1 || fail "the packaged completion does not register for $p"
    done
    ok "the packaged bash completions register for both programs"
    ctl=$(dpkg-deb --ctrl-tarfile "$debf" | tar -xO ./conffiles)
    for f in probe.conf collector.conf serve.env teams-media.protos; do
        echo "$ctl" | grep -qx "/etc/callscope/$f" || fail "/etc/callscope/$f not a conffile"
    done
    ok "settings and the ranges file are conffiles"
    deps=$(dpkg-deb -f "$debf" Depends)
    echo "Depends: $deps"
    for d in libpcap0.8 libndpi4.2 libzmq5 libsqlite3-0 libcurl4 libjansson4 libssl3; do
        echo "$deps" | grep -q "$d" || fail "Depends lacks $d"
    done
    ok "dependencies found by dpkg-shlibdeps"
    dpkg-deb --ctrl-tarfile "$debf" | tar -t | grep -q conffiles || fail "no conffiles"
    ok "configs are conffiles"
    if [ "$(id -u)" -ne 0 ] || [ "${CALLSCOPE_DEB_INSTALL:-0}" != 1 ]; then
        echo "install and start: skipped (needs root and CALLSCOPE_DEB_INSTALL=1, as .ci/run sets)"
        return 0
    fi
    install_and_start "$debf"
}

# Runs a unit's ExecStart as systemd would: its user, its credentials, its
# state directory, its ambient capabilities.
start_like_systemd() {
    local name=$1 caps=$2 state=$3 log=$4
    shift 4
    install -d -m 0700 -o callscope -g callscope "$state"
    local cred="/run/callscope-deploy-test/$name" # like /run/credentials/UNIT
    install -d -m 0755 /run/callscope-deploy-test
    install -d -m 0500 -o callscope -g callscope "$cred"
    for c in "$@"; do
        install -m 0400 -o callscope -g callscope "/etc/callscope/$c" "$cred/$c"
    done
    # the unit's privileged ExecStartPre=+ lines (the per-interface file)
    sed -n 's/^ExecStartPre=+//p' "/usr/lib/systemd/system/$name" | sed 's/%i/lo/g' | sh
    local capargs=()
    [ -n "$caps" ] && capargs=(--inh-caps="$caps" --ambient-caps="$caps")
    STATE_DIRECTORY=$state CREDENTIALS_DIRECTORY=$cred \
        setpriv --reuid=callscope --regid=callscope --init-groups "${capargs[@]}" \
        $(sed -n 's/^ExecStart=//p' "/usr/lib/systemd/system/$name" | sed 's/%i/lo/g; s/\$CALLSCOPE_PROBE_OPTS//') \
        >"$log" 2>&1 &
    echo $!
}

install_and_start() {
    local debf=$1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$debf" >"$WORK/apt.log" 2>&1 ||
        { tail -20 "$WORK/apt.log"; fail "apt-get install"; }
    trap 'pkill -u callscope -f callscope- 2>/dev/null; apt-get purge -y -q callscope >/dev/null 2>&1; rm -rf /etc/callscope /var/lib/callscope /run/callscope-deploy-test; rm -rf "$WORK"' EXIT
    getent passwd callscope >/dev/null || fail "no callscope user"
    ok "installed; user callscope exists"
    pages=$(dpkg -L callscope | grep man8)
    echo "$pages"
    if grep -qs '^path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
        echo "note: this system's dpkg excludes /usr/share/man (a slim image): pages not installed"
    else
        for p in callscope-probe callscope-collector; do
            echo "$pages" | grep -qx "/usr/share/man/man8/$p.8.gz" || fail "dpkg -L: no $p(8)"
            [ -f "/usr/share/man/man8/$p.8.gz" ] || fail "$p(8) listed but not installed"
        done
        ok "dpkg -L callscope lists both man pages, installed"
    fi
    if command -v man >/dev/null && [ -f /usr/share/man/man8/callscope-probe.8.gz ]; then
        man 8 callscope-probe 2>/dev/null | grep -q -- "--interface" || fail "man 8 callscope-probe"
        man 8 callscope-collector 2>/dev/null | grep -q -- "teams-ranges" || fail "man 8 callscope-collector"
        ok "man 8 callscope-probe and man 8 callscope-collector show the installed pages"
    fi
    callscope-collector org-keygen --tenant deploy.example --out /etc/callscope/org.key >/dev/null &&
        callscope-collector keygen collector --dir /etc/callscope >/dev/null &&
        callscope-collector keygen probe --dir /etc/callscope >/dev/null || fail "keys"
    mv /etc/callscope/probe.pub /etc/callscope/probes.d/
    sed -i 's#^bind = .*#bind = tcp://127.0.0.1:17699#' /etc/callscope/collector.conf
    sed -i 's#^collector = .*#collector = tcp://127.0.0.1:17699#; s#^interval = .*#interval = 1#' /etc/callscope/probe.conf
    echo "heartbeat = 1" >>/etc/callscope/probe.conf
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl start callscope-collector.service callscope-probe@lo.service ||
            fail "systemctl start"
        sleep 4
        systemctl is-active callscope-collector.service callscope-probe@lo.service || fail "not active"
        journalctl -u callscope-probe@lo.service --no-pager | grep -q "connected to collector" ||
            fail "probe did not connect"
        ok "both services started under systemd; the probe connected"
        return 0
    fi
    cpid=$(start_like_systemd callscope-collector.service "" /var/lib/callscope "$WORK/collector.log" \
        collector.key org.key)
    sleep 1
    ppid=$(start_like_systemd callscope-probe@.service "+net_raw,+net_admin" /var/lib/callscope/probe-lo \
        "$WORK/probe.log" probe.key)
    for _ in $(seq 1 50); do
        grep -q "connected to collector" "$WORK/probe.log" && break
        sleep 0.2
    done
    cat "$WORK/collector.log" "$WORK/probe.log"
    kill -0 "$cpid" && kill -0 "$ppid" || fail "a service exited"
    grep -q "connected to collector" "$WORK/probe.log" || fail "probe did not connect"
    ok "both services run as callscope with the unit's credentials and capabilities; the probe connected"
    sleep 2
    kill -TERM "$ppid"
    wait "$ppid" 2>/dev/null
    sleep 0.5
    n=$(sqlite3 /var/lib/callscope/collector.db "SELECT COUNT(*) FROM probes WHERE probe_id='probe'" 2>/dev/null)
    [ "$n" = 1 ] || fail "the collector's store has no row for the probe"
    ok "the collector's store (in the state directory) knows the probe"
    kill -TERM "$cpid"
    wait "$cpid" 2>/dev/null
}

"$CASE"
echo "PASS $CASE"
