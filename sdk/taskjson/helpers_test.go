package taskjson_test

import (
	"encoding/json"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// desc parses a description written in a test.
func desc(t testing.TB, s string) *v1alpha1.TaskDescription {
	t.Helper()
	d, err := taskjson.Parse([]byte(s))
	if err != nil {
		t.Fatalf("description %s: %v", s, err)
	}
	return d
}

// evalErr evaluates inputs and returns the error's text, "" when accepted.
func evalErr(t testing.TB, d *v1alpha1.TaskDescription, inputs string) string {
	t.Helper()
	e, err := taskjson.Compile(d)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	_, err = e.Evaluate(json.RawMessage(inputs))
	if err == nil {
		return ""
	}
	return err.Error()
}

// jsonEqual reports whether two JSON documents hold the same value.
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
