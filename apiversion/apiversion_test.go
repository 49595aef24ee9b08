package apiversion

import "testing"

// The documents' apiVersion is a published format: a change must be
// deliberate, not a side effect of renaming Group or Version.
func TestCurrent(t *testing.T) {
	if Current != "selmount.io/v1alpha1" {
		t.Fatalf("Current = %q, want selmount.io/v1alpha1", Current)
	}
}
