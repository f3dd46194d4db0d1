//go:build envtest

package shim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// scopedPlugin may be invoked by app bk_sops only from projects 1 and 2.
func scopedPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{
		Code: "scoped", Description: "Test plugin with an allow_scope.",
		AllowScope: map[string]stdapi.AllowedScope{"bk_sops": {Type: "project", Value: []string{"1", "2"}}},
	})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error { return nil },
	})
	return p
}

type slowOutputs struct {
	Done bool `json:"done"`
}

// slowPlugin succeeds at once, but its pod is served behind the suite's
// gate, so its first execute ends only when a spec opens the gate.
func slowPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "slow", Description: "Test plugin whose pod holds executes."})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, slowOutputs]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[plugin.None, plugin.None, slowOutputs]) error {
			ctx.Outputs.Done = true
			return nil
		},
	})
	return p
}

// newClient returns a platform's client of the shim.
func newClient(opts bkclient.Options) *bkclient.Client {
	GinkgoHelper()
	if opts.Username == "" {
		opts.Username = "admin"
	}
	c, err := bkclient.New(shimURL, opts)
	Expect(err).NotTo(HaveOccurred())
	return c
}

// rawAnswer is an answer read without sdk/client, for requests a client
// would never send.
type rawAnswer struct {
	Status int
	Body   string
	Env    map[string]any
}

// rawCall sends a request as given and decodes the answer as a JSON object.
func rawCall(method, path, body string, header map[string]string) rawAnswer {
	GinkgoHelper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(suiteCtx, method, shimURL+path, rd)
	Expect(err).NotTo(HaveOccurred())
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	a := rawAnswer{Status: resp.StatusCode, Body: string(b)}
	_ = json.Unmarshal(b, &a.Env)
	return a
}

// getInvocation reads an invocation from the API server.
func getInvocation(name string) *bkv1.PluginInvocation {
	GinkgoHelper()
	inv := &bkv1.PluginInvocation{}
	Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: name}, inv)).To(Succeed())
	return inv
}

// stored reads a call where it is kept: its PluginInvocation while there
// is one, else its archived record (a call the shim answered on the direct
// path was never a PluginInvocation). Exactly one of the two is set.
func stored(name string) (*bkv1.PluginInvocation, *archive.Record) {
	GinkgoHelper()
	inv := &bkv1.PluginInvocation{}
	err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: name}, inv)
	if err == nil {
		return inv, nil
	}
	Expect(apierrors.IsNotFound(err)).To(BeTrue(), "read invocation %s: %v", name, err)
	Expect(directMode()).To(BeTrue(), "invocation %s is not in the cluster", name)
	rec, err := historyArchive.Get(suiteCtx, archive.Key{Namespace: namespace, TraceID: name})
	Expect(err).NotTo(HaveOccurred(), "a call answered on the direct path is archived")
	return nil, &rec
}

// executesOf is how many executes the call named name made, wherever it is.
func executesOf(name string) int32 {
	GinkgoHelper()
	if inv, rec := stored(name); inv != nil {
		return inv.Status.InvokeCount
	} else {
		return rec.InvokeCount
	}
}

func newTraceID() string {
	GinkgoHelper()
	id, err := stdapi.NewTraceID()
	Expect(err).NotTo(HaveOccurred())
	return id
}

// stopperCancels receives "<trace id> <reason>" from the stopper plugin's
// OnCancel hook, as the manager calls it.
var stopperCancels = make(chan string, 16)

// stopperPlugin polls until cancelled or timed out; its OnCancel hook
// reports the job it would stop.
func stopperPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "stopper", Description: "Test plugin with an OnCancel hook."})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[plugin.None, plugin.None, plugin.None]) error {
			if err := ctx.Storage.Set("job", "job-of-"+ctx.TraceID); err != nil {
				return err
			}
			ctx.WaitPoll(time.Second)
			return nil
		},
		OnCancel: func(ctx *plugin.Context[plugin.None, plugin.None, plugin.None], reason string) error {
			var job string
			if _, err := ctx.Storage.Get("job", &job); err != nil {
				return err
			}
			stopperCancels <- job + " " + reason
			return nil
		},
	})
	return p
}

// startShim runs a shim of a spec's own with o on a fresh loopback
// listener (o.Listener is set; o.Registry too when nil; o.CallbackBaseURL
// to the shim's own address when selfCallbacks) and waits until it is
// ready. stop cancels it and returns what Run returned.
func startShim(o shim.Options, selfCallbacks bool) (url string, stop func() error) {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	url = "http://" + ln.Addr().String()
	o.Listener = ln
	if selfCallbacks {
		o.CallbackBaseURL = url
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	srv, err := shim.New(o)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(suiteCtx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	Eventually(func() int { return httpStatus(url + shim.ReadyzPath) }).Should(Equal(http.StatusOK))
	return url, func() error {
		cancel()
		var err error
		Eventually(done, 10*time.Second).Should(Receive(&err))
		return err
	}
}
