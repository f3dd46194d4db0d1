package stdapi

import (
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	const tid = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name  string
		got   string
		want  string
		route string
	}{
		{"plugins", PluginsPath(), "/plugins/", PluginsRoute},
		{"meta", MetaPath("hello"), "/plugins/hello/bk_plugin/meta/", MetaRoute},
		{"detail", DetailPath("hello", "1.0.0"), "/plugins/hello/bk_plugin/detail/1.0.0", DetailRoute},
		{"invoke", InvokePath("hello", "1.0.0"), "/plugins/hello/bk_plugin/invoke/1.0.0", InvokeRoute},
		{"invoke constraint", InvokePath("hello", "^1.2"), "/plugins/hello/bk_plugin/invoke/%5E1.2", InvokeRoute},
		{"schedule", SchedulePath("hello", tid), "/plugins/hello/bk_plugin/schedule/" + tid, ScheduleRoute},
		{"callback", CallbackPath("hello", "eyJ0Ijo.c2ln"), "/plugins/hello/bk_plugin/callback/eyJ0Ijo.c2ln/", CallbackRoute},
		{"dispatch", PluginAPIDispatchPath("hello"), "/plugins/hello/bk_plugin/plugin_api_dispatch/", PluginAPIDispatchRoute},
		{"logs", LogsPath("hello", tid), "/plugins/hello/bk_plugin/logs/" + tid, LogsRoute},
		{"code escaped", MetaPath("a/b"), "/plugins/a%2Fb/bk_plugin/meta/", MetaRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("path = %q, want %q", tt.got, tt.want)
			}
			if !matchesTemplate(tt.route, tt.got) {
				t.Errorf("path %q does not match route %q", tt.got, tt.route)
			}
		})
	}
}

// matchesTemplate checks a path against a mux template segment by segment,
// so the builders and the route constants cannot drift apart.
func matchesTemplate(template, path string) bool {
	ts := strings.Split(template, "/")
	ps := strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

func TestTraceID(t *testing.T) {
	id, err := NewTraceID()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewTraceID()
	if id == other {
		t.Errorf("two trace ids are equal: %s", id)
	}
	tests := []struct {
		in   string
		want bool
	}{
		{id, true},
		{"0123456789abcdef0123456789abcdef", true},
		{"0123456789ABCDEF0123456789ABCDEF", false},
		{"0123456789abcdef0123456789abcde", false},
		{"0123456789abcdef0123456789abcdeg", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidTraceID(tt.in); got != tt.want {
			t.Errorf("ValidTraceID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
