package plugintest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// AssertState fails the test unless the invocation is in state want.
func (inv *Invocation) AssertState(want plugin.State) {
	inv.t.Helper()
	if inv.state != want {
		inv.t.Errorf("state = %s, want %s (error %q, outputs %s)", inv.state, want, inv.err, inv.outputs)
	}
}

// AssertOutputs fails the test unless the outputs equal want as JSON; want
// is a struct, a map or json.RawMessage.
func (inv *Invocation) AssertOutputs(want any) {
	inv.t.Helper()
	inv.assertJSON("outputs", inv.outputs, want)
}

// AssertStorage fails the test unless storage[key] equals want as JSON.
func (inv *Invocation) AssertStorage(key string, want any) {
	inv.t.Helper()
	var s map[string]json.RawMessage
	if err := json.Unmarshal(inv.storage, &s); err != nil {
		inv.t.Errorf("storage %s is not a JSON object: %v", inv.storage, err)
		return
	}
	got, ok := s[key]
	if !ok {
		inv.t.Errorf("storage has no %q: %s", key, inv.storage)
		return
	}
	inv.assertJSON("storage "+key, got, want)
}

// AssertError fails the test unless the invocation failed with an error
// containing substr.
func (inv *Invocation) AssertError(substr string) {
	inv.t.Helper()
	if inv.state != plugin.StateFail {
		inv.t.Errorf("state = %s, want FAIL with error containing %q", inv.state, substr)
		return
	}
	if !strings.Contains(inv.err, substr) {
		inv.t.Errorf("error = %q, want it to contain %q", inv.err, substr)
	}
}

// DecodeOutputs unmarshals the outputs into v, failing the test when it cannot.
func (inv *Invocation) DecodeOutputs(v any) {
	inv.t.Helper()
	if err := json.Unmarshal(inv.outputs, v); err != nil {
		inv.t.Fatalf("decode outputs %s: %v", inv.outputs, err)
	}
}

func (inv *Invocation) assertJSON(what string, got json.RawMessage, want any) {
	inv.t.Helper()
	wantRaw := inv.h.raw(what, want)
	var g, w any
	if err := json.Unmarshal(orNull(got), &g); err != nil {
		inv.t.Errorf("%s %s: %v", what, got, err)
		return
	}
	if err := json.Unmarshal(orNull(wantRaw), &w); err != nil {
		inv.t.Errorf("want %s %s: %v", what, wantRaw, err)
		return
	}
	if !reflect.DeepEqual(g, w) {
		inv.t.Errorf("%s = %s, want %s", what, got, wantRaw)
	}
}

func orNull(b []byte) []byte {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("null")
	}
	return b
}
