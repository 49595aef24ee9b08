package testcluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/selmount/selmount/internal/testcluster"
)

const csiDriverName = "smoke.csi.selmount.example"

// TestIntegrationSmoke proves the harness can host a comparison with the
// upstream selinux-warning-controller: with the release's default gates the
// apiserver accepts seLinuxChangePolicy: MountOption, the PV binder binds a
// claim, and the controller reports two pods that share the claim with
// different SELinux levels, as an event and as a metric.
func TestIntegrationSmoke(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := t.Context()
	client := c.Client()

	info, err := client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := version.ParseSemantic(info.GitVersion); err != nil || v.Major() != 1 {
		t.Fatalf("server version %q does not parse as a 1.x release (built without version ldflags?): %v", info.GitVersion, err)
	}

	// Arrange: a CSI driver that supports -o context, a PV of that driver, a
	// claim for it, and a first pod using the claim.
	ns := createNamespace(t, client, "smoke")
	if _, err := client.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: csiDriverName},
		Spec:       storagev1.CSIDriverSpec{SELinuxMount: ptr.To(true)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke-pv-" + ns},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				CSI: &corev1.CSIPersistentVolumeSource{Driver: csiDriverName, VolumeHandle: "vol-1"},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(""),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createPod(t, client, ns, "pod-c1c2", "s0:c1,c2", "data")

	// Act: run the binder and the warning controller, then add a second
	// pod on the same claim with another level.
	kcm := c.StartControllerManager(t, []string{"persistentvolume-binder-controller", "selinux-warning-controller"}, "")
	poll(t, "claim bound", func(ctx context.Context) (bool, error) {
		pvc, err := client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		return err == nil && pvc.Status.Phase == corev1.ClaimBound, err
	})
	createPod(t, client, ns, "pod-c3c4", "s0:c3,c4", "data")

	// Assert: an event and a metric series name the conflict.
	poll(t, "SELinuxLabelConflict event", func(ctx context.Context) (bool, error) {
		events, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=SELinuxLabelConflict"})
		if err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if strings.Contains(e.Message, `":::s0:c1,c2"`) && strings.Contains(e.Message, `":::s0:c3,c4"`) {
				t.Logf("event on %s: %s %s: %s", e.InvolvedObject.Name, e.Type, e.Reason, e.Message)
				return true, nil
			}
		}
		return false, nil
	})
	poll(t, "conflict metric", func(ctx context.Context) (bool, error) {
		metrics, err := kcm.Metrics(ctx)
		if err != nil {
			return false, err
		}
		for line := range strings.Lines(metrics) {
			if strings.HasPrefix(line, "selinux_warning_controller_selinux_volume_conflict{") &&
				hasAll(line, `property="SELinuxLabel"`, `pod1_namespace="`+ns+`"`,
					`pod1_value=":::s0:c1,c2"`, `pod2_value=":::s0:c3,c4"`) {
				t.Logf("metric: %s", strings.TrimSpace(line))
				return true, nil
			}
		}
		return false, nil
	})
}

// TestIntegrationDryRunPatch checks that server-side dry-run patches are
// validated and not persisted, through a client built from the kubeconfig
// file the way a CLI with --kubeconfig builds one.
func TestIntegrationDryRunPatch(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := t.Context()
	config, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(t, client, "dryrun")
	createPod(t, client, ns, "pod", "s0:c1,c2", "")
	dryRun := metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}

	patched, err := client.CoreV1().Pods(ns).Patch(ctx, "pod", types.StrategicMergePatchType,
		[]byte(`{"metadata":{"annotations":{"selmount.example/checked":"yes"}}}`), dryRun)
	if err != nil {
		t.Fatalf("dry-run patch: %v", err)
	}
	if got := patched.Annotations["selmount.example/checked"]; got != "yes" {
		t.Errorf("dry-run patch result has annotation %q, want %q", got, "yes")
	}
	stored, err := client.CoreV1().Pods(ns).Get(ctx, "pod", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stored.Annotations["selmount.example/checked"]; ok {
		t.Errorf("dry-run patch was persisted: %v", stored.Annotations)
	}

	// The pod's security context is immutable: real validation refuses it.
	_, err = client.CoreV1().Pods(ns).Patch(ctx, "pod", types.StrategicMergePatchType,
		[]byte(`{"spec":{"securityContext":{"seLinuxOptions":{"level":"s0:c3,c4"}}}}`), dryRun)
	if !apierrors.IsInvalid(err) {
		t.Errorf("dry-run patch of an immutable field: got %v, want an Invalid error", err)
	}
}

func createNamespace(t *testing.T, client kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// createPod creates a pod with an SELinux level and the MountOption change
// policy, mounting claim if it is not empty.
func createPod(t *testing.T, client kubernetes.Interface, ns, name, level, claim string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				SELinuxOptions:      &corev1.SELinuxOptions{Level: level},
				SELinuxChangePolicy: ptr.To(corev1.SELinuxChangePolicyMountOption),
			},
			Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/none"}},
		},
	}
	if claim != "" {
		pod.Spec.Volumes = []corev1.Volume{{
			Name: "data",
			VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			},
		}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	}
	if _, err := client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, name, err)
	}
}

// poll waits up to a minute for cond, failing t with what if it never holds.
func poll(t *testing.T, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			ok, err := cond(ctx)
			last = err
			return ok, nil // keep polling through transient errors
		})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)", what, err, last)
	}
}

func hasAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
