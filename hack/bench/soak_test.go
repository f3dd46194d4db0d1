package main

import (
	"testing"
	"time"
)

func TestRSSGrowth(t *testing.T) {
	// Samples every 2 s for 10 minutes; RSS grows 1 MiB a minute from 0.
	var grow, flat []rssSample
	for at := time.Duration(0); at < 10*time.Minute; at += 2 * time.Second {
		grow = append(grow, rssSample{at: at, manager: int64(at/time.Minute) << 20, shim: 100 << 20})
		flat = append(flat, rssSample{at: at, manager: 50 << 20, shim: 60 << 20})
	}
	m, s, w := rssGrowth(grow, time.Minute, 10*time.Minute)
	// Warm-up 90 s: the first window is [1.5m, 2.5m) (mean 1.5 MiB), the
	// last [9m, 10m) (9 MiB).
	if w != 60 || s != 0 || m < 7<<20 || m > 8<<20 {
		t.Errorf("growing: manager %d shim %d window %v; want about 7.5 MiB, 0, 60", m, s, w)
	}
	if m, s, _ := rssGrowth(flat, time.Minute, 10*time.Minute); m != 0 || s != 0 {
		t.Errorf("flat: manager %d shim %d, want 0", m, s)
	}
	// A 20 s run: warm-up a third, windows of what is left halved.
	short := grow[:10]
	if _, _, w := rssGrowth(short, time.Minute, 20*time.Second); w < 6 || w > 7 {
		t.Errorf("short run window %v s, want about 6.7", w)
	}
	if m, s, w := rssGrowth(nil, time.Minute, time.Minute); m != 0 || s != 0 || w != 0 {
		t.Errorf("no samples: %d %d %v", m, s, w)
	}
}
