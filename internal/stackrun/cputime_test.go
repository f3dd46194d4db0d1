//go:build linux

package stackrun

import (
	"os"
	"testing"
	"time"
)

// CPUTime reads this process's own CPU, which grows while it spins.
func TestCPUTime(t *testing.T) {
	before, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		after, err := CPUTime(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not grow in 20s of spinning: %s", after)
		}
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
	}
	if _, err := CPUTime(-1); err == nil {
		t.Fatal("CPUTime of no process: no error")
	}
}
