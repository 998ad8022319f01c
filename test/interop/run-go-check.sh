#!/bin/sh
# Builds test/interop/notecheck (a Go program using golang.org/x/mod/sumdb/note and
# sumdb/tlog) offline, against the x/mod sources of Debian's golang-golang-x-mod-dev,
# and runs it.
#
#   test/interop/run-go-check.sh build OUTDIR        builds OUTDIR/notecheck, prints its path
#   test/interop/run-go-check.sh note|tiles ARGS...  builds into a temp dir, runs, cleans up
#
# Needs: apt-get install -y golang-go golang-golang-x-mod-dev
# GLASSHOUSE_GO_XMOD may point at another golang.org/x/mod source tree.
# Exit status: notecheck's (0 verified, 1 rejected, 2 usage); 3 when Go or x/mod is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
xmod=${GLASSHOUSE_GO_XMOD:-/usr/share/gocode/src/golang.org/x/mod}

build() {
  out=$1
  if ! command -v go >/dev/null 2>&1; then
    echo "run-go-check: go not found; apt-get install -y golang-go golang-golang-x-mod-dev" >&2
    exit 3
  fi
  if [ ! -f "$xmod/sumdb/note/note.go" ] || [ ! -f "$xmod/sumdb/tlog/tlog.go" ]; then
    echo "run-go-check: golang.org/x/mod not found at $xmod; apt-get install -y golang-golang-x-mod-dev" >&2
    exit 3
  fi
  gopath=$(mktemp -d)
  mkdir -p "$gopath/src/golang.org/x" "$gopath/src/notecheck" "$out"
  ln -s "$xmod" "$gopath/src/golang.org/x/mod"
  cp "$here/notecheck/main.go" "$gopath/src/notecheck/main.go"
  # GOPATH mode: no go.mod, no go.sum, no module proxy, so the build never touches the network.
  cache=$(go env GOCACHE 2>/dev/null || true)
  if [ -z "$cache" ] || [ "$cache" = off ]; then cache="$gopath/cache"; fi
  status=0
  (cd "$gopath/src/notecheck" &&
    GO111MODULE=off GOPATH="$gopath" GOFLAGS= GOPROXY=off GOTOOLCHAIN=local GOCACHE="$cache" \
      go build -o "$out/notecheck" .) || status=$?
  rm -rf "$gopath"
  [ "$status" -eq 0 ] || exit "$status"
}

case "${1:-}" in
  build)
    [ $# -eq 2 ] || { echo "usage: $0 build OUTDIR" >&2; exit 2; }
    build "$2"
    echo "$2/notecheck"
    ;;
  note | tiles)
    bin=$(mktemp -d)
    trap 'rm -rf "$bin"' EXIT
    build "$bin"
    status=0
    "$bin/notecheck" "$@" || status=$?
    exit "$status"
    ;;
  *)
    echo "usage: $0 build OUTDIR | note|tiles ARGS..." >&2
    exit 2
    ;;
esac
