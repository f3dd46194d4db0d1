package versions

import (
	"strings"
	"testing"
)

func TestAnswerText(t *testing.T) {
	long := strings.Repeat("x", 199) + "é" + strings.Repeat("y", 50)
	cases := []struct {
		name, body, want string
	}{
		{"the envelope's message", `{"result":false,"message":"no such version","data":null}`, "no such version"},
		{"an envelope without a message", `{"result":false,"message":""}`, `{"result":false,"message":""}`},
		{"text", "  database is down\n", "database is down"},
		{"empty", "", "empty body"},
		{"blank", " \n", "empty body"},
		{"long, cut at a character boundary", long, strings.Repeat("x", 199) + "..."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := AnswerText([]byte(tc.body)); got != tc.want {
				t.Errorf("AnswerText(%q) = %q, want %q", tc.body, got, tc.want)
			}
		})
	}
}
