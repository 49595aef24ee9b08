package check

import "fmt"

// FailOn is the level of findings that fails a check: the exit status of
// `selmount check --fail-on`, a CI gate or an upgrade gate.
type FailOn string

// Levels, strictest last.
const (
	// FailOnNone never fails.
	FailOnNone FailOn = "none"
	// FailOnConflict fails on a conflict of error severity: one that makes
	// a pod fail to start, now or after the upgrade.
	FailOnConflict FailOn = "conflict"
	// FailOnWarning fails on any finding of error or warning severity.
	FailOnWarning FailOn = "warning"
)

// ParseFailOn returns the level named s: conflict, warning or none.
func ParseFailOn(s string) (FailOn, error) {
	switch f := FailOn(s); f {
	case FailOnNone, FailOnConflict, FailOnWarning:
		return f, nil
	}
	return "", fmt.Errorf("%q: want conflict, warning or none", s)
}

// Fails reports whether a finding of r is at or above level f. An unknown
// level fails nothing.
func (r *Report) Fails(f FailOn) bool {
	for i := range r.Findings {
		if f.matches(&r.Findings[i]) {
			return true
		}
	}
	return false
}

func (f FailOn) matches(x *Finding) bool {
	switch f {
	case FailOnConflict:
		return x.Type == TypeConflict && x.Severity == SeverityError
	case FailOnWarning:
		return x.Severity == SeverityError || x.Severity == SeverityWarning
	}
	return false
}
