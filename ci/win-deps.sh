#!/usr/bin/env bash
# ci/win-deps.sh — Windows (x86_64-w64-mingw32) dependencies of xpr for the cross
# build on Debian: installs the toolchain and Wine, cross-builds libevent and CMocka
# from Debian's source packages (Debian's patches applied) as static libraries into
# a cached prefix, and writes the meson cross file that points at it.
#
#   ci/win-deps.sh        # from any directory; prints the prefix and the cross file
#   meson setup build-win --cross-file build-deps/mingw-w64-x86_64.txt
#
#   XPR_DEPS_DIR=dir      cache directory (default: <checkout>/build-deps, git-ignored)
#   XPR_DEPS_FORCE=1      rebuild even if the cache is up to date
#
# The prefix is rebuilt only when the cache key changes: the hashes of the source
# packages' files (.dsc, tarballs) as the archive lists them, plus this script and
# the CMake toolchain file. A warm run does no download and no build.
set -euo pipefail

ci=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
host=x86_64-w64-mingw32
deps=${XPR_DEPS_DIR:-$(dirname "$ci")/build-deps}
mkdir -p "$deps" && deps=$(cd "$deps" && pwd)
prefix=$deps/prefix-$host
toolchain=$ci/cross/mingw-w64-x86_64.cmake
cross_file=$deps/mingw-w64-x86_64.txt
log=$deps/win-deps.log
srcpkgs=(libevent cmocka)
tools=(gcc-mingw-w64-x86-64 cmake ninja-build meson pkgconf dpkg-dev xz-utils wine wine64)

# Other jobs on this machine may be running apt: wait for its lock, don't fail.
apt_wait=(-o DPkg::Lock::Timeout=300)

say() { printf 'win-deps: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# Run a noisy step with its output in $log; show the tail if it fails.
quiet() { "$@" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; say "FAILED: $* (log: $log)"; exit 1; }; }

install_tools() {
    local missing=() p
    for p in "${tools[@]}"; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    say "installing ${missing[*]}"
    as_root apt-get "${apt_wait[@]}" update -qq
    # --no-install-recommends: wine64 recommends wine32, which needs the i386 architecture.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_wait[@]}" install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

# deb-src entries for the archive that apt already uses: the same URIs, suites,
# components and keys, with Types: deb-src. No host name is ever written here.
enable_deb_src() {
    local d=/etc/apt/sources.list.d f src changed=
    # Source packages already configured there: leave them alone (a duplicate
    # entry would make apt warn on every call).
    if grep -Eqs '^[[:space:]]*deb-src[[:space:]]|^Types:.*deb-src' \
        /etc/apt/sources.list "$d"/debian.sources "$d"/ubuntu.sources; then
        return
    fi
    # deb822 files (Debian 12+: debian.sources): copy every enabled "Types: deb" stanza.
    f=$(mktemp)
    for src in "$d"/debian.sources "$d"/ubuntu.sources; do
        [ -f "$src" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }            # one stanza per record
            { out = ""; types = ""; on = 1
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^#/) continue
                  if ($i ~ /^Types:/) { types = $i; continue }
                  if ($i ~ /^Enabled:[ \t]*no/) on = 0
                  out = out $i "\n" }
              if (on && types ~ /[ \t]deb([ \t]|$)/) printf "Types: deb-src\n%s\n", out }' "$src"
    done >"$f"
    # one-line format (/etc/apt/sources.list): "deb ..." -> "deb-src ..."
    if [ -f /etc/apt/sources.list ]; then
        sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list >"$f.list"
    else : >"$f.list"; fi
    if [ -s "$f" ] && ! cmp -s "$f" "$d/xpr-deb-src.sources"; then
        as_root install -m 644 "$f" "$d/xpr-deb-src.sources"; changed=1
    fi
    if [ -s "$f.list" ] && ! cmp -s "$f.list" "$d/xpr-deb-src.list"; then
        as_root install -m 644 "$f.list" "$d/xpr-deb-src.list"; changed=1
    fi
    rm -f "$f" "$f.list"
    if [ -n "$changed" ]; then say "enabled deb-src"; as_root apt-get "${apt_wait[@]}" update -qq; fi
}

# "name size SHA256:..." of every file of the source packages, as the archive's
# Sources index lists them (URIs cut off: a mirror change is no source change).
source_files() {
    (cd "$deps" && apt-get source --print-uris -qq "${srcpkgs[@]}" 2>/dev/null) | grep "^'" | cut -d' ' -f2-
}

cache_key() {
    local files
    files=$(source_files) || { say "apt-get source finds no ${srcpkgs[*]} (deb-src?)"; return 1; }
    { echo "$files"; cat "$ci/win-deps.sh" "$toolchain"; } | sha256sum | cut -d' ' -f1
}

install_tools
enable_deb_src

# The cross file holds this machine's paths: (re)write it on every run, but touch
# it only when it changes — meson reconfigures a build whose cross file is newer.
write_cross_file() {
    sed -e "s|@DEPS_PREFIX@|$prefix|" -e "s|@CI_DIR@|$ci|" "$ci/cross/mingw-w64-x86_64.txt" >"$cross_file.new"
    if cmp -s "$cross_file.new" "$cross_file"; then rm "$cross_file.new"; else mv "$cross_file.new" "$cross_file"; fi
}

