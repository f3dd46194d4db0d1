//go:build envtest

package archive_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// base is a fixed instant in a non-UTC zone with nanoseconds, so that tests
// see the archive's normalisation (UTC, microseconds).
var base = time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.FixedZone("CST", 8*3600))

// record returns a finished invocation of hello created at base+i seconds.
func record(ns, trace string, i int) archive.Record {
	created := base.Add(time.Duration(i) * time.Second)
	return archive.Record{
		Key:              archive.Key{Namespace: ns, TraceID: trace},
		Plugin:           "hello",
		RequestedVersion: "^1.0",
		ResolvedVersion:  "1.0.0",
		State:            protocol.StateSuccess,
		Inputs:           json.RawMessage(`{"name":"world"}`),
		Outputs:          json.RawMessage(`{"greeting":"hello, world"}`),
		InvokeCount:      1,
		Caller:           archive.Caller{AppCode: "bk-sops", Username: "admin"},
		CreatedAt:        created,
		StartedAt:        created.Add(10 * time.Millisecond),
		FinishedAt:       created.Add(50 * time.Millisecond),
		Timeline: []archive.TimelineEntry{
			{Time: created, State: "EMPTY", Reason: "Created", Message: "invoked by bk-sops"},
			{Time: created.Add(50 * time.Millisecond), State: "SUCCESS", Reason: "Succeeded", Message: "succeeded after 1 executes"},
		},
		Logs: []string{"greeting world", "done"},
	}
}

// stored is what Get returns for rec: times in UTC to the microsecond, no
// log lines.
func stored(rec archive.Record) archive.Record {
	tr := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.Truncate(time.Microsecond).UTC()
	}
	rec.CreatedAt, rec.StartedAt, rec.FinishedAt = tr(rec.CreatedAt), tr(rec.StartedAt), tr(rec.FinishedAt)
	tl := slices.Clone(rec.Timeline)
	for i := range tl {
		tl[i].Time = tr(tl[i].Time)
	}
	rec.Timeline = tl
	rec.Logs = nil
	return rec
}

// diff compares records, ignoring when they were archived.
func diff(want, got archive.Record) string {
	return cmp.Diff(want, got, cmpopts.IgnoreFields(archive.Record{}, "ArchivedAt"))
}

// listAll pages through a listing with the given page size.
func listAll(t *testing.T, a archive.Archive, opts archive.ListOptions) []archive.Record {
	t.Helper()
	var all []archive.Record
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("listing does not end")
		}
		page, err := a.List(context.Background(), opts)
		if err != nil {
			t.Fatalf("List(%+v): %v", opts, err)
		}
		if opts.Limit > 0 && len(page.Items) > opts.Limit {
			t.Fatalf("page of %d items, limit %d", len(page.Items), opts.Limit)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		opts.Cursor = page.NextCursor
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{})
		rec := record("default", "5c1f0e9ad2b84f6c9e0f7a1b2c3d5f60", 0)
		// Masked values, key order, number spelling and non-ASCII text come
		// back byte for byte.
		rec.Inputs = json.RawMessage(`{"zeta":1,"password":"******","nested":{"b":2.50,"a":["x",null,true]},"名字":"世界"}`)
		rec.Context = json.RawMessage(`{"project_id":3}`)
		rec.Outputs = json.RawMessage(`{"token":"******","url":"https://example.com/?a=1&b=2"}`)
		rec.State = protocol.StateFail
		rec.Error = "plugin said: \"no\"\nsecond line ☹"
		rec.InvokeCount = 7
		rec.Attempts = json.RawMessage(`[{"time":"2026-11-30T00:00:00Z","error":"connection refused"}]`)
		if err := a.Put(ctx, rec); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err := a.Get(ctx, rec.Key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if d := diff(stored(rec), got); d != "" {
			t.Errorf("Get differs from what was put (-want +got):\n%s", d)
		}
		if got.ArchivedAt.IsZero() || time.Since(got.ArchivedAt) > time.Hour {
			t.Errorf("ArchivedAt = %v, want about now", got.ArchivedAt)
		}

		// Optional fields stay empty: no started time, no JSON, no timeline.
		bare := record("default", "bare", 1)
		bare.StartedAt, bare.Inputs, bare.Outputs, bare.Timeline, bare.Logs = time.Time{}, nil, nil, nil, nil
		bare.ResolvedVersion, bare.Caller = "", archive.Caller{}
		if err := a.Put(ctx, bare); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err = a.Get(ctx, bare.Key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if d := diff(stored(bare), got); d != "" {
			t.Errorf("Get of a bare record (-want +got):\n%s", d)
		}
	})
}

