package compat_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

// gen returns the schema the SDK generates for T, as a plugin version
// stores it.
func gen[T any](t *testing.T) json.RawMessage {
	t.Helper()
	raw, err := schema.Generate(reflect.TypeFor[T]())
	if err != nil {
		t.Fatalf("Generate %T: %v", *new(T), err)
	}
	return raw
}

// keys lists findings as "rule path", the part a test pins down exactly.
func keys(fs []compat.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f.Rule) + " " + f.Path
	}
	return out
}

// checkReport fails unless the breaking findings are exactly want (in
// order) and every one has a message; notices, when wantNotices is not
// nil, are checked the same way.
func checkReport(t *testing.T, r compat.Report, want, wantNotices []string) {
	t.Helper()
	if got := keys(r.Breaking); !slices.Equal(got, want) {
		t.Errorf("breaking =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if wantNotices != nil {
		if got := keys(r.Notices); !slices.Equal(got, wantNotices) {
			t.Errorf("notices =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(wantNotices, "\n  "))
		}
	}
	for _, f := range slices.Concat(r.Breaking, r.Notices) {
		if f.Message == "" {
			t.Errorf("finding %s %s has no message", f.Rule, f.Path)
		}
	}
	if r.Compatible() != (len(want) == 0) {
		t.Errorf("Compatible() = %t with %d breaking changes", r.Compatible(), len(want))
	}
}
