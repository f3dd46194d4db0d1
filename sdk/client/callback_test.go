package client

import (
	"context"
	"testing"
)

// A callback URL handed to a third party may point at another host; the
// platform's credentials must go only to the shim it was configured with.
func TestCallbackURLCredentials(t *testing.T) {
	ok := answer{Body: `{"result":true,"message":"success"}`}
	shim := newFakeShim(t, ok)
	other := newFakeShim(t, ok)
	opts := Options{BearerToken: "s3cret", AppCode: "bk_sops", Username: "admin"}
	c := shim.newClient(opts)
	tests := []struct {
		name      string
		fake      *fakeShim
		wantCreds bool
	}{
		{"shim's own host", shim, true},
		{"another host", other, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.fake.srv.URL + "/plugins/hello/bk_plugin/callback/tok.sig/"
			if err := c.CallbackURL(context.Background(), u, map[string]int{"a": 1}); err != nil {
				t.Fatal(err)
			}
			reqs := tt.fake.requests()
			r := reqs[len(reqs)-1]
			if r.Method != "POST" || r.Path != "/plugins/hello/bk_plugin/callback/tok.sig/" || !jsonEqual(t, r.Body, `{"a":1}`) {
				t.Errorf("request %s %s %s", r.Method, r.Path, r.Body)
			}
			for _, h := range []string{"Authorization", "X-Bkplugin-App-Code", "X-Bkplugin-Username"} {
				if got := r.Header.Get(h) != ""; got != tt.wantCreds {
					t.Errorf("header %s sent = %v, want %v", h, got, tt.wantCreds)
				}
			}
		})
	}
}

func TestBaseURLPathPrefixIsKept(t *testing.T) {
	shim := newFakeShim(t, answer{Body: `{"result":true,"data":{"count":0,"results":[]},"message":""}`})
	c, err := New(shim.srv.URL+"/gw/prod/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListPlugins(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := shim.requests()[0].Path; got != "/gw/prod/plugins/" {
		t.Errorf("path %q, want /gw/prod/plugins/", got)
	}
}
