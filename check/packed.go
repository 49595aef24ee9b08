package check

import (
	"fmt"
	"math"
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Packed is a slimmed Pod, PersistentVolumeClaim or PersistentVolume kept
// as its protobuf encoding: what a long-running caller (an informer's
// cache, a Base) holds for each of a cluster's pods and volumes between
// changes. A decoded pod costs about 2 KB of heap even slimmed, a claim and
// its volume another 1.2 KB (their Go structs are sized for every field of
// the API); their encodings a few hundred bytes. Unpack decodes one when it
// is analysed.
//
// A Packed carries what a cache's key and index functions read (namespace
// and name, through GetObjectMeta) outside the encoding, the name before it
// and the resource version after it, in one string: SameExceptVersion
// compares two packings without the version, as a change detector wants.
// Everything else (the UID too) is read by unpacking. A Packed is 48 bytes
// and its data; 150,000 of them (the pods, claims and volumes of 50,000
// pods) cost 7 MB more than their encodings.
type Packed struct {
	ns   string // interned: thousands of objects share a namespace
	data string // the name, the object without namespace, name and resource version, the resource version
	name uint16 // the length of the name (at most 253), the start of the encoding
	rv   uint8  // the length of the resource version (at most 20 digits), the end of the encoding
	kind packedKind
}

// packedKind is the kind of a Packed object, a byte where a string would
// take 16.
type packedKind uint8

const (
	packedPod packedKind = iota + 1
	packedClaim
	packedVolume
)

var packedKinds = [...]string{packedPod: "Pod", packedClaim: "PersistentVolumeClaim", packedVolume: "PersistentVolume"}

// Kind is "Pod", "PersistentVolumeClaim" or "PersistentVolume".
func (p *Packed) Kind() string {
	if int(p.kind) < len(packedKinds) {
		return packedKinds[p.kind]
	}
	return ""
}

// packable is an object Pack encodes.
type packable interface {
	metav1.Object
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// Pack packs a *corev1.Pod, *corev1.PersistentVolumeClaim or
// *corev1.PersistentVolume as it is, without modifying it: Slim it first to
// keep only what the analysis reads.
func Pack(obj any) (*Packed, error) {
	var kind packedKind
	var enc packable
	switch o := obj.(type) {
	case *corev1.Pod:
		cp := *o // shallow: the encoding only reads
		kind, enc = packedPod, &cp
	case *corev1.PersistentVolumeClaim:
		cp := *o
		kind, enc = packedClaim, &cp
	case *corev1.PersistentVolume:
		cp := *o
		kind, enc = packedVolume, &cp
	default:
		return nil, fmt.Errorf("check.Pack: cannot pack a %T", obj)
	}
	// The namespace, name and resource version are kept outside the
	// encoding (Unpack puts them back), and the namespace, which thousands
	// of objects share, once.
	ns, name, rv := enc.GetNamespace(), enc.GetName(), enc.GetResourceVersion()
	if len(name) > math.MaxUint16 || len(rv) > math.MaxUint8 {
		return nil, fmt.Errorf("packing %s %s: name or resource version too long", packedKinds[kind], nsName(ns, name))
	}
	enc.SetNamespace("")
	enc.SetName("")
	enc.SetResourceVersion("")
	size := enc.Size()
	data := make([]byte, len(name)+size+len(rv))
	copy(data, name)
	n, err := enc.MarshalToSizedBuffer(data[len(name) : len(name)+size])
	if err != nil || n != size {
		return nil, fmt.Errorf("packing %s %s: %v", packedKinds[kind], nsName(ns, name), err)
	}
	copy(data[len(name)+size:], rv)
	return &Packed{kind: kind, name: uint16(len(name)), rv: uint8(len(rv)), ns: unique.Make(ns).Value(), data: string(data)}, nil
}

// Namespace is the object's namespace ("" for a PersistentVolume).
func (p *Packed) Namespace() string { return p.ns }

// Name is the object's name.
func (p *Packed) Name() string { return p.data[:p.name] }

func nsName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// Unpack decodes the object: a new *corev1.Pod, *corev1.PersistentVolumeClaim
// or *corev1.PersistentVolume each time, which the caller owns.
func (p *Packed) Unpack() (metav1.Object, error) {
	var obj interface {
		metav1.Object
		Unmarshal([]byte) error
	}
	switch p.kind {
	case packedPod:
		obj = &corev1.Pod{}
	case packedClaim:
		obj = &corev1.PersistentVolumeClaim{}
	case packedVolume:
		obj = &corev1.PersistentVolume{}
	default:
		return nil, fmt.Errorf("unpacking %s: unknown kind", nsName(p.ns, p.Name()))
	}
	if err := obj.Unmarshal([]byte(p.encoding())); err != nil {
		return nil, fmt.Errorf("unpacking %s %s: %w", p.Kind(), nsName(p.ns, p.Name()), err)
	}
	// The packing's strings, not the decoded copies: what is kept of the
	// object (names in a Base's entries and decisions) shares them.
	obj.SetNamespace(p.ns)
	obj.SetName(p.Name())
	obj.SetResourceVersion(p.ResourceVersion())
	return obj, nil
}

// Size is the length of the encoding, in bytes.
func (p *Packed) Size() int { return len(p.encoding()) }

// ResourceVersion is the object's resource version.
func (p *Packed) ResourceVersion() string { return p.data[len(p.data)-int(p.rv):] }

func (p *Packed) encoding() string { return p.data[p.name : len(p.data)-int(p.rv)] }

// SameExceptVersion reports whether p and q pack the same object, whatever
// their resource versions.
func (p *Packed) SameExceptVersion(q *Packed) bool {
	return p.kind == q.kind && p.ns == q.ns && p.Name() == q.Name() && p.encoding() == q.encoding()
}

// GetObjectMeta returns the object's namespace, name and resource version
// as object metadata (a new value each call; no UID, labels...: unpack for
// those), for meta.Accessor and so for client-go's cache key and index
// functions.
func (p *Packed) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: p.ns, Name: p.Name(), ResourceVersion: p.ResourceVersion()}
}

// GetObjectKind is part of runtime.Object: a Packed carries no type
// metadata.
func (p *Packed) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject is part of runtime.Object.
func (p *Packed) DeepCopyObject() runtime.Object {
	cp := *p // its strings are never modified
	return &cp
}

var _ runtime.Object = &Packed{}
var _ metav1.ObjectMetaAccessor = &Packed{}

// Unpacked returns obj, a cached object, as a T (*corev1.Pod...): decoded
// when it is a *Packed, else obj itself.
func Unpacked[T metav1.Object](obj any) (T, error) {
	if p, ok := obj.(*Packed); ok {
		u, err := p.Unpack()
		if err != nil {
			var zero T
			return zero, err
		}
		obj = u
	}
	o, ok := obj.(T)
	if !ok {
		return o, fmt.Errorf("a %T, not a %T", obj, o)
	}
	return o, nil
}
