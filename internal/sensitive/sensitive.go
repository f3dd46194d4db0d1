// Package sensitive keeps the values a version's task.json marks
// isSensitive out of every place an invocation's readers see: the shim moves
// sensitive inputs into a Secret before the invocation exists and reveals
// sensitive outputs only to the caller; the manager merges the inputs back
// for the plugin pod, masks the outputs in status, stores them in the
// Secret and scrubs error messages.
package sensitive

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"

	corev1 "k8s.io/api/core/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// ErrInputsNotObject is returned by SplitInputs for inputs that are not a
// JSON object, so that sensitive fields cannot be found in them.
var ErrInputsNotObject = errors.New("inputs must be a JSON object")

// Values is what one execute knows of an invocation's secrets.
type Values struct {
	// Inputs are the sensitive inputs, read from the Secret.
	Inputs map[string]json.RawMessage
	// Secret is the Secret as read, nil when it does not exist.
	Secret *corev1.Secret
}

// ClearInputs names the sensitive inputs given in clear in spec.inputs,
// where every reader of the invocation would see them.
func ClearInputs(specInputs json.RawMessage, sensitive []string) []string {
	if len(sensitive) == 0 || len(bytes.TrimSpace(specInputs)) == 0 {
		return nil
	}
	var in map[string]json.RawMessage
	if json.Unmarshal(specInputs, &in) != nil {
		return nil
	}
	var found []string
	for _, f := range sensitive {
		if v, ok := in[f]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			found = append(found, f)
		}
	}
	return found
}

// MergeInputs lays the sensitive inputs over spec.inputs, for the plugin pod.
func MergeInputs(specInputs json.RawMessage, secretInputs map[string]json.RawMessage) (json.RawMessage, error) {
	if len(secretInputs) == 0 {
		return specInputs, nil
	}
	in := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(specInputs)) > 0 {
		if err := json.Unmarshal(specInputs, &in); err != nil {
			return nil, fmt.Errorf("spec.inputs is not a JSON object: %w", err)
		}
	}
	for k, v := range secretInputs {
		in[k] = v
	}
	return json.Marshal(in)
}

// SplitOutputs moves the sensitive outputs out of an answer's outputs: it
// returns the outputs with those values masked, and the values.
func SplitOutputs(outputs json.RawMessage, sensitive []string) (json.RawMessage, map[string]json.RawMessage, error) {
	if len(sensitive) == 0 || len(bytes.TrimSpace(outputs)) == 0 {
		return outputs, nil, nil
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(outputs, &out); err != nil || out == nil {
		// Not an object: applyAnswer refuses it with a protocol error.
		return outputs, nil, nil
	}
	secret := map[string]json.RawMessage{}
	mask, _ := json.Marshal(bkv1.SensitiveMask)
	for _, f := range sensitive {
		if v, ok := out[f]; ok {
			secret[f] = v
			out[f] = mask
		}
	}
	if len(secret) == 0 {
		return outputs, nil, nil
	}
	masked, err := json.Marshal(out)
	return masked, secret, err
}

// Scrub replaces every sensitive value in msg with the mask, so that a
// plugin's error message cannot carry a secret into status or events. Each
// value is matched in every form a plugin is likely to print it in (see
// scrubForms): as it is, JSON-escaped, and base64-encoded in the standard
// and URL alphabets, with or without padding, all case-insensitively
// (a plugin upper-casing a token still leaks it).
func Scrub(msg string, values ...map[string]json.RawMessage) string {
	var forms []string
	for _, m := range values {
		for _, raw := range m {
			forms = append(forms, scrubForms(raw)...)
		}
	}
	if len(forms) == 0 {
		return msg
	}
	// Longest first, so that a form is masked whole rather than a shorter
	// form inside it leaving the rest of it behind.
	slices.SortFunc(forms, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	forms = slices.Compact(forms)
	quoted := make([]string, len(forms))
	for i, f := range forms {
		quoted[i] = regexp.QuoteMeta(f)
	}
	re := regexp.MustCompile(`(?i)(?:` + strings.Join(quoted, "|") + `)`)
	return re.ReplaceAllLiteralString(msg, bkv1.SensitiveMask)
}

// minScrubLen is the shortest value Scrub masks: a shorter one ("1", "ab")
// would mask every occurrence of common text and tell nothing away.
const minScrubLen = 3

// scrubForms is every form of one sensitive JSON value that Scrub masks:
// the string's text (or a non-string's JSON), its JSON-escaped forms (with
// and without HTML escaping, as Go and Python print them) and its base64
// encodings (standard and URL alphabets, padded and raw).
func scrubForms(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = strings.TrimSpace(string(raw))
	}
	if len(s) < minScrubLen {
		return nil
	}
	forms := []string{s}
	// Escaped once (an error quoting a JSON document) and twice (that
	// error quoted again in a log line), with Go's HTML escaping and
	// without, and as Python's ensure_ascii prints non-ASCII.
	for _, once := range []string{jsonEscaped(s, true), jsonEscaped(s, false), asciiEscaped(s)} {
		forms = append(forms, once, jsonEscaped(once, false))
	}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		forms = append(forms, e.EncodeToString([]byte(s)))
	}
	return forms
}

