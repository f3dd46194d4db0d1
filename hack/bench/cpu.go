package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/stackrun"
)

// cpuUse is CPU time by process name.
type cpuUse map[string]time.Duration

// cpuTimes reads the CPU each named process of the stack has used so far
// (/proc/<pid>/stat utime + stime), the PIDs from localstack's pids file
// (which stackrun.ChildProcesses fills) and from the processes the bench
// started itself (extraPIDs).
func (st *stack) cpuTimes(names []string) (cpuUse, error) {
	use := cpuUse{}
	for _, name := range names {
		pid, ok := st.extraPIDs[name]
		if !ok {
			var err error
			if pid, err = readPID(filepath.Join(st.logsDir, "pids"), name); err != nil {
				return nil, err
			}
		}
		t, err := stackrun.CPUTime(pid)
		if err != nil {
			return nil, err
		}
		use[name] = t
	}
	return use, nil
}

// minus is the CPU used between before and u.
func (u cpuUse) minus(before cpuUse) cpuUse {
	d := cpuUse{}
	for name, t := range u {
		d[name] = t - before[name]
	}
	return d
}

// total is the CPU of every process together.
func (u cpuUse) total() time.Duration {
	var sum time.Duration
	for _, t := range u {
		sum += t
	}
	return sum
}

// perCallMs is the total CPU per call of n calls, in milliseconds.
func (u cpuUse) perCallMs(n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(u.total().Microseconds()) / 1000 / float64(n)
}

// String names the CPU per call of n calls of each process, largest first.
func (u cpuUse) String(n int) string {
	names := make([]string, 0, len(u))
	for name := range u {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return u[names[i]] > u[names[j]] })
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", name, float64(u[name].Microseconds())/1000/float64(max(n, 1))))
	}
	return strings.Join(parts, ", ")
}
