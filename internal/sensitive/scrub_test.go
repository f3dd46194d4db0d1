package sensitive

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// TestScrub reproduces issue 15's finding 8: a plugin that prints a
// sensitive value JSON-escaped, in another case or base64-encoded must not
// leak it.
func TestScrub(t *testing.T) {
	const token = `s3cr"et/Tok+en>?`
	const unicode = "пароль-密码"
	inputs := map[string]json.RawMessage{
		"token":   json.RawMessage(mustJSON(token)),
		"uni":     json.RawMessage(mustJSON(unicode)),
		"pin":     json.RawMessage(`12345678`),
		"short":   json.RawMessage(`"ab"`),
		"nothing": json.RawMessage(`null`),
	}
	jsonEscaped := strings.Trim(mustJSON(token), `"`)
	m := bkv1.SensitiveMask
	tests := []struct {
		name, msg, want string
	}{
		{"verbatim", "login refused for " + token, "login refused for " + m},
		{"json-escaped (Go, HTML-escaped)", `{"err":"` + jsonEscaped + `"}`, `{"err":"` + m + `"}`},
		{"json-escaped without HTML escaping", `{"err":"s3cr\"et/Tok+en>?"}`, `{"err":"` + m + `"}`},
		{"python ensure_ascii", `{"err": "\u043f\u0430\u0440\u043e\u043b\u044c-\u5bc6\u7801"}`, `{"err": "` + m + `"}`},
		{"escaped twice (a JSON error quoted in a log line)", "error=" + strconvQuote(`login refused: {"token":"`+jsonEscaped+`"}`),
			"error=" + strconvQuote(`login refused: {"token":"`+m+`"}`)},
		{"upper-cased", "TOKEN " + strings.ToUpper(token), "TOKEN " + m},
		{"lower-cased unicode", "x " + strings.ToUpper(unicode) + " y", "x " + m + " y"},
		{"base64 std", "auth " + base64.StdEncoding.EncodeToString([]byte(token)), "auth " + m},
		{"base64 raw url", "auth " + base64.RawURLEncoding.EncodeToString([]byte(token)), "auth " + m},
		{"base64 url padded", "auth " + base64.URLEncoding.EncodeToString([]byte(unicode)), "auth " + m},
		{"number", "pin 12345678 refused", "pin " + m + " refused"},
		{"twice", token + " and " + token, m + " and " + m},
		{"short values are left alone", "ab is not masked", "ab is not masked"},
		{"nothing sensitive", "plain failure", "plain failure"},
		{"regexp metacharacters are literal", "s3cr\"etXTok+en>?", "s3cr\"etXTok+en>?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Scrub(tt.msg, inputs); got != tt.want {
				t.Errorf("Scrub(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
	if got := Scrub("x", nil); got != "x" {
		t.Errorf("Scrub without values = %q", got)
	}
}

// strconvQuote quotes s as a logfmt or slog text handler does.
func strconvQuote(s string) string { return strconv.Quote(s) }

func mustJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}
