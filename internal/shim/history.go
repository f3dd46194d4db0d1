package shim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// historyQuery is one request of the history list, checked.
type historyQuery struct {
	Code          string
	States        []protocol.State
	Version       string
	CreatedAfter  time.Time
	CreatedBefore time.Time
	Limit         int
	// After is where the previous page ended; nil for the first page.
	After *historyCursor
}

// historyCursor is where a page of the history ended: its last item's sort
// key. It travels as opaque base64 JSON.
type historyCursor struct {
	CreatedAt int64  `json:"c"` // unix microseconds
	TraceID   string `json:"t"`
}

// historyItem is one invocation of the list with its sort key.
type historyItem struct {
	created time.Time
	summary stdapi.InvocationSummary
}

// listInvocations answers GET /plugins/{code}/bk_plugin/invocations, our
// extension: a plugin's invocations newest first, from the archive and
// from the cluster (those not archived yet), each once.
func (s *Server) listInvocations(w http.ResponseWriter, r *http.Request) {
	q, err := historyQueryOf(mux.Vars(r)[stdapi.VarCode], r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.invocations.listHistory(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, stdapi.OK(list, infoOf(r).traceID))
}

// historyQueryOf reads and checks the query parameters of the history list.
func historyQueryOf(code string, r *http.Request) (historyQuery, error) {
	v := r.URL.Query()
	q := historyQuery{Code: code, Version: v.Get(stdapi.QueryVersion), Limit: archive.DefaultListLimit}
	if raw := v.Get(stdapi.QueryState); raw != "" {
		for _, name := range strings.Split(raw, ",") {
			st, err := parseState(strings.TrimSpace(name))
			if err != nil {
				return q, err
			}
			q.States = append(q.States, st)
		}
	}
	for _, t := range []struct {
		name string
		into *time.Time
	}{{stdapi.QueryCreatedAfter, &q.CreatedAfter}, {stdapi.QueryCreatedBefore, &q.CreatedBefore}} {
		raw := v.Get(t.name)
		if raw == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return q, errorf(http.StatusBadRequest, "query parameter %s=%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", t.name, raw)
		}
		*t.into = at
	}
	if !q.CreatedAfter.IsZero() && !q.CreatedBefore.IsZero() && !q.CreatedAfter.Before(q.CreatedBefore) {
		return q, errorf(http.StatusBadRequest, "%s must be before %s", stdapi.QueryCreatedAfter, stdapi.QueryCreatedBefore)
	}
	if raw := v.Get(stdapi.QueryLimit); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > archive.MaxListLimit {
			return q, errorf(http.StatusBadRequest, "query parameter %s=%q must be a whole number from 1 to %d", stdapi.QueryLimit, raw, archive.MaxListLimit)
		}
		q.Limit = n
	}
	if raw := v.Get(stdapi.QueryCursor); raw != "" {
		c, err := decodeHistoryCursor(raw)
		if err != nil {
			return q, err
		}
		q.After = &c
	}
	return q, nil
}

// parseState reads a state by name ("FAIL") or wire code ("5").
func parseState(s string) (protocol.State, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if st := protocol.State(n); st.Valid() {
			return st, nil
		}
	}
	for st := protocol.StateEmpty; st.Valid(); st++ {
		if strings.EqualFold(st.String(), s) {
			return st, nil
		}
	}
	return 0, errorf(http.StatusBadRequest, "query parameter %s=%q is not a state: use EMPTY, POLL, CALLBACK, SUCCESS, FAIL or their codes 1-5", stdapi.QueryState, s)
}

