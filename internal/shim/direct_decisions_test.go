package shim

import (
	"testing"

	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestNeedsCluster(t *testing.T) {
	direct := directChoice{Mode: SyncInvokeDirect, Archive: true, Version: &bkv1.PluginVersion{}}
	with := func(f func(*directChoice)) directChoice { c := direct; f(&c); return c }
	for _, tc := range []struct {
		name string
		call directChoice
		want bool
		why  string
	}{
		{"a plain synchronous call runs direct", direct, false, ""},
		{"cluster mode keeps every call a PluginInvocation", with(func(c *directChoice) { c.Mode = SyncInvokeCluster }), true, "mode"},
		{"async: nothing waits for the execute", with(func(c *directChoice) { c.Async = true }), true, "async"},
		{"a finish notification is the manager's", with(func(c *directChoice) { c.Notification = &bkv1.FinishNotification{URL: "http://x"} }), true, "notification"},
		{"a deadline is the manager's", with(func(c *directChoice) { c.Deadline = true }), true, "deadline"},
		{"a retry policy: the manager retries", with(func(c *directChoice) { c.Retry = true }), true, "retry"},
		{"a capped version: the manager counts what runs", with(func(c *directChoice) {
			c.Version = &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Limits: &bkv1.ExecutionLimits{MaxActiveInvocations: ptr.To[int32](2)}}}
		}), true, "limits"},
		{"a rate-limited version: the manager counts what runs", with(func(c *directChoice) {
			c.Version = &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Limits: &bkv1.ExecutionLimits{ExecutesPerSecond: ptr.To[int32](5)}}}
		}), true, "limits"},
		{"empty limits cap nothing", with(func(c *directChoice) {
			c.Version = &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Limits: &bkv1.ExecutionLimits{}}}
		}), false, ""},
		{"no archive: no place for a finished call", with(func(c *directChoice) { c.Archive = false }), true, "no_archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := needsCluster(tc.call)
			if got != tc.want || why != tc.why {
				t.Errorf("needsCluster = %v %q, want %v %q", got, why, tc.want, tc.why)
			}
		})
	}
}

func TestParseSyncInvoke(t *testing.T) {
	for in, want := range map[string]string{"": SyncInvokeDirect, "direct": SyncInvokeDirect, "cluster": SyncInvokeCluster} {
		if got, err := ParseSyncInvoke(in); err != nil || got != want {
			t.Errorf("ParseSyncInvoke(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSyncInvoke("Direct"); err == nil {
		t.Error("ParseSyncInvoke(\"Direct\") accepted a value it does not know")
	}
}

func TestKeyedLocksSerialiseOneKey(t *testing.T) {
	l := newKeyedLocks()
	unlock := l.lock("ns/a")
	got := make(chan string, 2)
	go func() { u := l.lock("ns/a"); got <- "second"; u() }()
	other := l.lock("ns/b") // another key never waits
	got <- "other"
	other()
	got <- "first"
	unlock()
	want := []string{"other", "first", "second"}
	for i, w := range want {
		if g := <-got; g != w {
			t.Fatalf("event %d = %q, want %q", i, g, w)
		}
	}
	if n := l.held(); n != 0 {
		t.Errorf("%d keys still held after every unlock", n)
	}
}