func TestGetUnknown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		a := open(t, be.dsn(t), archive.Options{})
		_, err := a.Get(context.Background(), archive.Key{Namespace: "default", TraceID: "nope"})
		if !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("Get of an unknown key: %v, want ErrNotFound", err)
		}
		_, err = a.Get(context.Background(), archive.Key{Namespace: "", TraceID: "x"})
		if !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("Get without a namespace: %v, want ErrInvalid", err)
		}
	})
}

func TestPutIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{})
		rec := record("default", "again", 0)
		for i := 0; i < 3; i++ {
			if err := a.Put(ctx, rec); err != nil {
				t.Fatalf("Put #%d: %v", i+1, err)
			}
		}
		items := listAll(t, a, archive.ListOptions{Namespace: "default"})
		if len(items) != 1 {
			t.Fatalf("after three Puts of one record the archive holds %d rows, want 1", len(items))
		}
		logs, err := a.Logs(ctx, rec.Key, 0, 0)
		if err != nil {
			t.Fatalf("Logs: %v", err)
		}
		if !slices.Equal(logs.Lines, rec.Logs) || logs.Total != len(rec.Logs) {
			t.Errorf("logs after three Puts = %q (total %d), want %q", logs.Lines, logs.Total, rec.Logs)
		}

		// A later Put of the same key replaces the row and its logs.
		rec.Outputs = json.RawMessage(`{"greeting":"hi"}`)
		rec.Logs = []string{"only line"}
		if err := a.Put(ctx, rec); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err := a.Get(ctx, rec.Key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if d := diff(stored(rec), got); d != "" {
			t.Errorf("Get after a replacing Put (-want +got):\n%s", d)
		}
		logs, err = a.Logs(ctx, rec.Key, 0, 0)
		if err != nil || !slices.Equal(logs.Lines, rec.Logs) {
			t.Errorf("logs after a replacing Put = %q, %v; want %q", logs.Lines, err, rec.Logs)
		}
	})
}

func TestPutRejectsInvalid(t *testing.T) {
	cases := []struct {
		name   string
		change func(*archive.Record)
		want   string
	}{
		{"no namespace", func(r *archive.Record) { r.Namespace = "" }, "namespace is empty"},
		{"no trace id", func(r *archive.Record) { r.TraceID = "" }, "trace id is empty"},
		{"long trace id", func(r *archive.Record) { r.TraceID = strings.Repeat("a", 129) }, "trace id is 129 bytes long"},
		{"no plugin", func(r *archive.Record) { r.Plugin = "" }, "plugin is empty"},
		{"no version", func(r *archive.Record) { r.RequestedVersion = "" }, "requested version is empty"},
		{"live state", func(r *archive.Record) { r.State = protocol.StatePoll }, "state POLL is not terminal"},
		{"unknown state", func(r *archive.Record) { r.State = 9 }, "state State(9) is not terminal"},
		{"no created time", func(r *archive.Record) { r.CreatedAt = time.Time{} }, "created time is missing"},
		{"no finished time", func(r *archive.Record) { r.FinishedAt = time.Time{} }, "finished time is missing"},
		{"bad inputs", func(r *archive.Record) { r.Inputs = json.RawMessage(`{"a":`) }, "inputs are not valid JSON"},
		{"bad attempts", func(r *archive.Record) { r.Attempts = json.RawMessage(`nope`) }, "attempts are not valid JSON"},
		{"negative invoke count", func(r *archive.Record) { r.InvokeCount = -1 }, "invoke count -1 is negative"},
		{"NUL in a log line", func(r *archive.Record) { r.Logs = []string{"ok", "a\x00b"} }, "log line 1 holds a NUL byte"},
		{"bad UTF-8 error", func(r *archive.Record) { r.Error = "\xff" }, "error is not valid UTF-8"},
	}
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{})
		for _, c := range cases {
			rec := record("default", "bad", 0)
			c.change(&rec)
			err := a.Put(ctx, rec)
			if !errors.Is(err, archive.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: Put = %v, want ErrInvalid saying %q", c.name, err, c.want)
			}
		}
		if items := listAll(t, a, archive.ListOptions{Namespace: "default"}); len(items) != 0 {
			t.Errorf("invalid records were stored: %d rows", len(items))
		}
	})
}

