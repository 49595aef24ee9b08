package mcsalloc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mcsalloc/mcs"
)

// Annotation names.
const (
	// Annotation holds the level selmount allocated to a namespace, or one an
	// admin set, in canonical form ("s0:c1,c2").
	Annotation = "selmount.io/mcs-level"
	// OpenShiftAnnotation is OpenShift's per-namespace level. When present it
	// is honoured and never replaced.
	OpenShiftAnnotation = "openshift.io/sa.scc.mcs"
)

// Ledger ConfigMap keys.
const (
	keyCursor  = "cursor"
	keyLap     = "lap"
	retiredPfx = "retired."
)

// DefaultLedgerName and DefaultBlockSize are the defaults of Options.
const (
	DefaultLedgerName = "selmount-mcs"
	DefaultBlockSize  = 64
	maxRetries        = 20
)

// Options configure an Allocator.
type Options struct {
	// Namespace is where the ledger ConfigMap lives (the controller's own
	// namespace). Required.
	Namespace string
	// LedgerName is the ledger ConfigMap's name; "" means DefaultLedgerName.
	LedgerName string
	// BlockSize is how many pair indexes an allocator claims from the shared
	// cursor at once; 0 means DefaultBlockSize.
	BlockSize int
}

// Allocator hands out per-namespace levels. It is safe for concurrent use.
type Allocator struct {
	client kubernetes.Interface
	opts   Options

	mu     sync.Mutex // guards everything below
	loaded bool
	lap    int
	used   mcs.Bitmap
	lo, hi int // the claimed block [lo, hi)
}

// New returns an Allocator over client. Nothing is read until the first call
// to Ensure, Load or Retire.
func New(client kubernetes.Interface, opts Options) (*Allocator, error) {
	if opts.Namespace == "" {
		return nil, errors.New("mcsalloc.New: Options.Namespace (the ledger's namespace) is empty")
	}
	if opts.LedgerName == "" {
		opts.LedgerName = DefaultLedgerName
	}
	if opts.BlockSize <= 0 {
		opts.BlockSize = DefaultBlockSize
	}
	if opts.BlockSize > mcs.Pairs {
		opts.BlockSize = mcs.Pairs
	}
	return &Allocator{client: client, opts: opts}, nil
}

// InvalidLevelError reports a namespace annotation that is not a level.
type InvalidLevelError struct {
	Namespace, Annotation, Value string
	Err                          error
}

func (e *InvalidLevelError) Error() string {
	return fmt.Sprintf("namespace %q: annotation %s=%q is not an MCS level: %v", e.Namespace, e.Annotation, e.Value, e.Err)
}

func (e *InvalidLevelError) Unwrap() error { return e.Err }

// ErrExhausted is returned when every two-category level is in use.
var ErrExhausted = errors.New("mcsalloc: all 523776 two-category levels are in use")

// LevelAnnotations are the annotations that give a namespace its level, in
// the order they are honoured: OpenShift's first, because on OpenShift it is
// what SCC admission applies to pods and what files on the namespace's
// volumes already carry (admission/mutate reads them in the same order).
var LevelAnnotations = []string{OpenShiftAnnotation, Annotation}

// LevelOf returns the level a namespace already has: the first of
// LevelAnnotations present. ok is false when it has none. A value that does
// not parse is an *InvalidLevelError (it is never overwritten, and the other
// annotation is not used instead).
func LevelOf(ns *corev1.Namespace) (l label.Level, ok bool, err error) {
	for _, key := range LevelAnnotations {
		if _, has := ns.Annotations[key]; has {
			l, err := parseAnnotation(ns, key)
			return l, err == nil, err
		}
	}
	return label.Level{}, false, nil
}

// levelsOf returns every valid level annotation of a namespace: a level
// that is not honoured (an admin value beside OpenShift's) may still be on
// files, so it counts as used too.
func levelsOf(ns *corev1.Namespace) []label.Level {
	var ls []label.Level
	for _, key := range LevelAnnotations {
		if _, has := ns.Annotations[key]; has {
			if l, err := parseAnnotation(ns, key); err == nil {
				ls = append(ls, l)
			}
		}
	}
	return ls
}

func parseAnnotation(ns *corev1.Namespace, key string) (label.Level, error) {
	v := ns.Annotations[key]
	l, err := label.ParseLevel(strings.TrimSpace(v))
	if err == nil && l.IsZero() {
		err = errors.New("empty")
	}
	if err != nil {
		return label.Level{}, &InvalidLevelError{Namespace: ns.Name, Annotation: key, Value: v, Err: err}
	}
	return l, nil
}

