#!/usr/bin/env bash
# Boots the SELinux-enforcing test VM built by build.sh and runs a payload:
#
#   run.sh [-m MEM] [-c CPUS] [-t TIMEOUT] [-d DISK]... PAYLOAD_DIR
#
# PAYLOAD_DIR is copied to /payload in the guest and /payload/run.sh is run
# there, as root (kernel_t) in enforcing mode, with its output on the second
# serial port. Each DISK (a raw image) becomes /dev/vda, /dev/vdb, ... in
# order; writes go to a throw-away snapshot, the image is never changed.
# The guest's output is printed; the exit status is run.sh's in the guest (or
# 124 on a timeout, 125 when the guest did not report one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${SELINUX_VM_WORK:-$here/work}
mem=1G cpus=1 timeout=600 disks=()
while getopts "m:c:t:d:" opt; do
	case $opt in
	m) mem=$OPTARG ;;
	c) cpus=$OPTARG ;;
	t) timeout=$OPTARG ;;
	d) disks+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 1 && -f $1/run.sh ]] || { echo "usage: run.sh [-m MEM] [-c CPUS] [-t TIMEOUT] [-d DISK]... PAYLOAD_DIR (with a run.sh)" >&2; exit 2; }
payload=$(cd "$1" && pwd)
[[ -s $work/kernel.path ]] || { echo "run.sh: run build.sh first" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/stage/payload"
cp -a "$payload/." "$tmp/stage/payload/"
(cd "$tmp/stage" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$tmp/payload.cpio.gz"
# The kernel unpacks concatenated archives one after the other.
cat "$(cat "$work/initrd.path")" "$tmp/payload.cpio.gz" > "$tmp/initrd"

args=(-accel tcg -cpu max -M pc -m "$mem" -smp "$cpus" -nodefaults -no-user-config -display none -no-reboot
	-kernel "$(cat "$work/kernel.path")" -initrd "$tmp/initrd"
	-append "console=ttyS0 security=selinux panic=-1 quiet rdinit=/init"
	-serial "file:$tmp/console.log" -serial "file:$tmp/out.log")
for d in "${disks[@]}"; do
	args+=(-drive "file=$d,format=raw,if=virtio,snapshot=on,cache=unsafe")
done
status=0
timeout "$timeout" qemu-system-x86_64 "${args[@]}" || status=$?
# The guest's output, without the carriage returns of the serial line.
tr -d '\r' < "$tmp/out.log" | grep -av '^SELINUX-VM-EXIT=' || true
if [[ $status -eq 124 ]]; then
	echo "run.sh: the VM did not finish within ${timeout}s; console:" >&2
	tail -n 30 "$tmp/console.log" >&2
	exit 124
fi
code=$(tr -d "\r\000" < "$tmp/out.log" | sed -n 's/^SELINUX-VM-EXIT=//p' | tail -1)
if [[ -z $code ]]; then
	echo "run.sh: the guest reported no exit status (qemu status $status); console:" >&2
	tail -n 30 "$tmp/console.log" >&2
	exit 125
fi
exit "$code"