func TestListFiltersAndPaging(t *testing.T) {
	// 30 invocations of hello in default (versions, states alternating, one
	// per second, two pairs created at the same instant), 5 of another
	// plugin, 3 in another namespace.
	var all []archive.Record
	for i := 0; i < 30; i++ {
		r := record("default", fmt.Sprintf("h%02d", i), i)
		if i%3 == 0 {
			r.State, r.Error = protocol.StateFail, "boom"
		}
		if i%2 == 0 {
			r.ResolvedVersion = "1.1.0"
		}
		if i == 11 || i == 21 {
			r.CreatedAt = all[i-1].CreatedAt // ties are ordered by trace id
		}
		all = append(all, r)
	}
	for i := 0; i < 5; i++ {
		r := record("default", fmt.Sprintf("o%02d", i), 100+i)
		r.Plugin = "other"
		all = append(all, r)
	}
	for i := 0; i < 3; i++ {
		all = append(all, record("elsewhere", fmt.Sprintf("e%02d", i), i))
	}
	// want filters all in Go and sorts newest first: the oracle.
	want := func(keep func(archive.Record) bool) []archive.Record {
		var out []archive.Record
		for _, r := range all {
			if keep(r) {
				out = append(out, stored(r))
			}
		}
		slices.SortFunc(out, func(x, y archive.Record) int {
			if c := y.CreatedAt.Compare(x.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(y.TraceID, x.TraceID)
		})
		return out
	}
	hello := func(r archive.Record) bool { return r.Namespace == "default" && r.Plugin == "hello" }
	cases := []struct {
		name string
		opts archive.ListOptions
		keep func(archive.Record) bool
	}{
		{"namespace", archive.ListOptions{Namespace: "default"}, func(r archive.Record) bool { return r.Namespace == "default" }},
		{"plugin", archive.ListOptions{Namespace: "default", Plugin: "hello"}, hello},
		{"other namespace", archive.ListOptions{Namespace: "elsewhere", Plugin: "hello"}, func(r archive.Record) bool { return r.Namespace == "elsewhere" }},
		{"state", archive.ListOptions{Namespace: "default", Plugin: "hello", States: []protocol.State{protocol.StateFail}},
			func(r archive.Record) bool { return hello(r) && r.State == protocol.StateFail }},
		{"states", archive.ListOptions{Namespace: "default", Plugin: "hello", States: []protocol.State{protocol.StateFail, protocol.StateSuccess}}, hello},
		{"version", archive.ListOptions{Namespace: "default", Plugin: "hello", Version: "1.1.0"},
			func(r archive.Record) bool { return hello(r) && r.ResolvedVersion == "1.1.0" }},
		{"time range", archive.ListOptions{Namespace: "default", Plugin: "hello", CreatedAfter: base.Add(5 * time.Second), CreatedBefore: base.Add(20 * time.Second)},
			func(r archive.Record) bool {
				return hello(r) && !r.CreatedAt.Before(base.Add(5*time.Second)) && r.CreatedAt.Before(base.Add(20*time.Second))
			}},
		{"all filters", archive.ListOptions{Namespace: "default", Plugin: "hello", Version: "1.1.0", States: []protocol.State{protocol.StateSuccess},
			CreatedAfter: base.Add(3 * time.Second)},
			func(r archive.Record) bool {
				return hello(r) && r.ResolvedVersion == "1.1.0" && r.State == protocol.StateSuccess && !r.CreatedAt.Before(base.Add(3*time.Second))
			}},
		{"nothing", archive.ListOptions{Namespace: "default", Plugin: "missing"}, func(archive.Record) bool { return false }},
	}
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{})
		for _, r := range all {
			if err := a.Put(ctx, r); err != nil {
				t.Fatalf("Put: %v", err)
			}
		}
		for _, c := range cases {
			expected := want(c.keep)
			for _, limit := range []int{0, 1, 7, 500} {
				opts := c.opts
				opts.Limit = limit
				got := listAll(t, a, opts)
				for i := range got {
					if got[i].Logs != nil {
						t.Errorf("%s: listed items carry log lines", c.name)
					}
				}
				if d := cmp.Diff(expected, got, cmpopts.IgnoreFields(archive.Record{}, "ArchivedAt"), cmpopts.EquateEmpty()); d != "" {
					t.Errorf("%s, pages of %d (-want +got):\n%s", c.name, limit, d)
				}
			}
		}
		bad := []struct {
			name string
			opts archive.ListOptions
			want string
		}{
			{"no namespace", archive.ListOptions{Plugin: "hello"}, "list needs a namespace"},
			{"limit too large", archive.ListOptions{Namespace: "default", Limit: 501}, "limit 501 is out of range"},
			{"negative limit", archive.ListOptions{Namespace: "default", Limit: -1}, "limit -1 is out of range"},
			{"bad cursor", archive.ListOptions{Namespace: "default", Cursor: "not-a-cursor"}, "cursor \"not-a-cursor\" is not one"},
			{"bad state", archive.ListOptions{Namespace: "default", States: []protocol.State{7}}, "state 7 is not one of"},
			{"empty range", archive.ListOptions{Namespace: "default", CreatedAfter: base, CreatedBefore: base}, "is not before"},
		}
		for _, c := range bad {
			_, err := a.List(ctx, c.opts)
			if !errors.Is(err, archive.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: List = %v, want ErrInvalid saying %q", c.name, err, c.want)
			}
		}
	})
}

func TestLogsPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{})
		rec := record("default", "long", 0)
		rec.Logs = nil
		for i := 0; i < 1234; i++ {
			rec.Logs = append(rec.Logs, fmt.Sprintf("line %d: ünïcödé", i))
		}
		if err := a.Put(ctx, rec); err != nil {
			t.Fatalf("Put: %v", err)
		}
		for _, c := range []struct{ offset, limit, from, to int }{
			{0, 0, 0, 500}, {0, 10, 0, 10}, {500, 500, 500, 1000}, {1200, 500, 1200, 1234}, {1234, 10, 1234, 1234}, {5000, 10, 1234, 1234},
		} {
			page, err := a.Logs(ctx, rec.Key, c.offset, c.limit)
			if err != nil {
				t.Fatalf("Logs(%d, %d): %v", c.offset, c.limit, err)
			}
			if page.Total != 1234 || page.Offset != c.offset || !slices.Equal(page.Lines, rec.Logs[c.from:c.to]) {
				t.Errorf("Logs(%d, %d) = %d lines from %d of %d, want lines %d-%d of 1234",
					c.offset, c.limit, len(page.Lines), page.Offset, page.Total, c.from, c.to)
			}
		}
		empty := record("default", "quiet", 1)
		empty.Logs = nil
		if err := a.Put(ctx, empty); err != nil {
			t.Fatalf("Put: %v", err)
		}
		page, err := a.Logs(ctx, empty.Key, 0, 0)
		if err != nil || page.Total != 0 || page.Lines == nil || len(page.Lines) != 0 {
			t.Errorf("Logs of an invocation without lines = %+v, %v; want an empty page", page, err)
		}
		if _, err := a.Logs(ctx, archive.Key{Namespace: "default", TraceID: "nope"}, 0, 0); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("Logs of an unknown key: %v, want ErrNotFound", err)
		}
		for _, c := range []struct{ offset, limit int }{{-1, 10}, {0, -1}, {0, archive.MaxLogLimit + 1}} {
			if _, err := a.Logs(ctx, rec.Key, c.offset, c.limit); !errors.Is(err, archive.ErrInvalid) {
				t.Errorf("Logs(%d, %d): %v, want ErrInvalid", c.offset, c.limit, err)
			}
		}
	})
}

func TestAppendLogs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{})
		rec := record("default", "appended", 0)
		rec.Logs = []string{"l0", "l1", "l2"}
		if err := a.Put(ctx, rec); err != nil {
			t.Fatalf("Put: %v", err)
		}
		steps := []struct {
			from  int64
			lines []string
			want  []string
		}{
			{3, []string{"l3", "l4"}, []string{"l0", "l1", "l2", "l3", "l4"}},
			{3, []string{"l3", "l4"}, []string{"l0", "l1", "l2", "l3", "l4"}},          // a retry writes nothing twice
			{4, []string{"other", "l5"}, []string{"l0", "l1", "l2", "l3", "l4", "l5"}}, // stored lines stay
			{6, nil, []string{"l0", "l1", "l2", "l3", "l4", "l5"}},
		}
		for _, s := range steps {
			if err := a.AppendLogs(ctx, rec.Key, s.from, s.lines); err != nil {
				t.Fatalf("AppendLogs(%d, %q): %v", s.from, s.lines, err)
			}
			page, err := a.Logs(ctx, rec.Key, 0, 0)
			if err != nil || !slices.Equal(page.Lines, s.want) || page.Total != len(s.want) {
				t.Errorf("after AppendLogs(%d, %q): %q (total %d), %v; want %q", s.from, s.lines, page.Lines, page.Total, err, s.want)
			}
		}
		if err := a.AppendLogs(ctx, rec.Key, 10, []string{"x"}); !errors.Is(err, archive.ErrInvalid) || !strings.Contains(err.Error(), "gap") {
			t.Errorf("AppendLogs past the end: %v, want ErrInvalid naming the gap", err)
		}
		if err := a.AppendLogs(ctx, archive.Key{Namespace: "default", TraceID: "nope"}, 0, []string{"x"}); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("AppendLogs to an unknown key: %v, want ErrNotFound", err)
		}
		if err := a.AppendLogs(ctx, rec.Key, 6, []string{"\xff"}); !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("AppendLogs of bad UTF-8: %v, want ErrInvalid", err)
		}
	})
}

