package versions

import (
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apitypes "k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestReprobeDue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gap := 2 * time.Second
	cases := []struct {
		name  string
		last  time.Time
		asked bool
		now   time.Time
		want  bool
	}{
		{"never asked", time.Time{}, false, t0, true},
		{"asked just now", t0, true, t0, false},
		{"within the gap", t0, true, t0.Add(gap - time.Millisecond), false},
		{"at the gap", t0, true, t0.Add(gap), true},
		{"long after", t0, true, t0.Add(time.Hour), true},
		{"clock went back", t0, true, t0.Add(-time.Second), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReprobeDue(tc.last, tc.asked, tc.now, gap); got != tc.want {
				t.Fatalf("ReprobeDue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReprobeRequestKeepsToTheGapPerVersion(t *testing.T) {
	p := NewReprobe(time.Second)
	a := &bkv1.PluginVersion{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", UID: "uid-a"}}
	b := &bkv1.PluginVersion{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", UID: "uid-b"}}
	t0 := time.Now()
	steps := []struct {
		plv  *bkv1.PluginVersion
		at   time.Duration
		want bool
	}{
		{a, 0, true},
		{a, 100 * time.Millisecond, false},
		{b, 100 * time.Millisecond, true},
		{a, time.Second, true},
	}
	for i, s := range steps {
		if got := p.Request(s.plv, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d (%s at %s): asked = %v, want %v", i, s.plv.Name, s.at, got, s.want)
		}
	}
	var names []string
	for len(p.Events()) > 0 {
		names = append(names, (<-p.Events()).Object.Name)
	}
	if want := []string{"a", "b", "a"}; len(names) != len(want) || names[0] != "a" || names[1] != "b" || names[2] != "a" {
		t.Fatalf("events for %v, want %v", names, want)
	}
}

func TestReprobeRequestNeverBlocks(t *testing.T) {
	p := NewReprobe(time.Second)
	now := time.Now()
	asked := 0
	for i := range reprobeBuffer + 10 {
		plv := &bkv1.PluginVersion{ObjectMeta: metav1.ObjectMeta{Name: "v", UID: uidOf(i)}}
		if p.Request(plv, now) {
			asked++
		}
	}
	if asked != reprobeBuffer {
		t.Fatalf("asked %d times, want the buffer's %d (the rest dropped, not blocked)", asked, reprobeBuffer)
	}
}

func uidOf(i int) apitypes.UID { return apitypes.UID("uid-" + strconv.Itoa(i)) }
