package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the webhook's series. Labels are bounded: the webhook, the
// operation, the kind (one of the kinds read, else "other") and the result;
// never a namespace, name or label.
type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	warnings    *prometheus.CounterVec
	allocations *prometheus.CounterVec
	unsynced    prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selmount_webhook_requests_total",
			Help: "Admission requests by webhook (validate, mutate), operation, kind and result (allowed, warned, denied, mutated, skipped, unsynced, invalid, error).",
		}, []string{"webhook", "operation", "kind", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "selmount_webhook_request_duration_seconds",
			Help:    "Time to answer an admission request, from reading the body to writing the answer.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, []string{"webhook"}),
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selmount_webhook_warnings_total",
			Help: "Admission warnings returned, by webhook.",
		}, []string{"webhook"}),
		allocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selmount_webhook_level_allocations_total",
			Help: "Levels asked of the allocator for an opted-in namespace's first pod, by result (allocated, error).",
		}, []string{"result"}),
		unsynced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "selmount_webhook_unsynced_total",
			Help: "Requests allowed unchecked because the caches had not synced or no sync was done yet (fail open).",
		}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.warnings, m.allocations, m.unsynced} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// kinds are the kind label's values besides "other".
var kinds = map[string]bool{"Pod": true, "Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"Job": true, "CronJob": true, "ReplicationController": true}

var operations = map[string]bool{"CREATE": true, "UPDATE": true, "DELETE": true, "CONNECT": true}

func (m *metrics) request(webhook, operation, kind, result string, start time.Time) {
	if !kinds[kind] {
		kind = "other"
	}
	if !operations[operation] {
		operation = "other"
	}
	m.requests.WithLabelValues(webhook, operation, kind, result).Inc()
	m.latency.WithLabelValues(webhook).Observe(time.Since(start).Seconds())
	if result == resultUnsynced {
		m.unsynced.Inc()
	}
}