func TestDeleteFinishedBefore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{DeleteBatch: 3})
		now := time.Now()
		var old, recent []archive.Record
		for i := 0; i < 10; i++ {
			r := record("default", fmt.Sprintf("old%02d", i), i)
			r.CreatedAt, r.FinishedAt = now.Add(-40*24*time.Hour), now.Add(-31*24*time.Hour)
			old = append(old, r)
		}
		for i := 0; i < 4; i++ {
			r := record("default", fmt.Sprintf("new%02d", i), i)
			// Created long ago, finished recently: kept, retention counts
			// from the end.
			r.CreatedAt, r.FinishedAt = now.Add(-60*24*time.Hour), now.Add(-time.Hour)
			recent = append(recent, r)
		}
		for _, r := range append(slices.Clone(old), recent...) {
			if err := a.Put(ctx, r); err != nil {
				t.Fatalf("Put: %v", err)
			}
		}
		n, err := a.DeleteFinishedBefore(ctx, now.Add(-30*24*time.Hour))
		if err != nil || n != int64(len(old)) {
			t.Fatalf("DeleteFinishedBefore = %d, %v; want %d", n, err, len(old))
		}
		for _, r := range old {
			if _, err := a.Get(ctx, r.Key); !errors.Is(err, archive.ErrNotFound) {
				t.Errorf("Get of deleted %s: %v, want ErrNotFound", r.Key, err)
			}
			if _, err := a.Logs(ctx, r.Key, 0, 0); !errors.Is(err, archive.ErrNotFound) {
				t.Errorf("Logs of deleted %s: %v, want ErrNotFound", r.Key, err)
			}
		}
		for _, r := range recent {
			if _, err := a.Get(ctx, r.Key); err != nil {
				t.Errorf("Get of kept %s: %v", r.Key, err)
			}
		}
		// Deleted log lines do not come back under a new Put of the key.
		again := old[0]
		again.Logs = []string{"fresh"}
		again.FinishedAt = now
		if err := a.Put(ctx, again); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if page, err := a.Logs(ctx, again.Key, 0, 0); err != nil || !slices.Equal(page.Lines, []string{"fresh"}) {
			t.Errorf("logs of a re-archived key = %q, %v", page.Lines, err)
		}
		if n, err := a.DeleteFinishedBefore(ctx, now.Add(-30*24*time.Hour)); err != nil || n != 0 {
			t.Errorf("second DeleteFinishedBefore = %d, %v; want 0", n, err)
		}
	})
}

func TestDeleteDoesNotStopPuts(t *testing.T) {
	// Retention deletes thousands of rows in batches while Puts keep
	// coming: every Put succeeds and every old row goes.
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{DeleteBatch: 100})
		now := time.Now()
		const oldRows, newRows = 2000, 300
		for i := 0; i < oldRows; i += 200 {
			var wg sync.WaitGroup
			errs := make(chan error, 200)
			for j := i; j < i+200; j++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := record("default", fmt.Sprintf("old%05d", j), j)
					r.FinishedAt = now.Add(-48 * time.Hour)
					errs <- a.Put(ctx, r)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
		}
		var deleted int64
		var delErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			deleted, delErr = a.DeleteFinishedBefore(ctx, now.Add(-24*time.Hour))
		}()
		var wg sync.WaitGroup
		errs := make(chan error, newRows)
		for i := 0; i < newRows; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := record("default", fmt.Sprintf("new%05d", i), i)
				r.FinishedAt = now
				errs <- a.Put(ctx, r)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Put during retention: %v", err)
			}
		}
		<-done
		if delErr != nil || deleted != oldRows {
			t.Errorf("DeleteFinishedBefore = %d, %v; want %d", deleted, delErr, oldRows)
		}
		if items := listAll(t, a, archive.ListOptions{Namespace: "default", Limit: 500}); len(items) != newRows {
			t.Errorf("after retention the archive holds %d rows, want the %d new ones", len(items), newRows)
		}
	})
}

