package shim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// TestMergeHistoryPagesThroughBoth lists, page by page, a history where
// some invocations are only archived, some only live and some both (archived
// and not deleted yet), against a real archive, and wants each invocation
// exactly once, newest first, filtered as asked.
func TestMergeHistoryPagesThroughBoth(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Open(ctx, "sqlite://:memory:", archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })

	var live []historyItem
	type want struct {
		id      string
		state   protocol.State
		version string
		created time.Time
	}
	var all []want
	for i := range 40 {
		inv := finishedInvocation()
		inv.Name = fmt.Sprintf("%032x", 1000+i)
		// Several share a second, as CreationTimestamps do.
		inv.CreationTimestamp = *at(time.Duration(i/3) * time.Second)
		inv.Status.CompletionTime = at(time.Hour)
		if i%4 == 0 {
			inv.Status.State, inv.Status.Error = bkv1.StateFail, "no"
		}
		if i%5 == 0 {
			inv.Status.ResolvedVersion = "1.3.0"
		}
		where := i % 3 // 0: archived only, 1: live only, 2: both
		if i%7 == 6 {
			// Live and still running: never archived.
			inv.Status.State, inv.Status.CompletionTime, where = bkv1.StatePoll, nil, 1
		}
		if where != 1 {
			rec, err := history.Record(inv, history.Masking{})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Put(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		if where != 0 {
			live = append(live, historyItem{created: inv.CreationTimestamp.Time, summary: summaryOf(inv)})
		}
		all = append(all, want{id: inv.Name, state: summaryOf(inv).State, version: versionOf(inv), created: inv.CreationTimestamp.Time})
	}
	slices.SortFunc(all, func(x, y want) int {
		if c := y.created.Compare(x.created); c != 0 {
			return c
		}
		return strings.Compare(y.id, x.id)
	})

	for _, c := range []struct {
		name string
		q    historyQuery
		keep func(want) bool
	}{
		{"all", historyQuery{}, func(want) bool { return true }},
		{"FAIL", historyQuery{States: []protocol.State{protocol.StateFail}}, func(w want) bool { return w.state == protocol.StateFail }},
		{"POLL or SUCCESS", historyQuery{States: []protocol.State{protocol.StatePoll, protocol.StateSuccess}}, func(w want) bool {
			return w.state == protocol.StatePoll || w.state == protocol.StateSuccess
		}},
		{"version 1.3.0", historyQuery{Version: "1.3.0"}, func(w want) bool { return w.version == "1.3.0" }},
		{"created in [3s, 9s)", historyQuery{CreatedAfter: t0.Add(3 * time.Second), CreatedBefore: t0.Add(9 * time.Second)}, func(w want) bool {
			return !w.created.Before(t0.Add(3*time.Second)) && w.created.Before(t0.Add(9*time.Second))
		}},
	} {
		for _, limit := range []int{1, 4, 7, 50} {
			t.Run(fmt.Sprintf("%s by %d", c.name, limit), func(t *testing.T) {
				q := c.q
				q.Code, q.Limit = "hello", limit
				var got []string
				for pages := 0; ; pages++ {
					if pages > 100 {
						t.Fatal("the listing does not end")
					}
					opts := archive.ListOptions{Namespace: "ns", Plugin: q.Code, States: q.States, Version: q.Version,
						CreatedAfter: q.CreatedAfter, CreatedBefore: q.CreatedBefore, Limit: q.Limit}
					if q.After != nil {
						opts.Cursor = archive.CursorAfter(time.UnixMicro(q.After.CreatedAt), q.After.TraceID)
					}
					page, err := a.List(ctx, opts)
					if err != nil {
						t.Fatal(err)
					}
					out := mergeHistory(q, live, page)
					if len(out.Items) > limit {
						t.Fatalf("page of %d items, limit %d", len(out.Items), limit)
					}
					for _, it := range out.Items {
						got = append(got, it.TraceID)
					}
					if out.NextCursor == "" {
						break
					}
					cur, err := decodeHistoryCursor(out.NextCursor)
					if err != nil {
						t.Fatal(err)
					}
					q.After = &cur
				}
				var wantIDs []string
				for _, w := range all {
					if c.keep(w) {
						wantIDs = append(wantIDs, w.id)
					}
				}
				if !slices.Equal(got, wantIDs) {
					t.Errorf("listed\n %v\nwant\n %v", got, wantIDs)
				}
			})
		}
	}
}

func TestHistoryQueryOf(t *testing.T) {
	cursor := encodeHistoryCursor(historyItem{created: t0, summary: stdapi.InvocationSummary{TraceID: traceA}})
	for _, c := range []struct {
		query string
		check func(historyQuery) bool
		err   string
	}{
		{"", func(q historyQuery) bool {
			return q.Limit == archive.DefaultListLimit && q.States == nil && q.After == nil
		}, ""},
		{"state=FAIL", func(q historyQuery) bool { return slices.Equal(q.States, []protocol.State{protocol.StateFail}) }, ""},
		{"state=5,poll", func(q historyQuery) bool {
			return slices.Equal(q.States, []protocol.State{protocol.StateFail, protocol.StatePoll})
		}, ""},
		{"state=DONE", nil, `state="DONE" is not a state`},
		{"state=9", nil, `state="9" is not a state`},
		{"limit=0", nil, "limit=\"0\" must be a whole number from 1 to 500"},
		{"limit=501", nil, "from 1 to 500"},
		{"limit=x", nil, "from 1 to 500"},
		{"limit=10&version=1.0.0", func(q historyQuery) bool { return q.Limit == 10 && q.Version == "1.0.0" }, ""},
		{"created_after=2026-11-30T08:00:00Z&created_before=2026-11-30T09:00:00%2B01:00", nil, "created_after must be before created_before"},
		{"created_after=2026-11-30T08:00:00Z", func(q historyQuery) bool { return q.CreatedAfter.Equal(t0) }, ""},
		{"created_before=yesterday", nil, `created_before="yesterday" is not an RFC 3339 time`},
		{"cursor=" + cursor, func(q historyQuery) bool { return q.After != nil && q.After.TraceID == traceA }, ""},
		{"cursor=abc", nil, "is not a cursor this shim returned"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/plugins/hello/bk_plugin/invocations?"+c.query, nil)
		q, err := historyQueryOf("hello", r)
		if c.err != "" {
			status, msg := statusOf(err)
			if err == nil || status != http.StatusBadRequest || !strings.Contains(msg, c.err) {
				t.Errorf("%q: error %v, want 400 containing %q", c.query, err, c.err)
			}
			continue
		}
		if err != nil || !c.check(q) {
			t.Errorf("%q: %+v, %v", c.query, q, err)
		}
	}
}

func TestSameArchivedCall(t *testing.T) {
	inv := finishedInvocation()
	inv.Spec.Inputs = js(`{"name":"world","password":"******"}`)
	rec, err := history.Record(inv, history.Masking{SecretInputs: []string{"password"}})
	if err != nil {
		t.Fatal(err)
	}
	call := func(code, version, inputs, ctx string) invokeCall {
		return invokeCall{Code: code, Version: version, TraceID: traceA,
			Request: stdapi.InvokeRequest{Inputs: []byte(inputs), Context: []byte(ctx)}}
	}
	sensitive := []string{"password"}
	for _, c := range []struct {
		name   string
		call   invokeCall
		public string // the inputs without the sensitive ones, as invoke has them
		err    string
	}{
		{"the same call", call("hello", "^1.0", `{"name":"world","password":"s3cret"}`, `{"project":7}`), `{"name":"world"}`, ""},
		{"the same call, keys in another order", call("hello", "^1.0", `{}`, `{ "project" : 7 }`), `{"name": "world"}`, ""},
		{"another plugin", call("bye", "^1.0", `{}`, `{"project":7}`), `{"name":"world"}`, "not of plugin bye"},
		{"another version", call("hello", "1.0.0", `{}`, `{"project":7}`), `{"name":"world"}`, "not of plugin hello version 1.0.0"},
		{"other inputs", call("hello", "^1.0", `{}`, `{"project":7}`), `{"name":"moon"}`, "with other inputs"},
		{"another context", call("hello", "^1.0", `{}`, `{"project":8}`), `{"name":"world"}`, "with another context"},
	} {
		err := sameArchivedCall(&rec, c.call, []byte(c.public), sensitive)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "":
			status, msg := statusOf(err)
			if status != http.StatusConflict || !strings.Contains(msg, c.err) {
				t.Errorf("%s: %d %q, want 409 containing %q", c.name, status, msg, c.err)
			}
		}
	}
}

// TestArchiveDownAnswers503 reads through to an archive whose database
// never answers: every read that needs it is 503 saying so, never 404 (the
// invocation may exist) nor 500.
func TestArchiveDownAnswers503(t *testing.T) {
	ctx := context.Background()
	d, err := archive.OpenDeferred(ctx, "postgres://bk@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", archive.Options{},
		archive.DeferredOptions{MinBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	past := &readThrough{arch: d}
	s := &invocations{namespace: "ns", past: past}
	check := func(what string, err error) {
		t.Helper()
		status, msg := statusOf(err)
		if status != http.StatusServiceUnavailable || !strings.Contains(msg, "cannot be read now") {
			t.Errorf("%s: %d %q, want 503 saying the archive cannot be read now", what, status, msg)
		}
	}
	_, _, err = s.archived(ctx, traceA)
	check("get", err)
	rec := archive.Record{Key: archive.Key{Namespace: "ns", TraceID: traceA}}
	_, err = (&logs{past: past}).archivedLog(ctx, &rec, logPage{})
	check("logs", err)
	_, err = s.invokeArchived(ctx, invokeCall{TraceID: traceA, CallerTraceID: false}, nil, nil)
	if err != nil {
		t.Errorf("an invoke without a trace id of its own needs no archive, got %v", err)
	}
}
