package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// waitOptions are the flags of the commands that wait for an invocation.
type waitOptions struct {
	// enabled is --wait: follow the invocation until it has ended.
	enabled bool
	// interval is the schedule poll interval.
	interval time.Duration
	// timeout bounds the wait; 0 waits until Ctrl-C.
	timeout time.Duration
	// quiet hides progress.
	quiet bool
}

// progressEvery is how often a wait with no state change says it is still
// waiting, so that a long POLL does not look like a hang.
const progressEvery = 10 * time.Second

// readAndWait reads the invocation's schedule with read (client.Schedule,
// or client.Cancel) and, with --wait, follows the invocation until it has
// ended.
func (g *globals) readAndWait(ctx context.Context, c *client.Client, code, traceID string,
	read func(ctx context.Context, code, traceID string) (*stdapi.ScheduleData, error), o waitOptions,
) (*stdapi.ScheduleData, error) {
	s, err := read(ctx, code, traceID)
	if err != nil || !o.enabled || s.State.Terminal() {
		return s, err
	}
	return g.wait(ctx, c, code, traceID, o)
}

// wait polls the invocation until it is SUCCESS or FAIL, printing each
// state change and a periodic "still waiting" line on stderr.
func (g *globals) wait(ctx context.Context, c *client.Client, code, traceID string, o waitOptions) (*stdapi.ScheduleData, error) {
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	start := time.Now()
	changes := make(chan stdapi.ScheduleData, 8)
	type result struct {
		s   *stdapi.ScheduleData
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := c.WaitTerminal(ctx, code, traceID, o.interval, func(s stdapi.ScheduleData) {
			select {
			case changes <- s:
			default: // progress is best effort; never block the wait on it
			}
		})
		done <- result{s, err}
	}()
	ticker := time.NewTicker(progressEvery)
	defer ticker.Stop()
	state := "EMPTY"
	for {
		select {
		case s := <-changes:
			state = s.State.String()
			g.progress(o, "%s %s: %s after %s", code, traceID, state, since(start))
		case <-ticker.C:
			g.progress(o, "%s %s: still %s after %s", code, traceID, state, since(start))
		case r := <-done:
			// Drain a last change sent just before the wait ended.
			for len(changes) > 0 {
				s := <-changes
				g.progress(o, "%s %s: %s after %s", code, traceID, s.State, since(start))
			}
			return r.s, r.err
		}
	}
}

func (g *globals) progress(o waitOptions, format string, args ...any) {
	if o.quiet {
		return
	}
	fmt.Fprintf(g.io.Err, "waiting: "+format+"\n", args...)
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// failedError is the error of a command whose invocation ended FAIL: the
// result is printed, and the exit status says it failed.
type failedError struct {
	code, traceID, msg string
}

func (e *failedError) Error() string {
	return fmt.Sprintf("invocation %s of plugin %s ended FAIL: %s", e.traceID, e.code, e.msg)
}
