package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/selmount/selmount/admission/mutate"
)

func init() { register(newAdmissionPolicyCmd) }

func newAdmissionPolicyCmd() *cobra.Command {
	var name, format string
	cmd := &cobra.Command{
		Use:   "admission-policy",
		Short: "Print a MutatingAdmissionPolicy that applies namespace SELinux defaults to pods (no webhook needed)",
		Long: `admission-policy prints a MutatingAdmissionPolicy and its binding
(admissionregistration.k8s.io/v1, GA in Kubernetes 1.36) that give pods in namespaces
labelled selmount.io/selinux-defaults=enabled the namespace's SELinux level and
default seLinuxChangePolicy, with the same rules as the mutating webhook of
"selmount webhook". The kube-apiserver applies it itself: no webhook is in the
request path.

The policy only reads a namespace's level (openshift.io/sa.scc.mcs, then
selmount.io/mcs-level); it allocates none. Run "selmount controller
--allocate-levels" (or the webhook) so that opted-in namespaces get one. Unlike the
webhook, a policy cannot warn: an invalid level or policy label is skipped
silently. See docs/admission.md.`,
		Example: `  # Install the policy and its binding
  selmount admission-policy | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := mutate.Options{Name: name}
			out := cmd.OutOrStdout()
			if format == formatJSON {
				p, b := mutate.PolicyObjects(opts)
				// A List, so that kubectl apply -f takes both objects.
				list := map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{p, b}}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			_, err := fmt.Fprintf(out, "%s", mutate.Policy(opts))
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", mutate.DefaultName, "name of the policy and of its binding")
	addOutputFlag(cmd, &format, "o", formatYAML, formatJSON)
	return cmd
}
