package sensitive

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestMask(t *testing.T) {
	cases := []struct {
		name          string
		raw           string
		fields, extra []string
		want          string
		err           error
	}{
		{name: "nothing sensitive", raw: `{"a":1}`, want: `{"a":1}`},
		{name: "field masked", raw: `{"a":1,"pw":"hunter2"}`, fields: []string{"pw"}, want: `{"a":1,"pw":"******"}`},
		{name: "absent field left out", raw: `{"a":1}`, fields: []string{"pw"}, want: `{"a":1}`},
		{name: "non-string value masked", raw: `{"pw":{"k":"v"}}`, fields: []string{"pw"}, want: `{"pw":"******"}`},
		{name: "extra added masked", raw: `{"a":1}`, extra: []string{"token"}, want: `{"a":1,"token":"******"}`},
		{name: "extra on empty inputs", raw: ``, extra: []string{"token"}, want: `{"token":"******"}`},
		{name: "extra on null inputs", raw: `null`, extra: []string{"token"}, want: `{"token":"******"}`},
		{name: "empty stays empty", raw: ``, fields: []string{"pw"}, want: ``},
		{name: "not an object", raw: `[1]`, fields: []string{"pw"}, err: ErrInputsNotObject},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Mask(json.RawMessage(tc.raw), tc.fields, tc.extra)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil && string(got) != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
