package canary

import (
	"sync"
	"testing"
	"time"
)

func TestWindowCountsWithinTheWindow(t *testing.T) {
	k := Key{Namespace: "ns", Plugin: "hello", Version: "1.3.0"}
	other := Key{Namespace: "ns", Plugin: "hello", Version: "1.2.0"}
	t0 := time.Unix(1_000_000, 0)
	tests := []struct {
		name   string
		record func(w *Window)
		window time.Duration
		now    time.Time
		want   Counts
	}{
		{"empty", func(*Window) {}, time.Minute, t0, Counts{}},
		{"successes and failures", func(w *Window) {
			w.Record(k, false, t0)
			w.Record(k, true, t0.Add(time.Second))
			w.Record(k, true, t0.Add(2*time.Second))
		}, time.Minute, t0.Add(3 * time.Second), Counts{Samples: 3, Failures: 2}},
		{"older than the window left out", func(w *Window) {
			w.Record(k, true, t0)
			w.Record(k, false, t0.Add(50*time.Second))
		}, 30 * time.Second, t0.Add(60 * time.Second), Counts{Samples: 1}},
		{"other versions apart", func(w *Window) {
			w.Record(other, true, t0)
			w.Record(k, false, t0)
		}, time.Minute, t0, Counts{Samples: 1}},
		{"late outcome lands in the latest bucket", func(w *Window) {
			w.Record(k, false, t0.Add(5*time.Second))
			w.Record(k, true, t0)
		}, time.Minute, t0.Add(5 * time.Second), Counts{Samples: 2, Failures: 1}},
		{"window beyond MaxWindow is MaxWindow", func(w *Window) {
			w.Record(k, true, t0)
			w.Record(k, false, t0.Add(MaxWindow+time.Minute))
		}, 3 * MaxWindow, t0.Add(MaxWindow + time.Minute), Counts{Samples: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow()
			tc.record(w)
			if got := w.Count(k, tc.window, tc.now); got != tc.want {
				t.Errorf("Count = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNilWindowIsInert(t *testing.T) {
	var w *Window
	w.Record(Key{}, true, time.Now())
	if got := w.Count(Key{}, time.Minute, time.Now()); got != (Counts{}) {
		t.Errorf("nil window counted %+v", got)
	}
}

func TestWindowForgetsOldVersions(t *testing.T) {
	w := NewWindow()
	t0 := time.Unix(1_000_000, 0)
	w.Record(Key{Version: "gone"}, true, t0)
	later := t0.Add(2 * MaxWindow)
	for i := range sweepEvery {
		w.Record(Key{Version: "live"}, false, later.Add(time.Duration(i)*time.Millisecond))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.series[Key{Version: "gone"}]; ok {
		t.Error("a version with nothing within MaxWindow is still held after a sweep")
	}
	if n := len(w.series[Key{Version: "live"}]); n > int(MaxWindow/time.Second)+1 {
		t.Errorf("live version holds %d buckets, more than one per second of MaxWindow", n)
	}
}

func TestWindowIsSafeForConcurrentUse(t *testing.T) {
	w := NewWindow()
	k := Key{Version: "1.0.0"}
	now := time.Now()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				w.Record(k, (g+i)%2 == 0, now)
			}
		}()
	}
	wg.Wait()
	if got := w.Count(k, time.Minute, now); got.Samples != 800 || got.Failures != 400 {
		t.Errorf("Count = %+v, want 800 samples, 400 failures", got)
	}
}
