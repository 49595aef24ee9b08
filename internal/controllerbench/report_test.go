package controllerbench

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const summaryHeader = "| case | controller | RSS above idle: peak / after catch-up | caught up after the last object | new conflict: series / event | series | conflicting pods with an event |\n|---|---|---|---|---|---|---|\n"

// markdown renders one case: its rows of the summary table, then the
// details.
func (r *result) markdown() string {
	var b strings.Builder
	title := r.c.title()
	fmt.Fprintf(&b, "### %s\n\n", title)
	if r.c.shared {
		fmt.Fprintf(&b, "One claim in one namespace used by %s pods, even ones with level %s and odd ones with %s.", thousands(r.c.pods), levelA, levelB)
	} else {
		fmt.Fprintf(&b, "%s pods in %d namespaces, each with its own claim and CSI volume except every tenth, which shares its neighbour's claim with another level (%s shared claims).",
			thousands(r.c.pods), benchNSCount, thousands(r.c.sharedClaims()))
	}
	fmt.Fprintf(&b, " Both controllers ran while %s objects were written (volumes and claims, then pods; %s, %.0f/s). Run %s; apiserver and KCM %s, selmount %s.\n\n",
		thousands(r.objects), secs(r.created), float64(r.objects)/r.created.Seconds(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), r.kcmVersion, r.selmountVersion)
	b.WriteString(summaryHeader)
	for _, s := range []struct {
		name string
		s    *side
	}{{"upstream KCM", &r.kcm}, {"selmount controller", &r.sel}} {
		caught := secs(s.s.caughtUp)
		if !s.s.reached {
			caught = fmt.Sprintf("stopped at %s of %s after %s", thousands(s.s.final), thousands(s.s.want), caught)
		}
		newc := "-"
		if !r.c.shared {
			newc = span(s.s.newSeries) + " / " + span(s.s.newEvent)
			if s.s.newMissed > 0 {
				newc += fmt.Sprintf(" (%d missed)", s.s.newMissed)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s / %s | %s | %s | %s | %s of %s |\n", title, s.name,
			mib(s.s.peak.hwm-s.s.idle.rss), mib(s.s.afterCatchUp.rss-s.s.idle.rss), caught, newc,
			thousands(s.s.series), thousands(s.s.events.conflictPods), thousands(s.s.conflictPods))
	}
	b.WriteString("\n| | upstream KCM | selmount controller |\n|---|---|---|\n")
	row := func(name string, f func(s *side) string) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, f(&r.kcm), f(&r.sel))
	}
	row("idle RSS (started, synced, no objects)", func(s *side) string { return mib(s.idle.rss) })
	row("RSS after catch-up; peak RSS (VmHWM) at the end", func(s *side) string {
		return mib(s.afterCatchUp.rss) + "; " + mib(s.peak.hwm)
	})
	row("CPU from the first object to catch-up", func(s *side) string { return fmt.Sprintf("%.1f s", s.cpu) })
	row("value at catch-up", func(s *side) string {
		if s == &r.kcm {
			return fmt.Sprintf("%s of %s conflict series", thousands(s.final), thousands(s.want))
		}
		return fmt.Sprintf("%s of %s conflicting volumes", thousands(s.final), thousands(s.want))
	})
	row("last event written, after the last object", func(s *side) string {
		if s.events.objects == 0 {
			return "-"
		}
		return secs(s.eventsDone)
	})
	row("Event objects written (by type; by reason)", func(s *side) string {
		return fmt.Sprintf("%s (%s; %s)", thousands(s.events.objects), counts(s.events.types), counts(s.events.reasons))
	})
	row("conflicting pods without an event (dropped)", func(s *side) string { return thousands(s.events.dropped) })
	row("/metrics: own series, all series, size, scrape time", func(s *side) string {
		return fmt.Sprintf("%s, %s, %s, %s", thousands(s.series), thousands(s.allSeries), size(s.scrapeBytes), secs(s.scrape))
	})
	row("Go heap in use; next GC target, at the end (go_memstats_*)", func(s *side) string {
		if s.heapInuse == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f MiB; %.0f MiB", s.heapInuse/(1<<20), s.nextGC/(1<<20))
	})
	if !r.c.shared {
		row("new conflicts measured (series / event)", func(s *side) string {
			return fmt.Sprintf("%d / %d", len(s.newSeries), len(s.newEvent))
		})
	}
	b.WriteString("\n")
	return b.String()
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %s", thousands(m[k]), k))
	}
	return strings.Join(parts, ", ")
}

func size(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f kB", float64(n)/1e3)
}

// writeSummary writes dir/controller.md: the summary rows of every
// dir/controller-*.md in one table (spread cases by size, then shared
// ones), then each case's section.
func writeSummary(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "controller-*.md"))
	if err != nil {
		return err
	}
	key := func(f string) (bool, int) {
		s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "controller-"), ".md")
		n, _ := strconv.Atoi(strings.TrimPrefix(s, "shared-"))
		return strings.HasPrefix(s, "shared-"), n
	}
	slices.SortFunc(files, func(a, b string) int {
		sa, na := key(a)
		sb, nb := key(b)
		if sa != sb {
			if sa {
				return 1
			}
			return -1
		}
		return cmp.Compare(na, nb)
	})
	var rows, sections strings.Builder
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		text := string(raw)
		if _, rest, ok := strings.Cut(text, summaryHeader); ok {
			table, _, _ := strings.Cut(rest, "\n\n")
			rows.WriteString(table + "\n")
		}
		sections.WriteString(text)
	}
	var b strings.Builder
	b.WriteString("## The controller beside the upstream controller: results\n\n")
	b.WriteString("Written by hack/bench-controller.sh (internal/controllerbench). RSS above idle is VmRSS and VmHWM of\n")
	b.WriteString("/proc/PID/status less the idle VmRSS; the KCM's series are selinux_warning_controller_*, selmount's selmount_*.\n\n")
	b.WriteString(summaryHeader)
	b.WriteString(rows.String())
	b.WriteString("\n")
	b.WriteString(sections.String())
	return os.WriteFile(filepath.Join(dir, "controller.md"), []byte(b.String()), 0o644)
}
