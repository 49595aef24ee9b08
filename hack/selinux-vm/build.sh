#!/usr/bin/env bash
# Prepares the SELinux test VM in $SELINUX_VM_WORK (default: work/ next to
# this script): a stock Debian kernel, its modules for ext4, loop devices and
# virtio disks, Debian's reference policy compiled (with container.cil) into a
# private root, and a base initramfs (busybox, util-linux mount with its
# libraries, the policy, /init). Nothing is installed on the host; the
# kernel and policy packages are only downloaded and unpacked.
#
# Needs (Debian packages): qemu-system-x86 busybox-static cpio policycoreutils
# xz-utils; hack/test.d/40-selinux-vm.sh installs them. Steps whose output
# exists are skipped, so a second run takes a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${SELINUX_VM_WORK:-$here/work}
mkdir -p "$work/debs"

kpkg=${SELINUX_VM_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')}
[[ -n $kpkg ]] || { echo "build.sh: no linux-image-*-amd64 package found (apt-get update?)" >&2; exit 1; }
kver=${kpkg#linux-image-}
echo "selinux-vm: kernel $kver"

fetch() { # package...
	(cd "$work/debs" && for p in "$@"; do
		ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
		ls "${p}"_*.deb >/dev/null 2>&1 || { echo "build.sh: could not download $p" >&2; exit 1; }
	done)
}

# 1. Kernel: the uncompressed vmlinux boots faster under emulation.
kroot=$work/kernel-$kver
if [[ ! -s $kroot/vmlinux ]]; then
	fetch "$kpkg"
	rm -rf "$kroot.tmp" && mkdir -p "$kroot.tmp"
	dpkg-deb -x "$work"/debs/"$kpkg"_*.deb "$kroot.tmp/root"
	bz=$kroot.tmp/root/boot/vmlinuz-$kver
	off=$(grep -abo -m1 $'\xfd7zXZ\x00' "$bz" | head -1 | cut -d: -f1 || true)
	if [[ -n $off ]]; then
		tail -c +$((off + 1)) "$bz" | xz -dc --single-stream > "$kroot.tmp/vmlinux" 2>/dev/null || true
	fi
	if [[ $(head -c 4 "$kroot.tmp/vmlinux" 2>/dev/null | od -An -c | tr -d ' ') != 177ELF ]]; then
		echo "selinux-vm: could not extract vmlinux, booting the bzImage" >&2
		cp "$bz" "$kroot.tmp/vmlinux"
	fi
	mv "$kroot.tmp" "$kroot"
fi

# 2. Policy: every module of selinux-policy-default plus container.cil,
# compiled into a private root so that the host's policy store is untouched.
proot=$work/policy
if [[ ! -s $proot/policy.33 || $here/container.cil -nt $proot/policy.33 ]]; then
	fetch selinux-policy-default
	rm -rf "$proot" && mkdir -p "$proot/pkg" "$proot/root/etc/selinux" "$proot/root/var/lib/selinux"
	dpkg-deb -x "$work"/debs/selinux-policy-default_*.deb "$proot/pkg"
	mods=$proot/pkg/usr/share/selinux/default
	args=()
	for m in $(cat "$mods/.modules"); do args+=(-i "$mods/$m.pp.bz2"); done
	cp /etc/selinux/semanage.conf "$proot/root/etc/selinux/" 2>/dev/null || true
	echo "selinux-vm: compiling the policy (${#args[@]} arguments)"
	semodule -p "$proot/root" -s default -n -X 100 "${args[@]}" -i "$here/container.cil"
	policy=$(ls "$proot"/root/etc/selinux/default/policy/policy.* | sort -V | tail -1)
	cp "$policy" "$proot/policy.33"
fi

# 3. Base initramfs.
base=$work/base-$kver.cpio.gz
if [[ ! -s $base || $here/init -nt $base || $proot/policy.33 -nt $base ]]; then
	stage=$work/base-stage
	rm -rf "$stage" && mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,mnt,payload,etc,root}
	cp /bin/busybox "$stage/bin/busybox"
	cp "$here/init" "$stage/init" && chmod 755 "$stage/init"
	cp "$proot/policy.33" "$stage/policy.33"
	# Modules in dependency order; built-in ones are skipped.
	mdir=$kroot/root/lib/modules/$kver
	declare -A done_mod=()
	order=()
	add_module() {
		local name=$1 f d
		[[ -n ${done_mod[$name]:-} ]] && return
		done_mod[$name]=1
		f=$(find "$mdir/kernel" \( -name "$name.ko" -o -name "$name.ko.xz" \) | head -1)
		if [[ -z $f ]]; then
			grep -q "/$name.ko" "$mdir/modules.builtin" || echo "selinux-vm: module $name not found" >&2
			return
		fi
		if [[ $f == *.xz ]]; then xz -dc "$f" > "$stage/lib/modules/$name.ko"; else cp "$f" "$stage/lib/modules/$name.ko"; fi
		for d in $(grep -ao 'depends=[a-z0-9_,-]*' "$stage/lib/modules/$name.ko" | head -1 | cut -d= -f2 | tr ',' ' '); do
			add_module "$d"
		done
		order+=("$name")
	}
	for m in crc32c_generic ext4 loop virtio_pci virtio_blk; do add_module "$m"; done
	printf '%s\n' "${order[@]}" > "$stage/lib/modules/load-order"
	# util-linux mount and umount with their libraries, for the helper
	# (k8s.io/mount-utils) cases; busybox provides everything else.
	for b in /usr/bin/mount /usr/bin/umount; do
		cp "$b" "$stage$b"
		for lib in $(ldd "$b" | grep -o '/[^ ]*'); do
			mkdir -p "$stage$(dirname "$lib")"
			cp -L "$lib" "$stage$lib"
		done
	done
	(cd "$stage" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$base.tmp"
	mv "$base.tmp" "$base"
fi
echo "$kroot/vmlinux" > "$work/kernel.path"
echo "$base" > "$work/initrd.path"
echo "selinux-vm: ready ($(du -h "$base" | cut -f1) base initramfs)"
