// Command selmount-refdriver is the reference CSI driver that `selmount
// csi-test` is tested against (package csitest/refdriver): ext4 volumes on
// loop devices, or tmpfs volumes standing in for an NFS share, mounted with
// the kubelet's context= through ctxmount; --broken selects a variant that
// breaks the seLinuxMount promise. For tests, not for production.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/selmount/selmount/csitest/refdriver"
)

func main() {
	endpoint := flag.String("endpoint", "unix:///tmp/selmount-refdriver.sock", "the Unix socket to serve CSI on")
	state := flag.String("state-dir", "/var/lib/selmount-refdriver", "where volume images are kept (created if missing)")
	mode := flag.String("mode", string(refdriver.ModeExt4), "volume kind: ext4 (loop-device images) or shared (tmpfs standing in for an NFS share)")
	broken := flag.String("broken", "", "break the seLinuxMount promise: drop-context, util-linux, ignore-flags or share-superblock (with --mode shared)")
	template := flag.String("ext4-template", "", "an empty ext4 image copied for each new volume; default: mkfs.ext4")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "selmount-refdriver: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if err := os.MkdirAll(*state, 0o750); err != nil {
		fmt.Fprintln(os.Stderr, "selmount-refdriver:", err)
		os.Exit(2)
	}
	srv, err := refdriver.New(refdriver.Options{StateDir: *state, Mode: refdriver.Mode(*mode), Broken: refdriver.Broken(*broken), Template: *template})
	if err != nil {
		fmt.Fprintln(os.Stderr, "selmount-refdriver:", err)
		os.Exit(2)
	}
	l, err := refdriver.Listen(*endpoint)
	if err != nil {
		fmt.Fprintln(os.Stderr, "selmount-refdriver:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fmt.Fprintf(os.Stderr, "selmount-refdriver: serving %s (mode %s, broken %q) on %s\n", refdriver.Name, *mode, *broken, *endpoint)
	if err := refdriver.Serve(ctx, l, srv); err != nil {
		fmt.Fprintln(os.Stderr, "selmount-refdriver:", err)
		os.Exit(1)
	}
}
