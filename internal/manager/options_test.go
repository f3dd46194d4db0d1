package manager

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{name: "defaults", o: Options{MinPollInterval: time.Second, MaxPollInterval: 24 * time.Hour}},
		{name: "unset", o: Options{}},
		{name: "negative minimum", o: Options{MinPollInterval: -time.Second}, want: "--min-poll-interval must not be negative"},
		{name: "negative maximum", o: Options{MaxPollInterval: -time.Second}, want: "--max-poll-interval must not be negative"},
		{name: "minimum over maximum", o: Options{MinPollInterval: time.Hour, MaxPollInterval: time.Minute}, want: "must not exceed --max-poll-interval"},
		{name: "token TTL beyond a day", o: Options{CallbackTokenTTL: 48 * time.Hour}, want: "--callback-token-ttl must be between 0 and 24h0m0s"},
		{name: "negative callbacks", o: Options{MaxCallbacksPerAnswer: -1}, want: "must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate = %v, want %q", err, tc.want)
			}
		})
	}
}
