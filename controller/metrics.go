package controller

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a registry with the controller's metrics (and the Go
// and process collectors). Every series is computed from the state when
// scraped; none is labelled by pod, label or level, so the number of
// series depends on the kinds of findings only (and on the namespaces with
// findings, when Options.NamespaceLabel is set).
func (c *Controller) NewRegistry(version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(c.state.reconcile, c.state.syncs, &collector{c: c, version: version})
	return reg
}

var (
	descFindingsLabels = []string{"type", "severity", "property"}
	descFindings       = prometheus.NewDesc("selmount_findings", "Findings of selmount check on the cluster, by type, severity and property.", descFindingsLabels, nil)
	descFindingsNS     = prometheus.NewDesc("selmount_findings", "Findings of selmount check on the cluster, by type, severity and property, per namespace of the workloads involved (\"\" for cluster-wide findings).", append(descFindingsLabels, "namespace"), nil)
	descConflicting    = prometheus.NewDesc("selmount_volumes_conflicting", "Volumes whose users carry SELinux labels the kubelet sees as different.", nil, nil)
	descInputErrors    = prometheus.NewDesc("selmount_input_errors", "Pods and templates that cannot start because of their input (an invalid level); they are not checked.", nil, nil)
	descQueue          = prometheus.NewDesc("selmount_workqueue_depth", "Work items waiting in the controller's queue.", nil, nil)
	descSynced         = prometheus.NewDesc("selmount_informer_synced", "1 when every informer cache has synced.", nil, nil)
	descLastSync       = prometheus.NewDesc("selmount_last_sync_timestamp_seconds", "When the findings were last computed (Unix time).", nil, nil)
	descBuild          = prometheus.NewDesc("selmount_build_info", "The controller's version; always 1.", []string{"version", "goversion"}, nil)
)

// collector streams the state's counts at each scrape.
type collector struct {
	c       *Controller
	version string
}

func (m *collector) Describe(ch chan<- *prometheus.Desc) {
	if m.c.opts.NamespaceLabel {
		ch <- descFindingsNS
	} else {
		ch <- descFindings
	}
	for _, d := range []*prometheus.Desc{descConflicting, descInputErrors, descQueue, descSynced, descLastSync, descBuild} {
		ch <- d
	}
}

func (m *collector) Collect(ch chan<- prometheus.Metric) {
	snap, ok := m.c.state.Snapshot()
	if ok {
		if m.c.opts.NamespaceLabel {
			for _, n := range snap.NamespaceCounts {
				ch <- prometheus.MustNewConstMetric(descFindingsNS, prometheus.GaugeValue, float64(n.Count), string(n.Type), string(n.Severity), string(n.Property), n.Namespace)
			}
		} else {
			for _, n := range snap.Counts {
				ch <- prometheus.MustNewConstMetric(descFindings, prometheus.GaugeValue, float64(n.Count), string(n.Type), string(n.Severity), string(n.Property))
			}
		}
		ch <- prometheus.MustNewConstMetric(descConflicting, prometheus.GaugeValue, float64(snap.ConflictingVolumes))
		ch <- prometheus.MustNewConstMetric(descInputErrors, prometheus.GaugeValue, float64(snap.InputErrors))
		ch <- prometheus.MustNewConstMetric(descLastSync, prometheus.GaugeValue, float64(snap.Computed.UnixNano())/1e9)
	}
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(m.c.QueueLen()))
	synced := 0.0
	if m.c.InformersSynced() {
		synced = 1
	}
	ch <- prometheus.MustNewConstMetric(descSynced, prometheus.GaugeValue, synced)
	v := m.version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			v = bi.Main.Version
		}
	}
	ch <- prometheus.MustNewConstMetric(descBuild, prometheus.GaugeValue, 1, v, runtime.Version())
}
