#!/usr/bin/env bash
# embed_test.sh - build examples/embed.c against an installed refraft.
#
#   embed_test.sh pkgconfig|find_package BUILD_DIR SOURCE_DIR CC [CMAKE]
#
# Installs BUILD_DIR into a fresh temporary prefix with `cmake --install`,
# then, as an application would:
#   pkgconfig     compiles embed.c with `cc $(pkg-config --cflags --libs
#                 refraft)` (shared library, run with LD_LIBRARY_PATH),
#                 checks the SONAME, links librefraft.a statically, and runs
#                 both programs;
#   find_package  configures a tiny CMake project that uses
#                 find_package(refraft REQUIRED) and refraft::refraft (and
#                 refraft::refraft_static), builds it and runs it.
# The temporary directory is removed on exit.
set -euo pipefail

mode=${1:?mode}
build_dir=${2:?build dir}
src_dir=${3:?source dir}
cc=${4:-cc}
cmake=${5:-cmake}
example=$src_dir/examples/embed.c
# The project's own warning set: the example must compile cleanly.
warn=(-std=c11 -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Werror)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/refraft-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Run a program built against the installed copy; it must apply all three
# references and exit 0.
check_run() {
    local out
    out=$("$@") || fail "$1 exited non-zero; output: $out"
    echo "$out"
    [ "$(grep -c '^applied #' <<<"$out")" -eq 3 ] ||
        fail "$1 did not print three applied references"
}

if ! "$cmake" --install "$build_dir" --prefix "$prefix" >"$tmp/install.log"; then
    cat "$tmp/install.log" >&2
    fail "cmake --install $build_dir --prefix $prefix"
fi
echo "installed into $prefix:"
(cd "$prefix" && find . -type f -o -type l | sort | sed 's/^/  /')

pc=$(find "$prefix" -name refraft.pc -print -quit)
[ -n "$pc" ] || fail "no refraft.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/include/refraft/refraft.h" "$prefix/include/refraft/memlog.h" \
    "$libdir/librefraft.so" "$libdir/librefraft.a"; do
    [ -e "$f" ] || fail "missing $f"
done

case $mode in
pkgconfig)
    PKG_CONFIG_PATH=$(dirname "$pc")
    export PKG_CONFIG_PATH
    cflags=$(pkg-config --cflags refraft)
    libs=$(pkg-config --libs refraft)
    echo "pkg-config --cflags --libs refraft: $cflags $libs"
    # It must be the copy we just installed, not one elsewhere on the system.
    [ "$(pkg-config --path refraft 2>/dev/null || echo "$pc")" -ef "$pc" ] ||
        fail "pkg-config found another refraft.pc"
    [ "$(pkg-config --modversion refraft)" = "$(sed -n 's/^Version: //p' "$pc")" ] ||
        fail "pkg-config --modversion"

    # Versioned SONAME, libcurl-style: librefraft.so.<major>.
    soname=$(readelf -d "$libdir/librefraft.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    echo "SONAME: $soname"
    [ "$soname" = "librefraft.so.0" ] || fail "SONAME is '$soname', want librefraft.so.0"
    [ -e "$libdir/$soname" ] || fail "no $libdir/$soname"

    # Shared: exactly the command line an application would use.
    # shellcheck disable=SC2086
    "$cc" "${warn[@]}" -o "$tmp/embed_shared" "$example" $cflags $libs
    readelf -d "$tmp/embed_shared" | grep -q 'NEEDED.*\[librefraft\.so\.0\]' ||
        fail "embed_shared does not need librefraft.so.0"
    LD_LIBRARY_PATH=$libdir check_run "$tmp/embed_shared"

    # Static: the archive (plus whatever Libs.private lists) instead.
    static_libs=$(pkg-config --static --libs refraft | sed 's/-lrefraft\b/-l:librefraft.a/')
    echo "static link: $static_libs"
    # shellcheck disable=SC2086
    "$cc" "${warn[@]}" -o "$tmp/embed_static" "$example" $cflags $static_libs
    if readelf -d "$tmp/embed_static" | grep -q 'NEEDED.*librefraft'; then
        fail "embed_static still needs the shared librefraft"
    fi
    check_run "$tmp/embed_static"
    ;;
find_package)
    mkdir -p "$tmp/app"
    cat >"$tmp/app/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.22)
project(embed_app LANGUAGES C)
find_package(refraft 0.1 REQUIRED)
message(STATUS "refraft_DIR: \${refraft_DIR}")
if(NOT refraft_DIR MATCHES "^$prefix/")
  message(FATAL_ERROR "found refraft outside the test prefix: \${refraft_DIR}")
endif()
add_executable(embed_shared "$example")
target_link_libraries(embed_shared PRIVATE refraft::refraft)
add_executable(embed_static "$example")
target_link_libraries(embed_static PRIVATE refraft::refraft_static)
CMAKE
    "$cmake" -S "$tmp/app" -B "$tmp/app/build" \
        -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        -DCMAKE_C_FLAGS="${warn[*]}"
    "$cmake" --build "$tmp/app/build"
    # CMake gives the shared build an RPATH to the imported library.
    check_run "$tmp/app/build/embed_shared"
    check_run "$tmp/app/build/embed_static"
    ;;
*)
    fail "unknown mode '$mode'"
    ;;
esac
echo "PASS: install.$mode"
