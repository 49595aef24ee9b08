package kubever_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/selmount/selmount/kubever"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    int // minor
		wantErr string
	}{
		{in: "1.37", want: 37},
		{in: "v1.37", want: 37},
		{in: "1.37.2", want: 37},
		{in: "v1.37.2", want: 37},
		{in: "1.30.0-eks-1", want: 30},
		{in: "v1.33.1-gke.1000", want: 33},
		{in: "v1.31.4+k3s1", want: 31},
		{in: "1.36.0-rc.1", want: 36},
		{in: " 1.25 ", want: 25},
		{in: "1.25", want: 25},
		{in: "1.38", want: 38},
		{in: "1.37.0", want: 37},

		{in: "1.24", wantErr: `unsupported Kubernetes version "1.24": selmount models 1.25 to 1.38 (SELinux mount support starts in 1.25)`},
		{in: "1.39", wantErr: `unsupported Kubernetes version "1.39": selmount models 1.25 to 1.38 (SELinux mount support starts in 1.25)`},
		{in: "v1.0.0", wantErr: `unsupported Kubernetes version "v1.0.0": selmount models 1.25 to 1.38 (SELinux mount support starts in 1.25)`},
		{in: "2.0", wantErr: `invalid Kubernetes version "2.0": only 1.x exists`},
		{in: "0.37", wantErr: `invalid Kubernetes version "0.37": only 1.x exists`},
		{in: "1.x", wantErr: `invalid Kubernetes version "1.x": "x" is not a number`},
		{in: "", wantErr: `invalid Kubernetes version "": want MAJOR.MINOR, e.g. 1.37`},
		{in: "1", wantErr: `invalid Kubernetes version "1": want MAJOR.MINOR, e.g. 1.37`},
		{in: "1.37.2.1", wantErr: `invalid Kubernetes version "1.37.2.1": want MAJOR.MINOR, e.g. 1.37`},
		{in: "1.037", wantErr: `invalid Kubernetes version "1.037": "037" is not a number`},
		{in: "01.37", wantErr: `invalid Kubernetes version "01.37": "01" is not a number`},
		{in: "1.37.02", wantErr: `invalid Kubernetes version "1.37.02": "02" is not a number`},
		{in: "1.", wantErr: `invalid Kubernetes version "1.": "" is not a number`},
		{in: "1.-30", wantErr: `invalid Kubernetes version "1.-30": "" is not a number`},
		{in: "1.3 7", wantErr: `invalid Kubernetes version "1.3 7": "3 7" is not a number`},
		{in: "V1.37", wantErr: `invalid Kubernetes version "V1.37": "V1" is not a number`},
		{in: "latest", wantErr: `invalid Kubernetes version "latest": want MAJOR.MINOR, e.g. 1.37`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := kubever.ParseVersion(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseVersion(%q) = %v, want error %q", tt.in, v, tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("ParseVersion(%q) error:\n got %q\nwant %q", tt.in, err, tt.wantErr)
				}
				if !v.IsZero() {
					t.Errorf("ParseVersion(%q) returned %v with an error, want the zero Version", tt.in, v)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tt.in, err)
			}
			if v.Minor() != tt.want || v != kubever.V(tt.want) {
				t.Errorf("ParseVersion(%q) = %v, want 1.%d", tt.in, v, tt.want)
			}
		})
	}
}

func TestVersionMethods(t *testing.T) {
	v := kubever.V(37)
	if v.String() != "1.37" {
		t.Errorf("String() = %q", v.String())
	}
	if kubever.Latest != kubever.V(37) || kubever.Oldest != kubever.V(25) || kubever.Newest != kubever.V(38) {
		t.Errorf("Oldest, Latest, Newest = %v, %v, %v; want 1.25, 1.37, 1.38", kubever.Oldest, kubever.Latest, kubever.Newest)
	}
	if !v.AtLeast(37) || !v.AtLeast(25) || v.AtLeast(38) {
		t.Error("AtLeast is wrong around 1.37")
	}
	if v.Compare(kubever.V(36)) != 1 || v.Compare(kubever.V(37)) != 0 || v.Compare(kubever.V(38)) != -1 {
		t.Error("Compare is wrong around 1.37")
	}
	if (kubever.Version{}).IsZero() != true || v.IsZero() {
		t.Error("IsZero is wrong")
	}

	vs := kubever.Versions()
	if len(vs) != 14 || vs[0] != kubever.Oldest || vs[len(vs)-1] != kubever.Newest {
		t.Fatalf("Versions() = %v, want 1.25 to 1.38", vs)
	}
	for i := 1; i < len(vs); i++ {
		if vs[i].Minor() != vs[i-1].Minor()+1 {
			t.Errorf("Versions() not consecutive at %v", vs[i])
		}
	}
}

