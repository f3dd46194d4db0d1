//go:build envtest

package invocation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// writeCounter counts the API-server writes the manager makes about each
// invocation, as seen on the wire: every request that is not a read, on a
// PluginInvocation (object or subresource) or an event regarding one. Each
// write costs the API server and etcd far more than anything the manager
// does itself, so the count is what the cluster path's cost is judged by.
type writeCounter struct {
	mu     sync.Mutex
	writes map[string][]string // "namespace/name" -> "VERB resource[/sub]"
}

func newWriteCounter() *writeCounter { return &writeCounter{writes: map[string][]string{}} }

// wrap installs the counter in front of cfg's transport.
func (c *writeCounter) wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			c.observe(req)
			return rt.RoundTrip(req)
		})
	})
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// observe records req when it writes about an invocation.
func (c *writeCounter) observe(req *http.Request) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return
	}
	// .../namespaces/<ns>/<resource>[/<name>[/<sub>]]
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	i := -1
	for j, p := range parts {
		if p == "namespaces" {
			i = j
		}
	}
	if i < 0 || len(parts) < i+3 {
		return
	}
	ns, resource, rest := parts[i+1], parts[i+2], parts[i+3:]
	var name, what string
	switch resource {
	case "plugininvocations":
		if len(rest) == 0 {
			name = c.createdName(req)
		} else {
			name = rest[0]
		}
		what = "plugininvocations"
		if len(rest) > 1 {
			what += "/" + rest[1]
		}
	case "events":
		what = "events"
		if len(rest) == 0 {
			name = c.regardingName(req)
		} else if dot := strings.Index(rest[0], "."); dot > 0 {
			name = rest[0][:dot] // an event is named <object>.<suffix>
		}
	default:
		return
	}
	if name == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes[ns+"/"+name] = append(c.writes[ns+"/"+name], req.Method+" "+what)
}

// createdName reads the name of an object a POST creates.
func (c *writeCounter) createdName(req *http.Request) string {
	var obj struct {
		Metadata struct{ Name string } `json:"metadata"`
	}
	c.peek(req, &obj)
	return obj.Metadata.Name
}

// regardingName reads whom a new event is about: the trace id (the
// PluginInvocation's name) in its body, JSON or protobuf (events are sent
// as protobuf; both hold names as plain bytes). Only invocations are named
// by 32 hex digits, so the first such run is the invocation's name.
func (c *writeCounter) regardingName(req *http.Request) string {
	return string(traceIDIn.Find(c.body(req)))
}

// traceIDIn finds a trace id in a protobuf body.
var traceIDIn = regexp.MustCompile(`[0-9a-f]{32}`)

// body reads req's body and leaves it readable.
func (c *writeCounter) body(req *http.Request) []byte {
	if req.Body == nil {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	return body
}

// peek decodes req's JSON body into v and leaves the body readable.
func (c *writeCounter) peek(req *http.Request, v any) {
	_ = json.Unmarshal(c.body(req), v)
}

// of returns the writes recorded about inv.
func (c *writeCounter) of(inv *bkv1.PluginInvocation) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.writes[inv.Namespace+"/"+inv.Name]...)
}