func TestConcurrentPuts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a := open(t, be.dsn(t), archive.Options{})
		const goroutines, each, keys = 40, 25, 600
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*each)
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					// Goroutines overlap on keys: 1000 Puts of 600 keys.
					k := (g*each + i) % keys
					errs <- a.Put(ctx, record("default", fmt.Sprintf("c%04d", k), k))
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Put: %v", err)
			}
		}
		items := listAll(t, a, archive.ListOptions{Namespace: "default", Limit: 500})
		if len(items) != keys {
			t.Fatalf("after concurrent Puts of %d keys the archive holds %d rows", keys, len(items))
		}
		for _, k := range []int{0, 299, 599} {
			rec := record("default", fmt.Sprintf("c%04d", k), k)
			got, err := a.Get(ctx, rec.Key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if d := diff(stored(rec), got); d != "" {
				t.Errorf("Get %s (-want +got):\n%s", rec.Key, d)
			}
			page, err := a.Logs(ctx, rec.Key, 0, 0)
			if err != nil || !slices.Equal(page.Lines, rec.Logs) {
				t.Errorf("logs of %s = %q, %v; want %q", rec.Key, page.Lines, err, rec.Logs)
			}
		}
	})
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		dsn := be.dsn(t)
		const openers = 16
		archives := make([]archive.Archive, openers)
		errs := make([]error, openers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range archives {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				archives[i], errs[i] = archive.Open(ctx, dsn, archive.Options{})
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("opener %d: %v", i, err)
			}
			t.Cleanup(func() { _ = archives[i].Close() })
		}
		// Each sees what another wrote.
		for i, a := range archives {
			rec := record("default", fmt.Sprintf("o%d", i), i)
			if err := a.Put(ctx, rec); err != nil {
				t.Fatalf("opener %d: Put: %v", i, err)
			}
			if _, err := archives[(i+1)%openers].Get(ctx, rec.Key); err != nil {
				t.Errorf("opener %d cannot read what opener %d wrote: %v", (i+1)%openers, i, err)
			}
		}
		// Opening a migrated database again is a no-op.
		open(t, dsn, archive.Options{})
	})
}

func TestPutAfterClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		a, err := archive.Open(context.Background(), be.dsn(t), archive.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := a.Put(context.Background(), record("default", "late", 0)); !errors.Is(err, archive.ErrClosed) {
			t.Errorf("Put after Close: %v, want ErrClosed", err)
		}
	})
}

func TestSQLiteInMemory(t *testing.T) {
	ctx := context.Background()
	a := open(t, "sqlite://:memory:", archive.Options{})
	rec := record("default", "mem", 0)
	if err := a.Put(ctx, rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := a.Get(ctx, rec.Key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if d := diff(stored(rec), got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestOpenBadDSN(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cases := []struct {
		dsn     string
		invalid bool
		want    string
	}{
		{"", true, "the archive DSN is empty"},
		{"mysql://root@db/x", true, `scheme "mysql" is not supported`},
		{"/var/lib/history.db", true, `scheme "/var/lib/history.db" is not supported`},
		{"sqlite://host/x.db", true, "names a host"},
		{"sqlite:///tmp/x.db?mode=ro", true, "has parameters"},
		{"sqlite://", true, "names no file"},
		{"sqlite:///tmp/", true, "names no file"},
		{"sqlite:///nonexistent-dir/sub/x.db", false, "open the archive /nonexistent-dir/sub/x.db"},
		{"postgres://bk:s3cret@127.0.0.1:99999/x", true, "archive DSN"},
		{"postgres://bk:s3cret@127.0.0.1:1/x?sslmode=disable&connect_timeout=5", false, "connect to the archive at postgres://bk@127.0.0.1:1/x"},
	}
	for _, c := range cases {
		a, err := archive.Open(ctx, c.dsn, archive.Options{})
		if err == nil {
			_ = a.Close()
			t.Errorf("Open(%q) succeeded", c.dsn)
			continue
		}
		if errors.Is(err, archive.ErrInvalid) != c.invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q) = %v; want a message with %q (ErrInvalid: %v)", c.dsn, err, c.want, c.invalid)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error shows the password: %v", c.dsn, err)
		}
	}
}