# One build at a time per cache directory (two test runs of one checkout).
exec 9>"$deps/.lock"
flock 9
# Warm check against apt's current lists (no network: a warm run costs ~0.5 s).
if [ -z "${XPR_DEPS_FORCE:-}" ] && key=$(cache_key 2>/dev/null) &&
    [ "$(cat "$prefix/.stamp" 2>/dev/null)" = "$key" ]; then
    write_cross_file
    say "up to date: $(paste -sd' ' "$prefix/versions.txt")"
    say "prefix:     $prefix"
    say "cross file: $cross_file"
    exit 0
fi

start=$SECONDS
# Building anyway: refresh the lists first, so a stale index neither builds an old
# version nor points at files the archive has since dropped.
as_root apt-get "${apt_wait[@]}" update -qq
key=$(cache_key)
rm -rf "$deps/src" "$deps/build" "$prefix" "$log"
mkdir -p "$deps/src"
say "fetching ${srcpkgs[*]} source packages (log: $log)"
# apt-get source unpacks with dpkg-source -x, which applies debian/patches (several
# of them security fixes); the upstream tarball alone would miss them.
# No root needed. APT::Sandbox::User=root: as root, apt would download as the user
# _apt, which cannot write here, and warn (a non-root apt ignores the option).
(cd "$deps/src" && quiet apt-get -o APT::Sandbox::User=root source "${srcpkgs[@]}")
ev_src=("$deps"/src/libevent-*/)
cm_src=("$deps"/src/cmocka-*/)

cmake_install() {   # name source-dir cmake-options...
    local name=$1 src=$2; shift 2
    say "building $name"
    quiet cmake -S "$src" -B "$deps/build/$name" -G Ninja \
        -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_INSTALL_PREFIX="$prefix" "$@"
    quiet cmake --build "$deps/build/$name"
    quiet cmake --install "$deps/build/$name"
}

# libevent: static only, no TLS, nothing but the libraries.
# CMAKE_DISABLE_FIND_PACKAGE_Git: libevent's CMake runs `git describe` in its source
# directory — which is inside xpr's checkout, so it would read xpr's tags as its version.
# EVENT__DISABLE_MBEDTLS exists from libevent 2.2 on (hence --no-warn-unused-cli).
cmake_install libevent "${ev_src[0]}" --no-warn-unused-cli \
    -DEVENT__LIBRARY_TYPE=STATIC -DEVENT__DISABLE_OPENSSL=ON -DEVENT__DISABLE_MBEDTLS=ON \
    -DEVENT__DISABLE_TESTS=ON -DEVENT__DISABLE_REGRESS=ON -DEVENT__DISABLE_SAMPLES=ON \
    -DEVENT__DISABLE_BENCHMARK=ON -DCMAKE_DISABLE_FIND_PACKAGE_Git=ON

# CMocka 1.1 always builds its DLL; WITH_STATIC_LIB adds libcmocka-static.a.
cmake_install cmocka "${cm_src[0]}" -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF

say "fixing the installed files"
cd "$prefix/lib"
# Keep only the static CMocka, named so that -lcmocka finds it: with the import
# library libcmocka.dll.a present, -lcmocka would pick it and every test would need
# cmocka.dll on WINEPATH. (Its CMake config names a nonexistent cmocka.dll.a.)
mv libcmocka-static.a libcmocka.a
rm -f libcmocka.dll.a ../bin/cmocka.dll
sed -i 's|lib/cmocka\.dll\.a|lib/libcmocka.a|' cmake/cmocka/cmocka-config.cmake
cm_version=$(sed -n 's/^Version: *//p' pkgconfig/cmocka.pc)
cat >pkgconfig/cmocka.pc <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: cmocka
Description: The cmocka unit testing library (static)
Version: $cm_version
Libs: -L\${libdir} -lcmocka
Cflags: -I\${includedir}
EOF
# libevent*.pc: its CMake writes the system libraries as "-Lws2_32 -Lshell32
# -Ladvapi32" and leaves out iphlpapi (GetAdaptersAddresses in evutil.c). Only static
# archives are installed, so the system libraries belong in Libs, after -levent
# (the order matters for static linking). The prefix line becomes relative to the
# .pc file, so the prefix can move.
for pc in pkgconfig/libevent*.pc; do
    # shellcheck disable=SC2016  # ${pcfiledir}, ${prefix} are pkg-config's, not ours
    sed -i -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' -e 's|^exec_prefix=.*|exec_prefix=${prefix}|' \
        -e 's|^libdir=.*|libdir=${prefix}/lib|' -e 's|^includedir=.*|includedir=${prefix}/include|' \
        -e 's|^\(Libs: .*\)|\1 -lws2_32 -liphlpapi -lshell32 -ladvapi32|' -e 's|^Libs.private:.*|Libs.private:|' "$pc"
done
# libevent_extra.a needs libevent_core.a (libevent.a holds both).
sed -i 's|^Requires:.*|Requires: libevent_core|' pkgconfig/libevent_extra.pc

for dsc in "$deps"/src/*.dsc; do   # libevent_2.1.12-stable-8+deb12u1.dsc -> "libevent 2.1.12-..."
    dsc=${dsc##*/}; dsc=${dsc%.dsc}; echo "${dsc/_/ }"
done >"$prefix/versions.txt"
echo "$key" >"$prefix/.stamp"
write_cross_file
say "built in $((SECONDS - start)) s: $(paste -sd' ' "$prefix/versions.txt")"
say "prefix:     $prefix"
say "cross file: $cross_file"
