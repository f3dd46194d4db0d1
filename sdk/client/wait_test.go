package client

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// scheduleAnswer is a schedule answer in the Python framework's shape.
func scheduleAnswer(state int, err, finishAt string) answer {
	return answer{Body: `{"result":true,"data":{"trace_id":"` + tid + `","plugin_version":"1.0.0","state":` +
		strconv.Itoa(state) + `,"outputs":{"n":1},"err":"` + err + `","created_at":"2024-05-06 07:08:09","finish_at":"` +
		finishAt + `"},"trace_id":"r","message":""}`}
}

func TestWaitTerminal(t *testing.T) {
	tests := []struct {
		name        string
		script      []answer
		wantState   protocol.State
		wantErr     string
		wantChanges []protocol.State
		wantCalls   int
	}{
		{
			name: "reaches SUCCESS through POLL and CALLBACK",
			script: []answer{
				scheduleAnswer(2, "", ""), scheduleAnswer(2, "", ""), scheduleAnswer(3, "", ""),
				scheduleAnswer(4, "", "2024-05-06 07:09:00"),
			},
			wantState:   protocol.StateSuccess,
			wantChanges: []protocol.State{protocol.StatePoll, protocol.StateCallback, protocol.StateSuccess},
			wantCalls:   4,
		},
		{
			name:        "reaches FAIL, which is an outcome, not an error",
			script:      []answer{scheduleAnswer(2, "", ""), scheduleAnswer(5, "inputs validation error: name is required", "2024-05-06 07:09:00")},
			wantState:   protocol.StateFail,
			wantErr:     "inputs validation error: name is required",
			wantChanges: []protocol.State{protocol.StatePoll, protocol.StateFail},
			wantCalls:   2,
		},
		{
			name:        "already terminal: one call",
			script:      []answer{scheduleAnswer(4, "", "2024-05-06 07:09:00")},
			wantState:   protocol.StateSuccess,
			wantChanges: []protocol.State{protocol.StateSuccess},
			wantCalls:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shim := newFakeShim(t, tt.script...)
			c := shim.newClient(Options{})
			var changes []protocol.State
			got, err := c.WaitTerminal(context.Background(), "hello", tid, time.Millisecond, func(s stdapi.ScheduleData) {
				changes = append(changes, s.State)
			})
			if err != nil {
				t.Fatalf("WaitTerminal: %v", err)
			}
			if got.State != tt.wantState || got.Err != tt.wantErr {
				t.Errorf("ended %v %q, want %v %q", got.State, got.Err, tt.wantState, tt.wantErr)
			}
			if got.FinishAt.IsZero() {
				t.Error("terminal schedule has no finish_at")
			}
			if !reflect.DeepEqual(changes, tt.wantChanges) {
				t.Errorf("changes %v, want %v", changes, tt.wantChanges)
			}
			reqs := shim.requests()
			if len(reqs) != tt.wantCalls {
				t.Errorf("schedule called %d times, want %d", len(reqs), tt.wantCalls)
			}
			for _, r := range reqs {
				if r.Method != "GET" || r.Path != "/plugins/hello/bk_plugin/schedule/"+tid {
					t.Errorf("request %s %s", r.Method, r.Path)
				}
			}
		})
	}
}

func TestWaitTerminalHonoursContext(t *testing.T) {
	shim := newFakeShim(t, scheduleAnswer(3, "", ""))
	c := shim.newClient(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := c.WaitTerminal(ctx, "hello", tid, 5*time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if !strings.Contains(err.Error(), "CALLBACK") {
		t.Errorf("error %q does not say the last state", err)
	}
	if got == nil || got.State != protocol.StateCallback {
		t.Errorf("want the last schedule seen (CALLBACK), got %+v", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("wait outlived its context by far: %v", d)
	}
	if n := len(shim.requests()); n < 2 {
		t.Errorf("schedule called %d times in 300ms at a 5ms interval", n)
	}
}

func TestWaitTerminalStopsOnAPIError(t *testing.T) {
	shim := newFakeShim(t, scheduleAnswer(2, "", ""),
		answer{Body: `{"result":false,"data":null,"message":"can not find schedule for trace_id ` + tid + `","trace_id":"r"}`})
	c := shim.newClient(Options{})
	got, err := c.WaitTerminal(context.Background(), "hello", tid, time.Millisecond, nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "can not find schedule") {
		t.Fatalf("got %v, want the APIError", err)
	}
	if got == nil || got.State != protocol.StatePoll {
		t.Errorf("want the last schedule seen (POLL), got %+v", got)
	}
}
