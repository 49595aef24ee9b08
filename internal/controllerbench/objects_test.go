package controllerbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/internal/testcluster"
)

// The objects: benchNSCount namespaces; in the spread layout pod i has its
// own claim c<i> and CSI volume pv<i>, except when i%10 == 1: then it
// shares c<i-1> (in pod i-1's namespace) with levelB against levelA. In
// the shared layout one claim c0 in bench-0 holds every pod, even ones
// with levelA, odd ones with levelB.
const (
	driver       = "bench.csi.selmount.io"
	benchNSCount = 100
	levelA       = "s0:c1,c2"
	levelB       = "s0:c3,c4"
)

var createOpts = metav1.CreateOptions{}

func nsName(i int) string { return fmt.Sprintf("bench-%d", i%benchNSCount) }

// podAt returns the namespace, claim and level of pod i.
func (c benchCase) podAt(i int) (ns, claim, level string) {
	if c.shared {
		if i%2 == 1 {
			return nsName(0), "c0", levelB
		}
		return nsName(0), "c0", levelA
	}
	if i%10 == 1 {
		return nsName(i - 1), fmt.Sprintf("c%d", i-1), levelB
	}
	return nsName(i), fmt.Sprintf("c%d", i), levelA
}

// conflictPods returns the "namespace/name" of every pod in a conflict.
func (c benchCase) conflictPods() map[string]bool {
	out := map[string]bool{}
	for i := range c.pods {
		if c.shared || i%10 == 1 || (i%10 == 0 && i+1 < c.pods) {
			ns, _, _ := c.podAt(i)
			out[fmt.Sprintf("%s/p%d", ns, i)] = true
		}
	}
	return out
}

// installCRDs creates the status CRDs of deploy/crds, as an installation
// has them, so that selmount writes its status objects as it would.
func installCRDs(t *testing.T, ctx context.Context, cfg *rest.Config) {
	dyn := dynamic.NewForConfigOrDie(cfg)
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	files, err := filepath.Glob(filepath.Join(testcluster.RepoRoot(t), "deploy", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in deploy/crds: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(raw, &u.Object); err != nil {
			t.Fatal(err)
		}
		if _, err := dyn.Resource(crds).Create(ctx, u, createOpts); err != nil {
			t.Fatal(err)
		}
	}
}

// prepare creates the CSIDriver and the namespaces, before the
// controllers start.
func prepare(t *testing.T, ctx context.Context, c kubernetes.Interface) {
	yes := true
	if _, err := c.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: driver},
		Spec: storagev1.CSIDriverSpec{SELinuxMount: &yes}}, createOpts); err != nil {
		t.Fatal(err)
	}
	for i := range benchNSCount {
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i)}}, createOpts); err != nil {
			t.Fatal(err)
		}
	}
}

// populate creates the volumes and claims, bound as the PV controller
// would bind them (none runs), then the pods, each phase with workers
// parallel clients. It returns the number of objects written (creates and
// status updates).
func populate(t *testing.T, ctx context.Context, c kubernetes.Interface, bc benchCase, workers int) int {
	var writes atomic.Int64
	claims := []int{0}
	if !bc.shared {
		claims = claims[:0]
		for i := range bc.pods {
			if i%10 != 1 {
				claims = append(claims, i)
			}
		}
	}
	testcluster.Parallel(t, len(claims), workers, func(k int) error {
		i := claims[k]
		ns, claim, _ := bc.podAt(i)
		writes.Add(3)
		return bindClaim(ctx, c, ns, claim, fmt.Sprintf("pv%d", i))
	})
	testcluster.Parallel(t, bc.pods, workers, func(i int) error {
		ns, claim, level := bc.podAt(i)
		writes.Add(1)
		_, err := c.CoreV1().Pods(ns).Create(ctx, pod(ns, fmt.Sprintf("p%d", i), claim, level), createOpts)
		return err
	})
	return int(writes.Load())
}

// bindClaim creates claim ns/name and a CSI volume bound to it (claimRef
// with the claim's UID, as the upstream controller checks), and sets the
// claim's phase to Bound.
func bindClaim(ctx context.Context, c kubernetes.Interface, ns, name, volume string) error {
	empty := ""
	claim, err := c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			VolumeName:       volume,
			StorageClassName: &empty,
		},
	}, createOpts)
	if err != nil {
		return err
	}
	if _, err := c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: volume},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: volume}},
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: ns, Name: name, UID: claim.UID},
		},
	}, createOpts); err != nil {
		return err
	}
	claim.Status.Phase = corev1.ClaimBound
	_, err = c.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, claim, metav1.UpdateOptions{})
	return err
}

func pod(ns, name, claim, level string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1",
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
			SecurityContext: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: level}},
		},
	}
}
