// Package webhook is selmount's admission webhook: an http.Handler that
// serves a validating webhook (/validate: warn about, or deny, objects that
// would conflict with the current users of their volumes) and a mutating
// one (/mutate: the namespace's SELinux defaults on pods, see package
// admission/mutate, with a level allocated on the namespace's first pod).
//
// Answers come from memory: the controller's informer caches and the users
// of every volume its last sync saw (controller.Index). The request path
// makes no API call, with one exception: the first pod of an opted-in
// namespace without a level, for which the mutating webhook asks the
// allocator for one (never on dry-run requests). Until the caches have
// synced and a first sync is done, every request is allowed unchanged
// (fail open), as the webhook configurations' failurePolicy: Ignore does
// when the webhook is down.
//
// See docs/admission.md.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/selmount/selmount/controller"
	"github.com/selmount/selmount/label"
)

// Paths the Handler serves.
const (
	ValidatePath = "/validate"
	MutatePath   = "/mutate"
)

// EnforceLabel, set to EnforceDeny on a namespace, makes the validating
// webhook reject objects in it that would conflict with a user the kubelet
// keeps (Options.Deny does it for every namespace).
const (
	EnforceLabel = "selmount.io/enforce"
	EnforceDeny  = "deny"
)

// DefaultMaxBody bounds a request body: an AdmissionReview carries an object
// and its old version, each at most the API server's 3 MiB.
const DefaultMaxBody = 7 << 20

// DefaultMaxUsers bounds how many current users of one volume a request
// reads and checks against. Of each label, only the first few users in the
// last sync's order (templates, then pods by creation time: the pods the
// kubelet keeps) are read, in the object's namespace and in others.
const DefaultMaxUsers = 100

// Cache is what the webhook reads: the controller's caches and its last
// sync. *controller.Controller implements it.
type Cache interface {
	Index() *controller.Index
	Listers() controller.Listers
	InformersSynced() bool
}

// Allocator gives a namespace its level (mcsalloc.Allocator implements it).
type Allocator interface {
	Ensure(ctx context.Context, namespace string) (label.Level, error)
}

// Options configure a Handler. The zero value warns and never denies,
// mutates pods with the namespaces' existing levels only, and registers no
// metrics.
type Options struct {
	// Deny rejects conflicting objects in every namespace, not only in
	// namespaces labelled EnforceLabel=EnforceDeny.
	Deny bool
	// Allocator allocates a level for an opted-in namespace that has none
	// (at the first pod that needs it); nil allocates nothing.
	Allocator Allocator
	// Registerer registers the webhook's metrics; nil registers none.
	Registerer prometheus.Registerer
	// MaxBody bounds a request's body; zero means DefaultMaxBody.
	MaxBody int64
	// MaxUsers bounds the users of one volume a request checks against;
	// zero means DefaultMaxUsers.
	MaxUsers int
}

// Handler serves the webhook. Build it with New.
type Handler struct {
	cache   Cache
	opts    Options
	metrics *metrics
	mux     *http.ServeMux
}

// New returns a Handler reading cache.
func New(cache Cache, opts Options) (*Handler, error) {
	if cache == nil {
		return nil, errors.New("webhook.New: a cache is required")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.MaxUsers <= 0 {
		opts.MaxUsers = DefaultMaxUsers
	}
	h := &Handler{cache: cache, opts: opts, metrics: newMetrics()}
	if opts.Registerer != nil {
		if err := h.metrics.register(opts.Registerer); err != nil {
			return nil, fmt.Errorf("registering the webhook metrics: %w", err)
		}
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc(ValidatePath, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "validate", h.validate) })
	h.mux.HandleFunc(MutatePath, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "mutate", h.mutate) })
	return h, nil
}

// ServeHTTP serves ValidatePath and MutatePath.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// reviewer answers one request; result is the metric's result label.
type reviewer func(ctx context.Context, req *admissionv1.AdmissionRequest) (resp *admissionv1.AdmissionResponse, result string)

// Results, as the requests metric labels them.
const (
	resultAllowed  = "allowed"  // checked, nothing to say
	resultWarned   = "warned"   // allowed with warnings
	resultDenied   = "denied"   // rejected (deny mode)
	resultMutated  = "mutated"  // a patch returned
	resultSkipped  = "skipped"  // not a kind or operation the webhook reads
	resultUnsynced = "unsynced" // allowed unchecked: caches not synced or no sync yet
	resultInvalid  = "invalid"  // the object could not be decoded
	resultError    = "error"    // allowed unchecked after an internal error
)

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, name string, review reviewer) {
	start := time.Now()
	logger := klog.FromContext(r.Context()).WithValues("webhook", name)
	if r.Method != http.MethodPost {
		http.Error(w, "selmount webhook: only POST is served", http.StatusMethodNotAllowed)
		h.metrics.request(name, "", "", resultInvalid, start)
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		http.Error(w, fmt.Sprintf("selmount webhook: Content-Type %q: want application/json", r.Header.Get("Content-Type")), http.StatusUnsupportedMediaType)
		h.metrics.request(name, "", "", resultInvalid, start)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.opts.MaxBody+1))
	if err != nil {
		http.Error(w, "selmount webhook: reading the request: "+err.Error(), http.StatusBadRequest)
		h.metrics.request(name, "", "", resultInvalid, start)
		return
	}
	if int64(len(body)) > h.opts.MaxBody {
		http.Error(w, fmt.Sprintf("selmount webhook: request body over %d bytes", h.opts.MaxBody), http.StatusRequestEntityTooLarge)
		h.metrics.request(name, "", "", resultInvalid, start)
		return
	}
	var in admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, "selmount webhook: the body is not an AdmissionReview: "+err.Error(), http.StatusBadRequest)
		h.metrics.request(name, "", "", resultInvalid, start)
		return
	}
	if in.APIVersion != admissionv1.SchemeGroupVersion.String() || in.Kind != "AdmissionReview" || in.Request == nil {
		http.Error(w, fmt.Sprintf("selmount webhook: want an admission.k8s.io/v1 AdmissionReview with a request, got apiVersion %q kind %q", in.APIVersion, in.Kind), http.StatusBadRequest)
		h.metrics.request(name, "", "", resultInvalid, start)
		return
	}
	req := in.Request
	resp, result := h.safeReview(r.Context(), logger, review, req)
	resp.UID = req.UID
	h.metrics.request(name, string(req.Operation), req.Kind.Kind, result, start)
	h.metrics.warnings.WithLabelValues(name).Add(float64(len(resp.Warnings)))
	out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: resp}
	data, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "selmount webhook: encoding the response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
	logger.V(4).Info("Reviewed", "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name,
		"operation", req.Operation, "result", result, "duration", time.Since(start))
}

// safeReview runs review and turns a panic into an allowed response: an
// object nobody foresaw must not fail admission (nor the server).
func (h *Handler) safeReview(ctx context.Context, logger klog.Logger, review reviewer, req *admissionv1.AdmissionRequest) (resp *admissionv1.AdmissionResponse, result string) {
	defer func() {
		if r := recover(); r != nil {
			logger.Error(fmt.Errorf("%v", r), "Review panicked; allowing the request unchecked", "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name)
			resp, result = allow(), resultError
		}
	}()
	return review(klog.NewContext(ctx, logger), req)
}

func allow(warnings ...string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}
}

func deny(code int32, msg string, warnings ...string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Warnings: warnings,
		Result: &metav1.Status{Status: metav1.StatusFailure, Code: code, Message: msg}}
}