// The cluster path's cost in API-server writes, counted on the wire: the
// create (the caller's) plus the manager's writes. Reaching POLL or
// CALLBACK costs one status write carrying the first execute's answer and
// nothing else (no life-cycle event); a SUCCESS costs one status write
// that carries the answer and the archive mark together (archived first,
// reconciler.go write), before the deletion --keep-finished later. With a
// finish notification the answer is written first, then the notification's
// outcome and the archive mark in a second write.
var _ = Describe("API-server writes per invocation", Ordered, func() {
	var ns string
	var counter *writeCounter
	BeforeAll(func() {
		counter = newWriteCounter()
		stopRunningManager()
		cfg := managerCfg
		managerCfg = counter.wrap(managerCfg)
		startManager(invocationOptions())
		DeferCleanup(func() {
			stopRunningManager()
			managerCfg = cfg
			startManager(invocationOptions())
		})
		ns = suite.NewNamespace()
		relay := httptest.NewServer(server.Handler(relayPlugin()))
		DeferCleanup(relay.Close)
		suite.WaitReady(suite.RegisterVersions(ns, relayPlugin(), relay.URL))
		suite.WaitReady(suite.RegisterVersions(ns, helloplugin.Plugin(), helloPod.URL))
	})

	// settled waits until the manager has nothing left to write about inv
	// for a while (the event broadcaster writes asynchronously) and
	// returns its writes.
	settled := func(inv *bkv1.PluginInvocation) []string {
		GinkgoHelper()
		var last []string
		Eventually(func() bool {
			now := counter.of(inv)
			same := fmt.Sprint(now) == fmt.Sprint(last)
			last = now
			return same
		}).WithPolling(1500 * time.Millisecond).Should(BeTrue())
		return last
	}

	// asShim labels the invocation at create as the shim does (the plugin
	// and the version it resolved), so that the manager has no label to add.
	asShim := func(plugin string) func(*bkv1.PluginInvocation) {
		return func(i *bkv1.PluginInvocation) {
			i.Labels = map[string]string{bkv1.LabelPlugin: plugin, bkv1.LabelVersion: "1.0.0"}
		}
	}

	It("reaches POLL with one status write and no event", func() {
		inv := invoke(ns, relayCode, "1.0.0", `{"poll_first_seconds":3600}`, asShim(relayCode))
		waitState(inv, bkv1.StatePoll)
		Expect(settled(inv)).To(Equal([]string{"PUT plugininvocations/status"}))
	})

	It("reaches CALLBACK with one status write and no event", func() {
		inv := invoke(ns, relayCode, "1.0.0", `{"callback_timeout_seconds":3600}`, asShim(relayCode))
		waitState(inv, bkv1.StateCallback)
		Expect(settled(inv)).To(Equal([]string{"PUT plugininvocations/status"}))
	})

	// archivedEventually waits until inv is marked archived.
	archivedEventually := func(inv *bkv1.PluginInvocation) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			got := &bkv1.PluginInvocation{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(inv), got)).To(Succeed())
			g.Expect(got.Status.ArchivedTime).NotTo(BeNil())
		}).Should(Succeed())
	}

	It("ends SUCCESS, archived, with one status write and no event", func() {
		// Archived first, then the answer and the archive's mark in one
		// write; a manager killed in between adopts the archived end on
		// restart instead of executing again (adopt.go).
		inv := invoke(ns, "hello", "1.0.0", `{"name":"writes"}`, asShim("hello"))
		waitState(inv, bkv1.StateSuccess)
		archivedEventually(inv)
		Expect(settled(inv)).To(Equal([]string{"PUT plugininvocations/status"}))
	})

	It("ends SUCCESS with a finish notification, notified and archived, with two status writes and no event", func() {
		var notified atomic.Int32
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			notified.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		DeferCleanup(sink.Close)
		inv := invoke(ns, "hello", "1.0.0", `{"name":"writes"}`, asShim("hello"), func(i *bkv1.PluginInvocation) {
			i.Spec.FinishNotification = &bkv1.FinishNotification{URL: sink.URL}
		})
		waitState(inv, bkv1.StateSuccess)
		archivedEventually(inv)
		Expect(settled(inv)).To(Equal([]string{"PUT plugininvocations/status", "PUT plugininvocations/status"}))
		Expect(notified.Load()).To(BeEquivalentTo(1))
	})
})

// TestWriteCounterCountsEvents shows that the write count above can see an
// event: an Event POST about an invocation, as client-go sends it (JSON or
// protobuf), is counted against the invocation its body names, so a
// manager that emitted one would fail the "no event" expectations.
func TestWriteCounterCountsEvents(t *testing.T) {
	apiServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer apiServer.Close()
	const traceID = "0123456789abcdef0123456789abcdef"
	inv := &bkv1.PluginInvocation{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: traceID}}
	for _, contentType := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		t.Run(contentType, func(t *testing.T) {
			counter := newWriteCounter()
			cfg := counter.wrap(&rest.Config{Host: apiServer.URL, ContentConfig: rest.ContentConfig{ContentType: contentType}})
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ev := &eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{Namespace: "ns", GenerateName: traceID + "."},
				EventTime:  metav1.NowMicro(), ReportingController: "bkplugin.io/manager", ReportingInstance: "manager-0",
				Action: "Execute", Reason: bkv1.ReasonPluginFailed, Type: "Warning", Note: "the plugin failed",
				Regarding: corev1.ObjectReference{APIVersion: bkv1.GroupVersion.String(), Kind: "PluginInvocation", Namespace: "ns", Name: traceID},
			}
			// The fake API server refuses it; the counter saw it go out.
			_, _ = cs.EventsV1().Events("ns").Create(context.Background(), ev, metav1.CreateOptions{})
			if got := counter.of(inv); len(got) != 1 || got[0] != "POST events" {
				t.Fatalf("writes counted about %s: %q, want one POST events", traceID, got)
			}
		})
	}
}
