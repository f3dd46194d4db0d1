package history

import (
	"encoding/json"
	"strings"
	"testing"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestKeepLines(t *testing.T) {
	secrets := map[string]json.RawMessage{"password": json.RawMessage(`"hunter2"`)}
	cases := []struct {
		name        string
		kept        []string
		dropped     int32
		add         []string
		limits      LogLimits
		want        []string
		wantDropped int32
	}{
		{name: "first execute", add: []string{"a", "b"}, want: []string{"a", "b"}},
		{name: "appends", kept: []string{"a"}, add: []string{"b"}, want: []string{"a", "b"}},
		{name: "nothing to add", kept: []string{"a"}, want: []string{"a"}},
		{name: "over lines: oldest dropped", kept: []string{"a", "b"}, dropped: 1, add: []string{"c", "d"},
			limits: LogLimits{MaxLines: 3}, want: []string{"b", "c", "d"}, wantDropped: 2},
		{name: "over bytes: oldest dropped", kept: []string{"aaaa", "bbbb"}, add: []string{"cccc"},
			limits: LogLimits{MaxBytes: 9}, want: []string{"bbbb", "cccc"}, wantDropped: 1},
		{name: "one line over bytes: none kept", add: []string{"aaaaaaaaaa"},
			limits: LogLimits{MaxBytes: 4, MaxLineBytes: 100}, want: []string{}, wantDropped: 1},
		{name: "long line cut on a rune", add: []string{"ééé"}, limits: LogLimits{MaxLineBytes: 3}, want: []string{"é…"}},
		{name: "bad text cleaned", add: []string{"a\x00b\xffc"}, want: []string{"a\uFFFDb\uFFFDc"}},
		{name: "secret scrubbed", add: []string{"login with hunter2 failed"}, want: []string{"login with ****** failed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &bkv1.PluginInvocationStatus{Logs: tc.kept, LogLinesDropped: tc.dropped}
			KeepLines(st, tc.add, tc.limits, secrets)
			if strings.Join(st.Logs, "|") != strings.Join(tc.want, "|") || len(st.Logs) != len(tc.want) || st.LogLinesDropped != tc.wantDropped {
				t.Fatalf("kept %q dropped %d, want %q dropped %d", st.Logs, st.LogLinesDropped, tc.want, tc.wantDropped)
			}
		})
	}
}
