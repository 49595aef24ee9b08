module github.com/selmount/selmount/hack/selinux-vm

go 1.26.8

require (
	github.com/opencontainers/selinux v1.15.1
	github.com/selmount/selmount v0.0.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/cyphar/filepath-securejoin v0.5.1 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/moby/sys/mountinfo v0.7.2 // indirect
	k8s.io/klog/v2 v2.140.0 // indirect
	k8s.io/mount-utils v0.37.2 // indirect
	k8s.io/utils v0.0.0-20260626114624-be93311217bd // indirect
)

replace github.com/selmount/selmount => ../..
