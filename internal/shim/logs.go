package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// maxPodLogBytes bounds what is read of a plugin pod's log answer.
const maxPodLogBytes = 4 << 20

// logs assembles an invocation's log: its timeline and the lines its plugin
// logged, from the cluster or the archive.
type logs struct {
	// reader lists events live: they are read rarely and are too many to
	// cache.
	reader client.Reader
	// past holds the logs of archived invocations.
	past      *readThrough
	namespace string
	versions  *versionService
	pods      pods
	http      *http.Client
}

// log returns a page of an invocation's log (logLines): the timeline
// first, then the plugin's own lines. A live invocation's timeline is the
// events the manager recorded on it and its lines are asked of its plugin
// pod; an archived one's are what the manager archived.
func (l *logs) log(ctx context.Context, f found, page logPage) (stdapi.LogsData, error) {
	if f.Archived != nil {
		return l.archivedLog(ctx, f.Archived, page)
	}
	// The cache holds no log lines (slimForCache): read them live.
	inv := &bkv1.PluginInvocation{}
	if err := l.reader.Get(ctx, client.ObjectKeyFromObject(f.Live), inv); err != nil {
		if !apierrors.IsNotFound(err) {
			return stdapi.LogsData{}, kubeErr(err, "read invocation %s", f.Live.Name)
		}
		inv = f.Live // deleted a moment ago: answer what the cache had
	}
	// The same timeline and lines the manager archives (internal/history),
	// so that the answer does not change when the invocation leaves the
	// cluster.
	lines := history.Lines(&inv.Status)
	if len(lines) == 0 {
		// A manager from before status.logs keeps no lines: ask the pod.
		podLines, err := l.podLines(ctx, inv)
		if err != nil {
			podLines = []string{"plugin pod lines unavailable: " + err.Error()}
		}
		lines = podLines
	}
	all := logLines(history.Timeline(inv), lines)
	return logsData(page, pageOf(page, all), len(all)), nil
}

// archivedLog reads a page of an archived invocation's log: its timeline,
// then its plugin lines, read from the archive in pages.
func (l *logs) archivedLog(ctx context.Context, rec *archive.Record, page logPage) (stdapi.LogsData, error) {
	a := l.past.get()
	if a == nil {
		return stdapi.LogsData{}, errorf(http.StatusServiceUnavailable, "the shim has no history archive")
	}
	timeline := logLines(rec.Timeline, nil)
	lines := pageOf(logPage{Offset: page.Offset, Limit: page.Limit}, timeline)
	// The plugin's lines follow the timeline's: line n of the log is line
	// n-len(timeline) of the archive's.
	from := max(0, page.Offset-len(timeline))
	all := page.Limit == 0
	remaining := page.Limit - len(lines) // when !all; 0 still reads the total
	total := len(timeline)
	for {
		n := archive.MaxLogLimit
		if !all {
			n = min(max(remaining, 1), archive.MaxLogLimit)
		}
		p, err := a.Logs(ctx, rec.Key, from, n)
		if l.past.counted("logs", err) != nil {
			return stdapi.LogsData{}, archiveErr(err, "read the log of invocation "+rec.TraceID)
		}
		total = len(timeline) + p.Total
		take := p.Lines
		if !all {
			take = take[:min(len(take), remaining)]
			remaining -= len(take)
		}
		for _, line := range take {
			lines = append(lines, oneLine(line))
		}
		from += len(p.Lines)
		if len(p.Lines) == 0 || from >= p.Total || (!all && remaining <= 0) {
			break
		}
	}
	return logsData(page, lines, total), nil
}

// logPageOf reads the logs route's ?offset=&limit= (our extension; the
// Python framework answers the whole log).
func logPageOf(r *http.Request) (logPage, error) {
	q := r.URL.Query()
	var p logPage
	for _, f := range []struct {
		name string
		into *int
		max  int
	}{{stdapi.QueryLogOffset, &p.Offset, math.MaxInt32}, {stdapi.QueryLogLimit, &p.Limit, archive.MaxLogLimit}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > f.max {
			return logPage{}, errorf(http.StatusBadRequest, "query parameter %s=%q must be a whole number from 0 to %d", f.name, v, f.max)
		}
		*f.into, p.Paged = n, true
	}
	return p, nil
}

// podLines asks the plugin pod of the invocation's version for the lines it
// logged for the trace id.
func (l *logs) podLines(ctx context.Context, inv *bkv1.PluginInvocation) ([]string, error) {
	version := inv.Status.ResolvedVersion
	if version == "" {
		version = inv.Spec.Version
	}
	plv, err := l.versions.resolve(ctx, inv.Spec.Plugin, version)
	if err != nil {
		_, msg := statusOf(err)
		return nil, fmt.Errorf("%s", msg)
	}
	base, err := l.pods.endpoint(plv)
	if err != nil {
		return nil, err
	}
	target := base + protocol.LogsPathPrefix + inv.Name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("build request GET %s: %w", target, err)
	}
	req.Header.Set(protocol.HeaderTraceID, inv.Name)
	resp, err := l.http.Do(req)
	if err != nil {
		return nil, err // *url.Error names the URL
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxPodLogBytes))
	if err != nil {
		return nil, fmt.Errorf("read GET %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %d", target, resp.StatusCode)
	}
	var env stdapi.Envelope[stdapi.LogsData]
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("GET %s: answer is not a logs envelope: %w", target, err)
	}
	return env.Data.Lines(), nil
}
