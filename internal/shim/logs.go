package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// maxPodLogBytes bounds what is read of a plugin pod's log answer.
const maxPodLogBytes = 4 << 20

// logs assembles an invocation's log: the events the manager recorded on it
// and the lines the plugin pod logged for its trace id.
type logs struct {
	// events lists events live: they are read rarely and are too many to
	// cache.
	events    client.Reader
	namespace string
	versions  *versionService
	pods      pods
	http      *http.Client
}

// log returns inv's log, one line per entry: events first (the life cycle,
// in time order), then the plugin's own lines.
func (l *logs) log(ctx context.Context, inv *bkv1.PluginInvocation) (string, error) {
	var b strings.Builder
	evLines, err := l.eventLines(ctx, inv)
	if err != nil {
		return "", err
	}
	for _, line := range evLines {
		b.WriteString(line + "\n")
	}
	podLines, err := l.podLines(ctx, inv)
	if err != nil {
		// The life cycle is still worth answering when the pod is away.
		b.WriteString("plugin pod lines unavailable: " + err.Error() + "\n")
	}
	for _, line := range podLines {
		b.WriteString(line + "\n")
	}
	return b.String(), nil
}

func (l *logs) eventLines(ctx context.Context, inv *bkv1.PluginInvocation) ([]string, error) {
	var list eventsv1.EventList
	err := l.events.List(ctx, &list, client.InNamespace(l.namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("regarding.name", inv.Name)})
	if err != nil {
		return nil, kubeErr(err, "list events of invocation %s", inv.Name)
	}
	items := slices.DeleteFunc(list.Items, func(e eventsv1.Event) bool {
		return e.Regarding.Kind != "" && e.Regarding.Kind != "PluginInvocation"
	})
	slices.SortStableFunc(items, func(a, b eventsv1.Event) int { return eventTime(a).Compare(eventTime(b)) })
	lines := make([]string, 0, len(items))
	for _, e := range items {
		lines = append(lines, fmt.Sprintf("%s [%s] %s: %s", stdapi.NewTimestamp(eventTime(e)), e.Type, e.Reason, e.Note))
	}
	return lines, nil
}

// eventTime is when an event happened; older recorders leave eventTime
// empty and set the deprecated timestamps instead.
func eventTime(e eventsv1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	default:
		return e.CreationTimestamp.Time
	}
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