// Ensure returns the level of namespace, allocating one and persisting it in
// Annotation when the namespace has none. The update carries the namespace's
// resourceVersion and is retried on conflict, so a level another allocator
// wrote meanwhile wins and is returned.
func (a *Allocator) Ensure(ctx context.Context, namespace string) (label.Level, error) {
	if err := a.Load(ctx, false); err != nil {
		return label.Level{}, err
	}
	for range maxRetries {
		ns, err := a.client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		if err != nil {
			return label.Level{}, fmt.Errorf("mcsalloc: get namespace %q: %w", namespace, err)
		}
		l, ok, err := LevelOf(ns)
		if err != nil {
			return label.Level{}, err
		}
		if ok {
			a.mu.Lock()
			a.markLocked(l)
			a.mu.Unlock()
			return l, nil
		}
		p, err := a.take(ctx)
		if err != nil {
			return label.Level{}, err
		}
		ns = ns.DeepCopy()
		if ns.Annotations == nil {
			ns.Annotations = map[string]string{}
		}
		ns.Annotations[Annotation] = p.String()
		_, err = a.client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
		if err == nil {
			return p.Level(), nil
		}
		a.mu.Lock()
		a.used.Clear(p.Index())
		a.mu.Unlock()
		if !apierrors.IsConflict(err) {
			return label.Level{}, fmt.Errorf("mcsalloc: annotate namespace %q with %s: %w", namespace, p, err)
		}
	}
	return label.Level{}, fmt.Errorf("mcsalloc: namespace %q: still conflicting after %d attempts", namespace, maxRetries)
}

// markLocked marks every pair l covers as used.
func (a *Allocator) markLocked(l label.Level) {
	for _, p := range mcs.Covered(l) {
		a.used.Set(p.Index())
	}
}

// take returns a free pair from the allocator's block, claiming a new block
// from the shared cursor when the current one is used up.
func (a *Allocator) take(ctx context.Context) (mcs.Pair, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for claims := 0; claims <= mcs.Pairs/a.opts.BlockSize+1; claims++ {
		if i := a.used.NextFree(a.lo, a.hi); i >= 0 {
			a.used.Set(i)
			return mcs.PairAt(i), nil
		}
		if a.used.Used() >= mcs.Pairs {
			return mcs.Pair{}, ErrExhausted
		}
		if err := a.claimLocked(ctx); err != nil {
			return mcs.Pair{}, err
		}
	}
	return mcs.Pair{}, ErrExhausted
}

// claimLocked advances the shared cursor in the ledger by one block with an
// optimistic-concurrency update, and makes that block the allocator's own.
// Within one lap of the cursor no two allocators get overlapping blocks. When
// the cursor has wrapped since the allocator last read the namespaces, it
// reloads them first, so it sees what others allocated in the previous lap.
func (a *Allocator) claimLocked(ctx context.Context) error {
	for range maxRetries {
		cm, err := a.ledger(ctx)
		if err != nil {
			return err
		}
		cur, lap := atoi(cm.Data[keyCursor]), atoi(cm.Data[keyLap])
		if cur < 0 || cur >= mcs.Pairs {
			cur = 0
		}
		lo := cur
		hi := min(lo+a.opts.BlockSize, mcs.Pairs)
		nextCur, nextLap := hi, lap
		if hi == mcs.Pairs {
			nextCur, nextLap = 0, lap+1
		}
		cm = cm.DeepCopy()
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[keyCursor] = strconv.Itoa(nextCur)
		cm.Data[keyLap] = strconv.Itoa(nextLap)
		if _, err := a.client.CoreV1().ConfigMaps(a.opts.Namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				continue
			}
			return fmt.Errorf("mcsalloc: advance cursor in ConfigMap %s/%s: %w", a.opts.Namespace, a.opts.LedgerName, err)
		}
		if lap != a.lap {
			if err := a.loadLocked(ctx); err != nil {
				return err
			}
			a.lap = lap
		}
		a.lo, a.hi = lo, hi
		return nil
	}
	return fmt.Errorf("mcsalloc: ConfigMap %s/%s: cursor still conflicting after %d attempts", a.opts.Namespace, a.opts.LedgerName, maxRetries)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

// ledger returns the ledger ConfigMap, creating it when missing.
func (a *Allocator) ledger(ctx context.Context) (*corev1.ConfigMap, error) {
	cms := a.client.CoreV1().ConfigMaps(a.opts.Namespace)
	cm, err := cms.Get(ctx, a.opts.LedgerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cm, err = cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: a.opts.LedgerName, Namespace: a.opts.Namespace},
			Data:       map[string]string{keyCursor: "0", keyLap: "0"},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			cm, err = cms.Get(ctx, a.opts.LedgerName, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mcsalloc: ledger ConfigMap %s/%s: %w", a.opts.Namespace, a.opts.LedgerName, err)
	}
	return cm, nil
}
