package version

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// maxDetailBytes bounds the detail answer read from a plugin pod; it holds
// schemas and a form script, far below this.
const maxDetailBytes = 4 << 20

// defaultTimeoutSeconds is the CRD's default of spec.timeoutSeconds.
const defaultTimeoutSeconds = 30

// probeResult is what one probe learnt: the Ready condition's reason and
// message.
type probeResult struct {
	Reason  string
	Message string
}

// ready reports whether the probe found the version served as specified.
func (p probeResult) ready() bool { return p.Reason == bkv1.VersionReasonServing }

// probeTimeout is how long one probe of plv may take: the spec's bound of one
// call to its plugin pod.
func probeTimeout(plv *bkv1.PluginVersion) time.Duration {
	if plv.Spec.TimeoutSeconds != nil && *plv.Spec.TimeoutSeconds > 0 {
		return time.Duration(*plv.Spec.TimeoutSeconds) * time.Second
	}
	return defaultTimeoutSeconds * time.Second
}

// probeDetail asks the plugin pod at base for the detail of plv's version and
// lets judgeDetail compare it with the spec. It never fails: every outcome
// is a reason and a message for the Ready condition.
func probeDetail(ctx context.Context, c *http.Client, base string, plv *bkv1.PluginVersion, timeout time.Duration) probeResult {
	u := base + protocol.DetailPathPrefix + url.PathEscape(plv.Spec.Version)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return probeResult{bkv1.VersionReasonUnreachable, fmt.Sprintf("GET %s: %v", u, err)}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return probeResult{bkv1.VersionReasonUnreachable, fmt.Sprintf("GET %s: no answer within %s", u, timeout)}
		}
		return probeResult{bkv1.VersionReasonUnreachable, fmt.Sprintf("GET %s: %v", u, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDetailBytes+1))
	if err != nil {
		return probeResult{bkv1.VersionReasonUnreachable, fmt.Sprintf("GET %s: read answer: %v", u, err)}
	}
	if len(body) > maxDetailBytes {
		return probeResult{bkv1.VersionReasonUnreachable, fmt.Sprintf("GET %s: answer is larger than %d bytes", u, maxDetailBytes)}
	}
	return judgeDetail(plv, base, u, resp.StatusCode, resp.Status, body)
}

// judgeDetail decides the Ready condition from the plugin pod's answer to
// GET u (the detail of plv's version from the pod at base): its HTTP status
// code, status line and body.
func judgeDetail(plv *bkv1.PluginVersion, base, u string, code int, status string, body []byte) probeResult {
	var env stdapi.Envelope[stdapi.Detail]
	decodeErr := json.Unmarshal(body, &env)
	switch {
	case code == http.StatusNotFound:
		return probeResult{bkv1.VersionReasonNotServed, fmt.Sprintf("GET %s answered 404: %s", u, versions.AnswerText(body))}
	case code < 200 || code > 299:
		return probeResult{bkv1.VersionReasonUnreachable, fmt.Sprintf("GET %s answered %s: %s", u, status, versions.AnswerText(body))}
	case decodeErr != nil:
		return probeResult{bkv1.VersionReasonUnreachable, fmt.Sprintf("GET %s answered a body that is not the standard envelope: %v", u, decodeErr)}
	case !env.Result:
		return probeResult{bkv1.VersionReasonNotServed, fmt.Sprintf("GET %s answered result false: %s", u, env.Message)}
	case env.Data.Version != "" && env.Data.Version != plv.Spec.Version:
		return probeResult{bkv1.VersionReasonNotServed, fmt.Sprintf("GET %s answered the detail of version %s", u, env.Data.Version)}
	}

	var differ []string
	for _, s := range []struct {
		name string
		spec *apiextensionsv1.JSON
		pod  json.RawMessage
	}{
		{"inputs", plv.Spec.Inputs, env.Data.Inputs},
		{"contextInputs", plv.Spec.ContextInputs, env.Data.ContextInputs},
		{"outputs", plv.Spec.Outputs, env.Data.Outputs},
	} {
		if s.spec == nil || len(s.spec.Raw) == 0 {
			// The spec leaves this schema to the pod.
			continue
		}
		// Detail answers schemas trimmed to the Python framework's four
		// keys (stdapi.DetailSchema), so both sides are compared trimmed.
		if !sameJSON(stdapi.DetailSchema(s.spec.Raw), stdapi.DetailSchema(s.pod)) {
			differ = append(differ, s.name)
		}
	}
	if len(differ) > 0 {
		return probeResult{bkv1.VersionReasonSchemaMismatch, fmt.Sprintf("the %s schema of the spec differs from what the plugin pod at %s serves for version %s; regenerate the PluginVersion from the plugin's manifest",
			strings.Join(differ, ", "), base, plv.Spec.Version)}
	}
	return probeResult{bkv1.VersionReasonServing, fmt.Sprintf("the plugin pod at %s serves version %s", base, plv.Spec.Version)}
}

// sameJSON reports whether two JSON documents hold the same value, whatever
// their key order and spacing. A document that is not JSON equals nothing.
func sameJSON(a, b []byte) bool {
	va, okA := decodeAny(a)
	vb, okB := decodeAny(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

// decodeAny decodes one JSON value keeping numbers exact, so that large
// integers in schemas (maximum, minimum) are not rounded into equality.
func decodeAny(b []byte) (any, bool) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return normalizeNumbers(v), true
}

// normalizeNumbers turns json.Numbers into a canonical form so that 1, 1.0
// and 1e0 compare equal, as they do in JSON Schema.
func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeNumbers(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalizeNumbers(e)
		}
		return t
	case json.Number:
		r, ok := new(big.Rat).SetString(t.String())
		if !ok {
			return canonicalNumber(t.String())
		}
		return canonicalNumber(r.RatString())
	default:
		return v
	}
}

// canonicalNumber is a JSON number in canonical form; a type of its own so
// that it never equals the string with the same text.
type canonicalNumber string
