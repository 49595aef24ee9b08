#!/usr/bin/env bash
# SELinux in a box for CSI driver CI: boots the SELinux-enforcing test VM
# (build.sh, run.sh) with a driver's node plugin binary and `selmount
# csi-test` inside, and checks that the driver keeps the seLinuxMount promise.
#
#   csi-test.sh [-m MEM] [-t TIMEOUT] [--file PATH]... [--report FILE]
#               [--no-selinux-config] DRIVER_BINARY [DRIVER_ARG]... [-- CSI_TEST_ARG...]
#
# In the guest (root, kernel_t, enforcing, /etc/selinux/config present unless
# --no-selinux-config) the driver is started as DRIVER_BINARY DRIVER_ARG...,
# with --endpoint=unix:///csi/csi.sock added unless an argument already names
# /csi/csi.sock, and CSI_ENDPOINT set to the same. A dynamically linked
# driver gets the libraries ldd lists on this machine. Each --file is copied
# to /payload/files/, which is also on PATH (templates, static mkfs tools).
# Then
#
#   selmount csi-test --endpoint unix:///csi/csi.sock \
#       --controller-endpoint unix:///csi/csi.sock --plugin-pid <driver> CSI_TEST_ARG...
#
# runs (--controller-endpoint is left out when CSI_TEST_ARG has
# --volume-handle). The report goes to standard output, or to FILE with
# --report (the guest's other output then goes to standard error). The exit
# status is csi-test's: 0 every rule passed or was skipped, 1 a rule failed,
# 2 csi-test could not run; 3 when the driver did not create its socket
# within a minute; 124 on a timeout (default 900 s).
#
# Needs the Debian packages of build.sh (qemu-system-x86 busybox-static cpio
# policycoreutils xz-utils) and Go, to build selmount from this checkout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${SELINUX_VM_WORK:-$here/work}
export SELINUX_VM_WORK=$work

usage() {
	echo "usage: csi-test.sh [-m MEM] [-t TIMEOUT] [--file PATH]... [--report FILE] [--no-selinux-config] DRIVER_BINARY [DRIVER_ARG]... [-- CSI_TEST_ARG...]" >&2
	exit 2
}
mem=1G timeout=900 files=() report="" config=1
while (($#)); do
	case $1 in
	-m) mem=${2:?}; shift 2 ;;
	-t) timeout=${2:?}; shift 2 ;;
	--file) files+=("${2:?}"); shift 2 ;;
	--report) report=${2:?}; shift 2 ;;
	--no-selinux-config) config=0; shift ;;
	-h | --help) usage ;;
	-*) echo "csi-test.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
(($#)) || usage
driver=$1
shift
[[ -f $driver && -x $driver ]] || { echo "csi-test.sh: $driver is not an executable file" >&2; exit 2; }
driver_args=() test_args=()
while (($#)); do
	if [[ $1 == -- ]]; then
		shift
		test_args=("$@")
		break
	fi
	driver_args+=("$1")
	shift
done
for f in "${files[@]}"; do
	[[ -f $f ]] || { echo "csi-test.sh: --file $f is not a file" >&2; exit 2; }
done
command -v qemu-system-x86_64 >/dev/null || {
	echo "csi-test.sh: qemu-system-x86_64 not found: apt-get install qemu-system-x86 busybox-static cpio policycoreutils xz-utils" >&2
	exit 2
}

bash "$here/build.sh" >&2

payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
mkdir -p "$payload/files" "$payload/lib"
(cd "$root" && CGO_ENABLED=0 go build -o "$payload/selmount" ./cmd/selmount)
cp "$driver" "$payload/driver"
for f in "${files[@]}"; do cp "$f" "$payload/files/"; done

# A dynamic driver runs through its own loader with its libraries.
run_driver=/payload/driver
if ldd "$driver" >/dev/null 2>&1; then
	loader=""
	for lib in $(ldd "$driver" | grep -o '/[^ ]*'); do
		cp -L "$lib" "$payload/lib/"
		[[ $lib == */ld-linux* ]] && loader=/payload/lib/$(basename "$lib")
	done
	[[ -n $loader ]] || { echo "csi-test.sh: $driver is dynamic but ldd names no loader" >&2; exit 2; }
	run_driver="$loader --library-path /payload/lib /payload/driver"
fi

# Arguments are written single-quoted for the guest's busybox sh.
q() {
	local s
	for s in "$@"; do printf "'%s' " "${s//\'/\'\\\'\'}"; done
}
endpoint=unix:///csi/csi.sock
printf '%s\n' "${driver_args[@]}" | grep -q /csi/csi.sock || driver_args+=("--endpoint=$endpoint")
printf '%s\n' "${test_args[@]}" | grep -q -- '^--volume-handle' || test_args=(--controller-endpoint "$endpoint" "${test_args[@]}")

cat > "$payload/run.sh" <<EOF
mkdir -p /csi /etc/selinux
[ $config = 1 ] && printf 'SELINUX=enforcing\nSELINUXTYPE=default\n' > /etc/selinux/config
export PATH=/payload/files:\$PATH CSI_ENDPOINT=$endpoint
$run_driver $(q "${driver_args[@]}") > /tmp/driver.log 2>&1 &
pid=\$!
n=0
while [ ! -S /csi/csi.sock ]; do
	n=\$((n + 1))
	if [ \$n -gt 60 ] || ! kill -0 \$pid 2>/dev/null; then
		echo "csi-test.sh: the driver did not create /csi/csi.sock; its output:"
		cat /tmp/driver.log
		exit 3
	fi
	sleep 1
done
/payload/selmount csi-test --endpoint $endpoint --plugin-pid \$pid $(q "${test_args[@]}") > /tmp/report 2> /tmp/csi-test.err
status=\$?
echo "=== csi-test report"
cat /tmp/report
echo "=== end of csi-test report"
cat /tmp/csi-test.err
echo "=== driver log (last 40 lines)"
tail -n 40 /tmp/driver.log
kill \$pid
exit \$status
EOF

status=0
out=$payload/out.log
"$here/run.sh" -m "$mem" -t "$timeout" "$payload" > "$out" 2>&1 || status=$?
if [[ -n $report ]]; then
	sed -n '/^=== csi-test report$/,/^=== end of csi-test report$/p' "$out" | sed '1d;$d' > "$report"
	sed '/^=== csi-test report$/,/^=== end of csi-test report$/d' "$out" >&2
else
	cat "$out"
fi
exit "$status"
