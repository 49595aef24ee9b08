#!/usr/bin/env bash
# Real SELinux kernel tests. Boots a stock Debian kernel with SELinux
# enforcing and Debian's reference policy under QEMU (hack/selinux-vm) and runs
# static Go test binaries inside it: context mounts of tmpfs and ext4 images,
# the kernel's refusals (second mount of a superblock, unknown label), the
# relabeler under enforcing mode with AVC checks, util-linux mount dropping
# context=, node volume tracking, the mount/verify commands, and csi-test
# against the reference CSI driver and its broken variants. Then measures
# mount -o context against relabeling at 1k, 10k and 100k files (the 1M run is
# in docs/benchmarks.md, with the command that reproduces it).
#
# Installs its Debian packages with apt-get (as root) when they are missing.
# Fails if any case fails. Environment:
#   SELINUX_VM_BENCH_SIZES  file counts to measure (default "1000 10000 100000"; "" to skip)
#   SELINUX_VM_WORK         work directory (default hack/selinux-vm/work)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
vm=$root/hack/selinux-vm
work=${SELINUX_VM_WORK:-$vm/work}
export SELINUX_VM_WORK=$work
sizes=${SELINUX_VM_BENCH_SIZES-1000 10000 100000}

pkgs=(qemu-system-x86 busybox-static cpio policycoreutils xz-utils e2fsprogs util-linux)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "selinux-vm: installing ${missing[*]}"
	[[ $(id -u) -eq 0 ]] || { echo "selinux-vm: need root to apt-get install ${missing[*]}" >&2; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash "$vm/build.sh"

# The payload: static test binaries, the command, a small ext4 image.
payload=$work/payload
rm -rf "$payload" && mkdir -p "$payload"
(cd "$vm" && CGO_ENABLED=0 go test -c -o "$payload/vmtest.test" ./vmtest)
CGO_ENABLED=0 go test -c -o "$payload/ctxmount.test" ./ctxmount
CGO_ENABLED=0 go test -c -o "$payload/nodevol.test" ./nodevol
CGO_ENABLED=0 go test -c -o "$payload/csitest.test" ./csitest
CGO_ENABLED=0 go build -o "$payload/selmount" ./cmd/selmount
# Each package's tests run in a directory named after it, with the testdata
# they read through relative paths.
mkdir -p "$payload/vmtest" "$payload/ctxmount" "$payload/nodevol" "$payload/csitest" "$payload/mountinfo"
cp -r mountinfo/testdata "$payload/mountinfo/"
mkdir -p "$payload/docs" && cp docs/csi-test.md "$payload/docs/" # csitest checks every rule is documented
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
for d in 0 1 2 3 4 5 6 7 8 9; do
	mkdir "$src/d$d"
	for f in $(seq 0 29); do echo "file $d/$f" > "$src/d$d/f$f"; done
done
ln -s d0/f0 "$src/link"
mkfs.ext4 -q -F -d "$src" "$payload/small.img" 16M
cat > "$payload/run.sh" <<'EOF'
# Runs inside the guest; every binary runs even if an earlier one failed.
export SELMOUNT_FIXTURES=/payload SELMOUNT_BIN=/payload/selmount
status=0
for t in vmtest ctxmount nodevol csitest; do
	echo "=== $t.test"
	(cd "$t" && "../$t.test" -test.v -test.count=1) || status=1
done
exit $status
EOF
echo "selinux-vm: running the test binaries in the guest"
log=$work/vmtest.log
if ! "$vm/run.sh" -m 1G -t 900 "$payload" > "$log" 2>&1; then
	cat "$log"
	echo "selinux-vm: FAILED in the SELinux guest:" >&2
	grep -a -- '--- FAIL' "$log" >&2 || true
	exit 1
fi
grep -a -E -- '^(=== [a-z]+\.test|\s*--- |PASS$|FAIL$)' "$log" || true
echo "selinux-vm: $(grep -ac -- '--- PASS' "$log") passed, $(grep -ac -- '--- SKIP' "$log") skipped, in the SELinux-enforcing guest"

# selmount csi-test against the reference driver's binary, through the
# "SELinux in a box" script that driver vendors run.
echo "selinux-vm: selmount csi-test of selmount-refdriver in the box (hack/selinux-vm/csi-test.sh)"
CGO_ENABLED=0 go build -o "$work/selmount-refdriver" ./cmd/selmount-refdriver
mkfs.ext4 -q -F "$work/refdriver-template.img" 16M
if ! "$vm/csi-test.sh" --file "$work/refdriver-template.img" --report "$work/csi-test.xml" \
	"$work/selmount-refdriver" --ext4-template /payload/files/refdriver-template.img -- -o junit --mount-options noatime; then
	echo "selinux-vm: csi-test of the reference driver FAILED (JUnit report in $work/csi-test.xml)" >&2
	exit 1
fi
status=0
"$vm/csi-test.sh" --file "$work/refdriver-template.img" "$work/selmount-refdriver" --broken drop-context \
	--ext4-template /payload/files/refdriver-template.img > "$work/csi-test-broken.log" 2>&1 || status=$?
if [[ $status -ne 1 ]] || ! grep -q 'FAIL  SEL-002 context-mount' "$work/csi-test-broken.log"; then
	cat "$work/csi-test-broken.log"
	echo "selinux-vm: csi-test did not catch the driver that drops context= (exit $status; want 1 and SEL-002 failed)" >&2
	exit 1
fi
echo "selinux-vm: csi-test: the reference driver passes, the one dropping context= fails SEL-002"

# The measurement: mount -o context against relabeling.
[[ -n $sizes ]] || exit 0
bench=$work/bench
mkdir -p "$bench/payload" "$work/images"
(cd "$vm" && CGO_ENABLED=0 go build -o "$bench/payload/labelbench" ./labelbench)
results=()
for n in $sizes; do
	img=$work/images/ext4-$n.img
	[[ -s $img ]] || "$bench/payload/labelbench" mkimage -n "$n" -o "$img"
	# A million cached inodes need a bigger guest, and a repetition there
	# takes about 25 minutes under emulation.
	# A 1,000-file run takes about 50 ms and varies by a fifth from one
	# run to the next under emulation: its median needs many.
	reps=15 mem=2G limit=1800
	((n >= 10000)) && reps=5
	((n >= 100000)) && reps=2
	((n >= 1000000)) && reps=1 mem=6G limit=14400
	echo "./labelbench run -n $n -disks /dev/vda,/dev/vdb,/dev/vdc -reps $reps" > "$bench/payload/run.sh"
	echo "selinux-vm: measuring $n files ($reps repetitions)"
	out=$bench/results-$n.jsonl
	if ! "$vm/run.sh" -m "$mem" -c 2 -t "$limit" -d "$img" -d "$img" -d "$img" "$bench/payload" > "$out" 2>&1; then
		cat "$out" >&2
		echo "selinux-vm: measurement at $n files FAILED" >&2
		exit 1
	fi
	results+=("$out")
done
(IFS=,; "$bench/payload/labelbench" report -in "${results[*]}" -svg "$bench/mount-vs-relabel.svg")
echo "selinux-vm: plot in $bench/mount-vs-relabel.svg"