// jsonEscaped is s as it appears inside a JSON string, with or without
// Go's HTML escaping (<, >, & as \u003c, ...).
func jsonEscaped(s string, html bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if enc.Encode(s) != nil {
		return s
	}
	b := bytes.TrimSpace(buf.Bytes())
	return string(b[1 : len(b)-1])
}

// asciiEscaped is s JSON-escaped with every non-ASCII rune as \uXXXX (UTF-16
// surrogate pairs beyond the BMP), as Python's json.dumps prints it.
func asciiEscaped(s string) string {
	b, _ := json.Marshal(s)
	var out strings.Builder
	for _, r := range string(b[1 : len(b)-1]) {
		if r < 0x80 {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, `\u%04x`, u)
		}
	}
	return out.String()
}

// SplitInputs takes the sensitive inputs out of an invoke's inputs: they go
// to the invocation's Secret and never into its spec, which every reader of
// the invocation sees. secret is nil when there are none; inputs that are
// not a JSON object give ErrInputsNotObject.
func SplitInputs(inputs json.RawMessage, sensitive []string) (public, secret json.RawMessage, err error) {
	if len(sensitive) == 0 || len(bytes.TrimSpace(inputs)) == 0 {
		return inputs, nil, nil
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(inputs, &in); err != nil {
		return nil, nil, ErrInputsNotObject
	}
	out := map[string]json.RawMessage{}
	for _, f := range sensitive {
		if v, ok := in[f]; ok {
			out[f] = v
			delete(in, f)
		}
	}
	if len(out) == 0 {
		return inputs, nil, nil
	}
	if public, err = json.Marshal(in); err != nil {
		return nil, nil, err
	}
	secret, err = json.Marshal(out)
	return public, secret, err
}

// Mask returns the JSON object raw with the value of each of fields that it
// holds replaced by the mask, and with each of extra (fields whose values
// are kept elsewhere, such as in the invocation's Secret) added masked, so
// that a reader sees that the call carried them but never their values.
// raw that is empty or null stays as it is unless extra is set; raw that is
// not a JSON object is an error, since its sensitive values cannot be found.
func Mask(raw json.RawMessage, fields, extra []string) (json.RawMessage, error) {
	empty := len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	if len(fields)+len(extra) == 0 || (empty && len(extra) == 0) {
		return raw, nil
	}
	obj := map[string]json.RawMessage{}
	if !empty {
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return nil, ErrInputsNotObject
		}
	}
	mask, _ := json.Marshal(bkv1.SensitiveMask)
	changed := false
	for _, f := range fields {
		if _, ok := obj[f]; ok {
			obj[f], changed = mask, true
		}
	}
	for _, f := range extra {
		obj[f], changed = mask, true
	}
	if !changed {
		return raw, nil
	}
	return json.Marshal(obj)
}
