// Package apiversion names the version of every document selmount writes:
// the explanations, check reports, mount, verify and relabel results printed
// with -o json|yaml, and the volume records nodevol keeps on disk. It sits
// at the bottom of the module and imports nothing, so that every package
// can refer to the one definition.
package apiversion

const (
	// Group is the API group of selmount's documents.
	Group = "selmount.io"
	// Version is the version within Group.
	Version = "v1alpha1"
	// Current is the apiVersion field of every document selmount writes
	// today: Group/Version.
	Current = Group + "/" + Version
)
