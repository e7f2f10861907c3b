#!/bin/sh
# Build checks: only gc_* symbols are exported, the library builds clean
# with clang, and an installed copy is found through pkg-config and links.
set -e
make -s symbols
make -s clang >/dev/null
echo "clang: clean build"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc examples/demo.c $(pkg-config --cflags --libs gcheap) -o "$prefix/demo" \
    -Wl,-rpath,"$prefix/lib"
"$prefix/demo" >/dev/null
echo "install: pkg-config build of the demo runs"
if command -v clang-format >/dev/null; then
    make -s format-check
else
    echo "format: clang-format not installed, not checked"
fi
