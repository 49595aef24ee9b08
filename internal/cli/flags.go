package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/selmount/selmount/label"
)

// resolveDefaults turns --node-defaults into label.Defaults: a profile name,
// else the root directory of a node tree to read them from.
func resolveDefaults(v string) (label.Defaults, error) {
	if d, ok := label.Profile(v); ok {
		return d, nil
	}
	if fi, err := os.Stat(v); err == nil && fi.IsDir() {
		d, err := label.LoadDefaults(v)
		if err != nil {
			return label.Defaults{}, fmt.Errorf("--node-defaults %s: %w", v, err)
		}
		return d, nil
	}
	return label.Defaults{}, fmt.Errorf("--node-defaults %q: neither a profile (%v) nor a directory", v, label.ProfileNames())
}

// labelFlags resolves --label, or --level applied to the --node-defaults
// file label; the zero label when neither is set.
func labelFlags(lbl, level, nodeDefaults string) (label.Context, error) {
	switch {
	case lbl != "" && level != "":
		return label.Context{}, errors.New("--label and --level exclude each other")
	case lbl != "":
		return label.Parse(lbl)
	case level != "":
		lv, err := label.ParseLevel(level)
		if err != nil {
			return label.Context{}, err
		}
		d, err := resolveDefaults(nodeDefaults)
		if err != nil {
			return label.Context{}, err
		}
		return d.File.WithLevel(lv), nil
	}
	return label.Context{}, nil
}
