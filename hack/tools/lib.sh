# Shared by hack/tools/*.sh: builds a Go command from the Go module proxy into
# hack/tools/bin/<name>-<version>/ (gitignored) once, then reuses it.
# Usage: bin=$(go_tool_install <name> <package@version> [ldflags]) || exit;
# prints the binary's path, or fails.
go_tool_install() {
  local name=$1 pkgver=$2 ldflags=${3:-}
  local version=${pkgver##*@}
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  local dir=$root/bin/$name-$version
  if [[ ! -x $dir/$name ]]; then
    echo "hack/tools: building $name $version from the Go module proxy (once; cached in hack/tools/bin/$name-$version)" >&2
    local start=$SECONDS tmp
    mkdir -p "$root/bin"
    # A private directory, renamed into place: two runs at once both succeed.
    tmp=$(mktemp -d "$dir.tmp.XXXXXX")
    if ! GOBIN=$tmp CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local go install -trimpath -ldflags "-s -w $ldflags" "$pkgver" >&2; then
      rm -rf "$tmp"
      echo "hack/tools: could not build $pkgver (see above)" >&2
      return 1
    fi
    if ! mv -T "$tmp" "$dir" 2>/dev/null; then
      rm -rf "$tmp" # another run got there first
    fi
    echo "hack/tools: built $name $version in $((SECONDS - start))s" >&2
  fi
  echo "$dir/$name"
}
