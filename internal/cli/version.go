package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/selmount/selmount/apiversion"
)

func init() { register(newVersionCmd) }

// Set at link time by release builds:
//
//	go build -ldflags "-X github.com/selmount/selmount/internal/cli.version=v1.2.3 -X github.com/selmount/selmount/internal/cli.commit=abc123" ./cmd/selmount
//
// Without them, the module version and the VCS revision the go command
// stamps into the binary are used (go build in a checkout, go install
// module@version); `go run` stamps no revision.
var (
	version string
	commit  string
)

// VersionInfo is the JSON document of `selmount version -o json`.
type VersionInfo struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commitTime,omitempty"`
	Modified   bool   `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
}

// buildVersion returns what is known about this binary, from the link-time
// variables first, then from the build information the go command embeds.
func buildVersion() VersionInfo {
	v := VersionInfo{
		APIVersion: apiversion.Current, Kind: "Version",
		Version: version, Commit: commit,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" {
			v.Version = bi.Main.Version // "(devel)" when built without a version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if commit == "" {
					v.CommitTime = s.Value
				}
			case "vcs.modified":
				if commit == "" {
					v.Modified = s.Value == "true"
				}
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	return v
}

// writeVersion prints v as `selmount --version` does.
func writeVersion(w io.Writer, name string, v VersionInfo) error {
	c := v.Commit
	switch {
	case c == "":
		c = "unknown"
	case v.Modified:
		c += " (modified)"
	}
	_, err := fmt.Fprintf(w, "%s version %s\ncommit: %s\ngo: %s %s\n", name, v.Version, c, v.GoVersion, v.Platform)
	return err
}

func newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version selmount was built with",
		Long: `version prints selmount's version, the commit it was built from and the Go
version and platform it was built with, as --version does; -o json or yaml prints
them as a document.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			return writeOutput(cmd.OutOrStdout(), output, v, func(w io.Writer) error {
				return writeVersion(w, cmd.Root().DisplayName(), v)
			})
		},
	}
	addOutputFlag(cmd, &output, "o", formatText, formatJSON, formatYAML)
	return cmd
}
