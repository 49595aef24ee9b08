package check

import (
	"bytes"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// PackedPod is a slimmed pod kept as its protobuf encoding: what a
// long-running caller (an informer's cache, a Base) holds for each of a
// cluster's pods between changes. A decoded pod costs about 2 KB of heap
// even slimmed (its Go structs are sized for every field of the API); its
// encoding about 250 bytes. Unpack decodes it when it is analysed.
//
// A PackedPod carries what a cache's key and index functions read (namespace
// and name, through GetObjectMeta), the UID an event's reference needs and
// the resource version, outside the encoding: SameExceptVersion compares two
// packings without it, as a change detector wants.
type PackedPod struct {
	Namespace       string
	Name            string
	UID             types.UID
	ResourceVersion string
	data            []byte // the pod, without its resource version
}

// PackPod packs pod as it is, without modifying it: Slim it first to keep
// only what the analysis reads.
func PackPod(pod *corev1.Pod) (*PackedPod, error) {
	cp := *pod // shallow: the encoding only reads
	cp.ResourceVersion = ""
	data, err := cp.Marshal()
	if err != nil {
		return nil, fmt.Errorf("packing pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return &PackedPod{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion, data: data}, nil
}

// Unpack decodes the pod: a new object each time, which the caller owns.
func (p *PackedPod) Unpack() (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := pod.Unmarshal(p.data); err != nil {
		return nil, fmt.Errorf("unpacking pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	pod.TypeMeta = metav1.TypeMeta{}
	pod.ResourceVersion = p.ResourceVersion
	return pod, nil
}

// SameExceptVersion reports whether p and q pack the same pod, whatever
// their resource versions.
func (p *PackedPod) SameExceptVersion(q *PackedPod) bool {
	return p.Namespace == q.Namespace && p.Name == q.Name && p.UID == q.UID && bytes.Equal(p.data, q.data)
}

// Size is the length of the encoding, in bytes.
func (p *PackedPod) Size() int { return len(p.data) }

// GetObjectMeta returns the pod's namespace, name, UID and resource version as object metadata
// (a new value each call), for meta.Accessor and so for client-go's cache
// key and index functions.
func (p *PackedPod) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, UID: p.UID, ResourceVersion: p.ResourceVersion}
}

// GetObjectKind is part of runtime.Object: a PackedPod carries no type
// metadata.
func (p *PackedPod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject is part of runtime.Object.
func (p *PackedPod) DeepCopyObject() runtime.Object {
	cp := *p
	cp.data = append([]byte(nil), p.data...)
	return &cp
}

var _ runtime.Object = &PackedPod{}
var _ metav1.ObjectMetaAccessor = &PackedPod{}
