module github.com/selmount/selmount/bench

go 1.26.8

require github.com/selmount/selmount v0.0.0

require (
	github.com/cyphar/filepath-securejoin v0.5.1 // indirect
	github.com/opencontainers/selinux v1.15.1
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/selmount/selmount => ../