func TestVersionText(t *testing.T) {
	type doc struct {
		V kubever.Version `json:"v"`
	}
	b, err := json.Marshal(doc{V: kubever.V(36)})
	if err != nil || string(b) != `{"v":"1.36"}` {
		t.Errorf("Marshal = %s, %v; want {\"v\":\"1.36\"}", b, err)
	}
	b, err = json.Marshal(doc{})
	if err != nil || string(b) != `{"v":""}` {
		t.Errorf("Marshal(zero) = %s, %v; want {\"v\":\"\"}", b, err)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"v":"v1.30.2"}`), &d); err != nil || d.V != kubever.V(30) {
		t.Errorf("Unmarshal = %v, %v; want 1.30", d.V, err)
	}
	if err := json.Unmarshal([]byte(`{"v":""}`), &d); err != nil || !d.V.IsZero() {
		t.Errorf("Unmarshal(\"\") = %v, %v; want the zero Version", d.V, err)
	}
	if err := json.Unmarshal([]byte(`{"v":"1.24"}`), &d); err == nil {
		t.Error("Unmarshal(1.24) succeeded, want an error")
	}
}

// spec is a GateSpec in short form: "-" when the version does not know the
// gate, else "<STAGE> on|off[ locked][ projected]".
func spec(s kubever.GateSpec, ok bool) string {
	if !ok {
		return "-"
	}
	out := fmt.Sprintf("%s %s", s.Stage, map[bool]string{true: "on", false: "off"}[s.Default])
	if s.Locked {
		out += " locked"
	}
	if s.Projected {
		out += " projected"
	}
	return out
}

// TestSpec checks every modelled gate in every version against upstream's
// pkg/features/kube_features.go (v1.25.16 ... v1.32.13 and v1.37.2, whose
// versioned specs cover 1.32 to 1.37); 1.38 is projected from the "Lock in
// 1.38" comment of SELinuxMount in v1.37.2.
func TestSpec(t *testing.T) {
	const (
		absent      = "-"
		alphaOff    = "ALPHA off"
		betaOff     = "BETA off"
		betaOn      = "BETA on"
		gaOn        = "GA on"
		gaLocked    = "GA on locked"
		gaProjected = "GA on locked projected"
	)
	want := map[int]map[string]string{
		25: {kubever.SELinuxMountReadWriteOncePod: alphaOff, kubever.SELinuxMount: absent, kubever.SELinuxChangePolicy: absent, kubever.ReadWriteOncePod: alphaOff},
		26: {kubever.SELinuxMountReadWriteOncePod: alphaOff, kubever.SELinuxMount: absent, kubever.SELinuxChangePolicy: absent, kubever.ReadWriteOncePod: alphaOff},
		27: {kubever.SELinuxMountReadWriteOncePod: betaOff, kubever.SELinuxMount: absent, kubever.SELinuxChangePolicy: absent, kubever.ReadWriteOncePod: betaOn},
		28: {kubever.SELinuxMountReadWriteOncePod: betaOn, kubever.SELinuxMount: absent, kubever.SELinuxChangePolicy: absent, kubever.ReadWriteOncePod: betaOn},
		29: {kubever.SELinuxMountReadWriteOncePod: betaOn, kubever.SELinuxMount: absent, kubever.SELinuxChangePolicy: absent, kubever.ReadWriteOncePod: gaLocked},
		30: {kubever.SELinuxMountReadWriteOncePod: betaOn, kubever.SELinuxMount: alphaOff, kubever.SELinuxChangePolicy: absent, kubever.ReadWriteOncePod: gaLocked},
		31: {kubever.SELinuxMountReadWriteOncePod: betaOn, kubever.SELinuxMount: alphaOff, kubever.SELinuxChangePolicy: absent, kubever.ReadWriteOncePod: absent},
		32: {kubever.SELinuxMountReadWriteOncePod: betaOn, kubever.SELinuxMount: alphaOff, kubever.SELinuxChangePolicy: alphaOff, kubever.ReadWriteOncePod: absent},
		33: {kubever.SELinuxMountReadWriteOncePod: betaOn, kubever.SELinuxMount: betaOff, kubever.SELinuxChangePolicy: betaOn, kubever.ReadWriteOncePod: absent},
		34: {kubever.SELinuxMountReadWriteOncePod: betaOn, kubever.SELinuxMount: betaOff, kubever.SELinuxChangePolicy: betaOn, kubever.ReadWriteOncePod: absent},
		35: {kubever.SELinuxMountReadWriteOncePod: betaOn, kubever.SELinuxMount: betaOff, kubever.SELinuxChangePolicy: betaOn, kubever.ReadWriteOncePod: absent},
		36: {kubever.SELinuxMountReadWriteOncePod: gaLocked, kubever.SELinuxMount: betaOff, kubever.SELinuxChangePolicy: gaLocked, kubever.ReadWriteOncePod: absent},
		37: {kubever.SELinuxMountReadWriteOncePod: gaLocked, kubever.SELinuxMount: gaOn, kubever.SELinuxChangePolicy: gaLocked, kubever.ReadWriteOncePod: absent},
		38: {kubever.SELinuxMountReadWriteOncePod: gaLocked, kubever.SELinuxMount: gaProjected, kubever.SELinuxChangePolicy: gaLocked, kubever.ReadWriteOncePod: absent},
	}
	if got := kubever.GateNames(); !reflect.DeepEqual(got, []string{"ReadWriteOncePod", "SELinuxChangePolicy", "SELinuxMount", "SELinuxMountReadWriteOncePod"}) {
		t.Errorf("GateNames() = %v", got)
	}
	for _, v := range kubever.Versions() {
		for _, gate := range kubever.GateNames() {
			t.Run(fmt.Sprintf("%s/%s", v, gate), func(t *testing.T) {
				s, ok := kubever.Spec(v, gate)
				w := want[v.Minor()][gate]
				if got := spec(s, ok); got != w {
					t.Errorf("Spec(%v, %s) = %q, want %q", v, gate, got, w)
				}
				if ok && s.Name != gate {
					t.Errorf("Spec(%v, %s).Name = %q", v, gate, s.Name)
				}

				// NewGates without overrides gives the defaults.
				g, err := kubever.NewGates(v, nil)
				if err != nil {
					t.Fatalf("NewGates(%v, nil): %v", v, err)
				}
				if g.Version() != v {
					t.Errorf("Version() = %v, want %v", g.Version(), v)
				}
				if g.Known(gate) != ok {
					t.Errorf("Known(%s) = %v, want %v", gate, g.Known(gate), ok)
				}
				wantOn := ok && s.Default
				if gate == kubever.ReadWriteOncePod && v.AtLeast(31) {
					wantOn = true // removed as GA: the feature is always on
				}
				if g.Enabled(gate) != wantOn {
					t.Errorf("Enabled(%s) = %v, want %v", gate, g.Enabled(gate), wantOn)
				}
				if g.Overridden(gate) {
					t.Errorf("Overridden(%s) without overrides", gate)
				}
				if val, present := g.Map()[gate]; present != ok || present && val != s.Default {
					t.Errorf("Map()[%s] = %v, %v; want %v, %v", gate, val, present, s.Default, ok)
				}
			})
		}
	}
}

func TestSpecUnknownGate(t *testing.T) {
	if s, ok := kubever.Spec(kubever.Latest, "Bogus"); ok {
		t.Errorf("Spec(Bogus) = %+v, true", s)
	}
	g, err := kubever.NewGates(kubever.Latest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Enabled("Bogus") || g.Known("Bogus") {
		t.Error("an unknown gate is enabled or known")
	}
}

func TestNewGatesOverrides(t *testing.T) {
	tests := []struct {
		name      string
		version   int
		overrides map[string]bool
		wantErr   string
		wantOn    map[string]bool // checked with Enabled when there is no error
		wantInert []string        // the overrides that change nothing
	}{
		{
			name:      "enable an alpha gate",
			version:   30,
			overrides: map[string]bool{kubever.SELinuxMount: true},
			wantOn:    map[string]bool{kubever.SELinuxMount: true, kubever.SELinuxMountReadWriteOncePod: true},
		},
		{
			name:      "enable a beta gate that is off by default",
			version:   27,
			overrides: map[string]bool{kubever.SELinuxMountReadWriteOncePod: true},
			wantOn:    map[string]bool{kubever.SELinuxMountReadWriteOncePod: true, kubever.ReadWriteOncePod: true},
		},
		{
			name:      "disable a beta gate that is on by default",
			version:   35,
			overrides: map[string]bool{kubever.SELinuxChangePolicy: false, kubever.SELinuxMountReadWriteOncePod: false},
			wantOn:    map[string]bool{kubever.SELinuxChangePolicy: false, kubever.SELinuxMountReadWriteOncePod: false},
		},
		{
			name:      "SELinuxMount=false in 1.37: GA but not locked",
			version:   37,
			overrides: map[string]bool{kubever.SELinuxMount: false},
			wantOn:    map[string]bool{kubever.SELinuxMount: false, kubever.SELinuxMountReadWriteOncePod: true, kubever.SELinuxChangePolicy: true},
		},
		{
			name:      "a locked gate may be set to its default",
			version:   36,
			overrides: map[string]bool{kubever.SELinuxChangePolicy: true, kubever.SELinuxMountReadWriteOncePod: true},
			wantOn:    map[string]bool{kubever.SELinuxChangePolicy: true, kubever.SELinuxMountReadWriteOncePod: true},
		},
		{
			name:      "ReadWriteOncePod=true while it is GA and locked",
			version:   30,
			overrides: map[string]bool{kubever.ReadWriteOncePod: true},
			wantOn:    map[string]bool{kubever.ReadWriteOncePod: true},
		},
		{
			name:      "a gate selmount does not model is accepted and changes nothing",
			version:   37,
			overrides: map[string]bool{"CPUManager": true, "InPlacePodVerticalScaling": false},
			wantOn:    map[string]bool{kubever.SELinuxMount: true, kubever.SELinuxChangePolicy: true},
			wantInert: []string{"CPUManager", "InPlacePodVerticalScaling"},
		},
		{
			name:      "gate names are case-sensitive",
			version:   37,
			overrides: map[string]bool{"selinuxmount": true},
			wantErr:   "unrecognized feature gate: selinuxmount (did you mean SELinuxMount?)",
		},
		{
			name:      "a near miss of a modelled gate is a typo",
			version:   37,
			overrides: map[string]bool{"SELinuxMout": false},
			wantErr:   "unrecognized feature gate: SELinuxMout (did you mean SELinuxMount?)",
		},
		{
			name:      "what cannot be a gate name",
			version:   37,
			overrides: map[string]bool{"cpu-manager": true},
			wantErr:   "unrecognized feature gate: cpu-manager (gate names are UpperCamelCase, e.g. SELinuxMount)",
		},
		{
			name:      "AllAlpha sets every alpha gate",
			version:   32,
			overrides: map[string]bool{kubever.AllAlpha: true},
			wantOn:    map[string]bool{kubever.SELinuxMount: true, kubever.SELinuxChangePolicy: true, kubever.SELinuxMountReadWriteOncePod: true},
		},
		{
			name:      "an explicit gate wins over AllAlpha",
			version:   32,
			overrides: map[string]bool{kubever.AllAlpha: true, kubever.SELinuxMount: false},
			wantOn:    map[string]bool{kubever.SELinuxMount: false, kubever.SELinuxChangePolicy: true},
		},
		{
			name:      "AllBeta=false turns beta gates off",
			version:   35,
			overrides: map[string]bool{kubever.AllBeta: false},
			wantOn:    map[string]bool{kubever.SELinuxChangePolicy: false, kubever.SELinuxMount: false, kubever.SELinuxMountReadWriteOncePod: false},
		},
		{
			name:      "AllBeta=true turns SELinuxMount on in 1.33",
			version:   33,
			overrides: map[string]bool{kubever.AllBeta: true},
			wantOn:    map[string]bool{kubever.SELinuxMount: true, kubever.SELinuxChangePolicy: true},
		},
		{
			name:      "AllAlpha without an alpha gate changes nothing",
			version:   37,
			overrides: map[string]bool{kubever.AllAlpha: true, kubever.AllBeta: true},
			wantOn:    map[string]bool{kubever.SELinuxMount: true},
			wantInert: []string{kubever.AllAlpha, kubever.AllBeta},
		},
		{
			name:      "SELinuxMount before 1.30",
			version:   29,
			overrides: map[string]bool{kubever.SELinuxMount: true},
			wantErr:   "unrecognized feature gate: SELinuxMount (Kubernetes 1.29 has no such gate)",
		},
		{
			name:      "SELinuxChangePolicy before 1.32",
			version:   31,
			overrides: map[string]bool{kubever.SELinuxChangePolicy: false},
			wantErr:   "unrecognized feature gate: SELinuxChangePolicy (Kubernetes 1.31 has no such gate)",
		},
		{
			name:      "ReadWriteOncePod after its removal",
			version:   31,
			overrides: map[string]bool{kubever.ReadWriteOncePod: true},
			wantErr:   "unrecognized feature gate: ReadWriteOncePod (Kubernetes 1.31 has no such gate)",
		},
		{
			name:      "SELinuxChangePolicy=false in 1.36",
			version:   36,
			overrides: map[string]bool{kubever.SELinuxChangePolicy: false},
			wantErr:   "cannot set feature gate SELinuxChangePolicy to false, feature is locked to true (GA in Kubernetes 1.36)",
		},
		{
			name:      "SELinuxMountReadWriteOncePod=false in 1.37",
			version:   37,
			overrides: map[string]bool{kubever.SELinuxMountReadWriteOncePod: false},
			wantErr:   "cannot set feature gate SELinuxMountReadWriteOncePod to false, feature is locked to true (GA in Kubernetes 1.37)",
		},
		{
			name:      "SELinuxMount=false in 1.38",
			version:   38,
			overrides: map[string]bool{kubever.SELinuxMount: false},
			wantErr:   "cannot set feature gate SELinuxMount to false, feature is locked to true (GA in Kubernetes 1.38)",
		},
		{
			name:      "ReadWriteOncePod=false in 1.29",
			version:   29,
			overrides: map[string]bool{kubever.ReadWriteOncePod: false},
			wantErr:   "cannot set feature gate ReadWriteOncePod to false, feature is locked to true (GA in Kubernetes 1.29)",
		},
		{
			name:      "several bad gates: the first by name is reported",
			version:   36,
			overrides: map[string]bool{kubever.SELinuxChangePolicy: false, "bogus": true},
			wantErr:   "cannot set feature gate SELinuxChangePolicy to false, feature is locked to true (GA in Kubernetes 1.36)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := kubever.NewGates(kubever.V(tt.version), tt.overrides)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("NewGates error:\n got %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewGates: %v", err)
			}
			for gate, on := range tt.wantOn {
				if g.Enabled(gate) != on {
					t.Errorf("Enabled(%s) = %v, want %v", gate, g.Enabled(gate), on)
				}
			}
			inert := g.Inert()
			for gate := range tt.overrides {
				if _, ok := inert[gate]; !ok && gate != kubever.AllAlpha && gate != kubever.AllBeta && !g.Overridden(gate) {
					t.Errorf("Overridden(%s) = false", gate)
				}
			}
			var gotInert []string
			for name := range inert {
				gotInert = append(gotInert, name)
			}
			sort.Strings(gotInert)
			if !reflect.DeepEqual(gotInert, tt.wantInert) {
				t.Errorf("Inert() = %v, want %v", inert, tt.wantInert)
			}
		})
	}
}

func TestGatesMapIsACopy(t *testing.T) {
	g, err := kubever.NewGates(kubever.V(37), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := g.Map()
	want := map[string]bool{kubever.SELinuxMountReadWriteOncePod: true, kubever.SELinuxMount: true, kubever.SELinuxChangePolicy: true}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Map() = %v, want %v", m, want)
	}
	m[kubever.SELinuxMount] = false
	if !g.Enabled(kubever.SELinuxMount) {
		t.Error("changing Map()'s result changed the gates")
	}
}

func TestNewGatesDoesNotKeepTheOverridesMap(t *testing.T) {
	o := map[string]bool{kubever.SELinuxMount: false}
	g, err := kubever.NewGates(kubever.V(37), o)
	if err != nil {
		t.Fatal(err)
	}
	o[kubever.SELinuxMount] = true
	if g.Enabled(kubever.SELinuxMount) {
		t.Error("changing the overrides after NewGates changed the gates")
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		version   int
		overrides map[string]bool
		gate      string
		want      string
	}{
		{37, nil, kubever.SELinuxMount, "SELinuxMount is on (GA default in 1.37)"},
		{36, nil, kubever.SELinuxMount, "SELinuxMount is off (BETA default in 1.36)"},
		{27, nil, kubever.SELinuxMountReadWriteOncePod, "SELinuxMountReadWriteOncePod is off (BETA default in 1.27)"},
		{37, map[string]bool{kubever.SELinuxMount: false}, kubever.SELinuxMount, "SELinuxMount is off (set with --feature-gates; 1.37 default is true)"},
		{33, map[string]bool{kubever.SELinuxMount: true}, kubever.SELinuxMount, "SELinuxMount is on (set with --feature-gates; 1.33 default is false)"},
		{29, nil, kubever.SELinuxMount, "SELinuxMount does not exist in 1.29"},
		{31, nil, kubever.SELinuxChangePolicy, "SELinuxChangePolicy does not exist in 1.31"},
		{31, nil, kubever.ReadWriteOncePod, "ReadWriteOncePod is GA and always on in 1.31"},
		{30, nil, kubever.ReadWriteOncePod, "ReadWriteOncePod is on (GA default in 1.30)"},
		{38, nil, kubever.SELinuxMount, "SELinuxMount is on (GA default in 1.38)"},
		{32, map[string]bool{kubever.AllAlpha: true}, kubever.SELinuxMount, "SELinuxMount is on (set with --feature-gates AllAlpha=true; 1.32 default is false)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			g, err := kubever.NewGates(kubever.V(tt.version), tt.overrides)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Describe(tt.gate); got != tt.want {
				t.Errorf("Describe(%s) = %q, want %q", tt.gate, got, tt.want)
			}
		})
	}
}

func TestParseGates(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]bool
		wantErr string
	}{
		{in: "", want: map[string]bool{}},
		{in: "  ", want: map[string]bool{}},
		{in: "A=true,B=false", want: map[string]bool{"A": true, "B": false}},
		{in: " A = true , B=false ", want: map[string]bool{"A": true, "B": false}},
		{in: "A=true,,B=false,", want: map[string]bool{"A": true, "B": false}},
		{in: "A=1,B=0,C=TRUE,D=False,E=t", want: map[string]bool{"A": true, "B": false, "C": true, "D": false, "E": true}},
		{in: "A=true,A=false", want: map[string]bool{"A": false}},
		{in: "SELinuxMount=false", want: map[string]bool{"SELinuxMount": false}},

		{in: "A", wantErr: `missing bool value for feature gate "A" (want NAME=true|false)`},
		{in: "A=true,B", wantErr: `missing bool value for feature gate "B" (want NAME=true|false)`},
		{in: "=true", wantErr: `missing bool value for feature gate "=true" (want NAME=true|false)`},
		{in: "A=maybe", wantErr: `"A=maybe": want true or false`},
		{in: "A=", wantErr: `"A=": want true or false`},
		{in: "A=yes", wantErr: `"A=yes": want true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := kubever.ParseGates(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("ParseGates(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseGates(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseMinorOutsideTheRange(t *testing.T) {
	for in, want := range map[string]int{"v1.24.17-eks-1a2b": 24, "1.39": 39, "v1.30+k3s1": 30} {
		if got, err := kubever.ParseMinor(in); err != nil || got != want {
			t.Errorf("ParseMinor(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"2.0", "1", "1.x", "v1.024"} {
		if _, err := kubever.ParseMinor(bad); err == nil {
			t.Errorf("ParseMinor(%q) accepted", bad)
		}
	}
	if _, err := kubever.ParseVersion("1.24"); !errors.Is(err, kubever.ErrUnsupportedVersion) {
		t.Errorf("ParseVersion(1.24): %v, want ErrUnsupportedVersion", err)
	}
	if _, err := kubever.ParseVersion("1.x"); errors.Is(err, kubever.ErrUnsupportedVersion) {
		t.Errorf("ParseVersion(1.x) is a syntax error, not an unsupported version: %v", err)
	}
}
