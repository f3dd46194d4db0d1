package versions

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// maxAnswerText is how much of a body that is not an envelope AnswerText
// quotes.
const maxAnswerText = 200

// AnswerText is what a plugin pod's error answer said, for a condition or
// an error an operator reads: the envelope's message, or else the start of
// the body, or "empty body". Both the version probe and the execute call
// report answers this way.
func AnswerText(body []byte) string {
	var env stdapi.RawEnvelope
	if err := json.Unmarshal(body, &env); err == nil && env.Message != "" {
		return env.Message
	}
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "empty body"
	}
	if len(s) > maxAnswerText {
		cut := maxAnswerText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
