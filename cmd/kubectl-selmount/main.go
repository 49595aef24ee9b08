// Command kubectl-selmount is selmount as a kubectl plugin: put it on PATH
// and run `kubectl selmount check -A`.
package main

import "github.com/selmount/selmount/internal/cli"

func main() { cli.Main("kubectl selmount") }
