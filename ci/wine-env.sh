# shellcheck shell=bash
# ci/wine-env.sh — Wine environment for xpr's Windows tests. Source it (bash):
#
#   . ci/wine-env.sh
#   xpr_wine_start; trap xpr_wine_stop EXIT   # prefix ready, one wineserver for the run
#   meson test -C build-win ...               # exe_wrapper ci/cross/wine-run uses the same prefix
#
# Sourcing only sets variables (nothing starts). Settings, each overridable:
#   XPR_WINEPREFIX  the prefix, default <checkout>/build-deps/wineprefix (git-ignored).
#                   Per checkout on purpose: one wineserver serves a prefix, `wineserver -k`
#                   kills every process in it, and all of them share its ~19,000 socket
#                   handles, so two checkouts testing at once must not share a prefix.
#   WINEDEBUG       default -all (Wine's fixme/err chatter would drown test output; it
#                   also silences Debian's "wine32 is missing" hint printed by `wine`).
#   WINEDLLOVERRIDES default "mscoree,mshtml=": no Mono/Gecko installer prompt (it would
#                   wait for a display or try to download) — console programs need neither.

_xpr_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XPR_WINEPREFIX=${XPR_WINEPREFIX:-$_xpr_root/build-deps/wineprefix}
case $XPR_WINEPREFIX in /*) ;; *) XPR_WINEPREFIX=$PWD/$XPR_WINEPREFIX ;; esac  # Wine wants it absolute
export XPR_WINEPREFIX
export WINEPREFIX=$XPR_WINEPREFIX
export WINEARCH=win64               # Debian's wine64 only; there is no wine32 here
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
unset _xpr_root

# Create the prefix once (~11 s, ~700 MB: Wine 8 copies its PE DLLs into system32);
# later calls return at once. Needs no display.
xpr_wine_prepare() {
    if [ -f "$WINEPREFIX/system.reg" ]; then return 0; fi
    mkdir -p "$WINEPREFIX"
    echo "wine-env: creating Wine prefix $WINEPREFIX" >&2
    wineboot -i >/dev/null 2>&1 </dev/null || { echo "wine-env: wineboot -i failed" >&2; return 1; }
    # wineboot returns before the services it started have written the registry:
    # wait until the (temporary) wineserver exits, so system.reg is complete.
    wineserver -w
}

# Prepare the prefix and start a wineserver that stays up until xpr_wine_stop.
# Without it every test program starts (and tears down) its own server: slower,
# and a test starting while the last server shuts down can fail spuriously.
xpr_wine_start() {
    xpr_wine_prepare || return 1
    # -p: persist until killed; it forks into the background. Exit code 2 means a
    # server already runs for this prefix (e.g. a second call): that is fine.
    # Its output goes nowhere: a server kept past the script (XPR_WINE_KEEP=1)
    # would otherwise hold the caller's pipe open (`ci/soak.sh wine | tail`
    # never ended).
    wineserver -p </dev/null >/dev/null 2>&1 || [ $? -eq 2 ]
    # Boot the session now (services.exe, explorer, rpcss, ...), one program alone.
    # Seen here: with a fresh persistent server, two programs started at once (meson
    # test's first two tests) print everything, then one never exits.
    wine cmd /c exit >/dev/null 2>&1 </dev/null
}

# Kill every Wine process of the prefix and the server; safe to call twice.
# (-k returns once the server has gone. Not `-w` after it: Debian's wineserver
# wrapper adds -p0, so a -w with no server running starts a fresh one.)
xpr_wine_stop() {
    wineserver -k 2>/dev/null || true
}

# The pid of this prefix's wineserver (empty if none runs): the process whose
# environment names our WINEPREFIX (other checkouts run servers of their own).
xpr_wineserver_pid() {
    local pid
    for pid in $(pgrep -x wineserver64 2>/dev/null; pgrep -x wineserver 2>/dev/null); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
            grep -qxF "WINEPREFIX=$WINEPREFIX"; then
            echo "$pid"
            return 0
        fi
    done
}

