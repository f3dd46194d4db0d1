//go:build !linux

package stackrun

import (
	"errors"
	"time"
)

// ChildProcesses is unknown outside Linux: it returns none.
func ChildProcesses() (map[int]string, error) { return map[int]string{}, nil }

// CPUTime is unknown outside Linux.
func CPUTime(pid int) (time.Duration, error) {
	return 0, errors.New("CPU time of a process: only read on Linux (/proc)")
}