func encodeHistoryCursor(it historyItem) string {
	b, _ := json.Marshal(historyCursor{CreatedAt: it.created.UnixMicro(), TraceID: it.summary.TraceID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeHistoryCursor(s string) (historyCursor, error) {
	var c historyCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.TraceID == "" {
		return historyCursor{}, errorf(http.StatusBadRequest, "query parameter %s=%q is not a cursor this shim returned (next_cursor)", stdapi.QueryCursor, s)
	}
	return c, nil
}

// listHistory answers one page of the history list: the archive's page and the
// live invocations of the same range, merged (mergeHistory).
func (s *invocations) listHistory(ctx context.Context, q historyQuery) (stdapi.InvocationList, error) {
	var list bkv1.PluginInvocationList
	if err := s.cache.List(ctx, &list, client.InNamespace(s.namespace), client.MatchingLabels{bkv1.LabelPlugin: q.Code}); err != nil {
		return stdapi.InvocationList{}, kubeErr(err, "list invocations of plugin %s", q.Code)
	}
	live := make([]historyItem, 0, len(list.Items))
	for i := range list.Items {
		inv := &list.Items[i]
		if inv.Spec.Plugin != q.Code {
			continue
		}
		live = append(live, historyItem{created: inv.CreationTimestamp.Time, summary: summaryOf(inv)})
	}

	var archived archive.ListPage
	if a := s.past.get(); a != nil {
		opts := archive.ListOptions{
			Namespace: s.namespace, Plugin: q.Code, States: q.States, Version: q.Version,
			CreatedAfter: q.CreatedAfter, CreatedBefore: q.CreatedBefore, Limit: q.Limit,
		}
		if q.After != nil {
			opts.Cursor = archive.CursorAfter(time.UnixMicro(q.After.CreatedAt), q.After.TraceID)
		}
		var err error
		archived, err = a.List(ctx, opts)
		if s.past.counted("list", err) != nil {
			return stdapi.InvocationList{}, archiveErr(err, "list the history of plugin "+q.Code)
		}
	}
	return mergeHistory(q, live, archived), nil
}

// mergeHistory is one page of the history list, newest first: the live
// invocations that match q and the archive's page, each invocation once
// (one both archived and still in the cluster is shown as the cluster has
// it; both say the same). The page may hold fewer than q.Limit items;
// next_cursor is empty only when nothing is left.
func mergeHistory(q historyQuery, live []historyItem, archived archive.ListPage) stdapi.InvocationList {
	items := make([]historyItem, 0, len(live)+len(archived.Items))
	seen := map[string]bool{}
	for _, it := range live {
		if q.matches(it) {
			items = append(items, it)
			seen[it.summary.TraceID] = true
		}
	}
	for i := range archived.Items {
		rec := &archived.Items[i]
		if !seen[rec.TraceID] {
			items = append(items, historyItem{created: rec.CreatedAt, summary: summaryFromRecord(rec)})
		}
	}
	slices.SortFunc(items, func(a, b historyItem) int { return compareNewestFirst(a, b.created, b.summary.TraceID) })
	out := stdapi.InvocationList{Items: []stdapi.InvocationSummary{}}
	more := archived.NextCursor != ""
	if len(items) > q.Limit {
		items, more = items[:q.Limit], true
	}
	for _, it := range items {
		out.Items = append(out.Items, it.summary)
	}
	if more && len(items) > 0 {
		out.NextCursor = encodeHistoryCursor(items[len(items)-1])
	}
	return out
}

// compareNewestFirst orders a before (negative) an item created at created
// with traceID when a is newer, ties broken by trace id, descending: the
// archive's order.
func compareNewestFirst(a historyItem, created time.Time, traceID string) int {
	ac, bc := a.created.UnixMicro(), created.UnixMicro()
	switch {
	case ac > bc:
		return -1
	case ac < bc:
		return 1
	}
	return -strings.Compare(a.summary.TraceID, traceID)
}

// matches applies q's filters to a live invocation, as the archive applies
// them to its rows.
func (q historyQuery) matches(it historyItem) bool {
	s := it.summary
	switch {
	case len(q.States) > 0 && !slices.Contains(q.States, s.State):
		return false
	case q.Version != "" && s.PluginVersion != q.Version:
		return false
	case !q.CreatedAfter.IsZero() && it.created.Before(q.CreatedAfter):
		return false
	case !q.CreatedBefore.IsZero() && !it.created.Before(q.CreatedBefore):
		return false
	case q.After != nil && compareNewestFirst(it, time.UnixMicro(q.After.CreatedAt), q.After.TraceID) <= 0:
		return false
	}
	return true
}
