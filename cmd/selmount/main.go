// Command selmount predicts, applies and checks SELinux volume labeling for
// Kubernetes. See README.md and `selmount --help`.
package main

import "github.com/selmount/selmount/internal/cli"

func main() { cli.Main("selmount") }
