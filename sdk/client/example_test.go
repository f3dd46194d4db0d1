package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// A stand-in for the shim: the invoke answers POLL, and the invocation
// succeeds on the second schedule.
func exampleShim() *httptest.Server {
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /plugins/hello/bk_plugin/invoke/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"result":true,"data":{"outputs":{},"state":2,"err":""},"message":"success","trace_id":%q}`,
			r.Header.Get(stdapi.HeaderTraceID))
	})
	mux.HandleFunc("GET /plugins/hello/bk_plugin/schedule/{trace_id}", func(w http.ResponseWriter, r *http.Request) {
		state, finish := 2, ""
		if polls.Add(1) >= 2 {
			state, finish = 4, "2024-05-06 07:08:10"
		}
		fmt.Fprintf(w, `{"result":true,"data":{"trace_id":%q,"plugin_version":"1.0.0","state":%d,`+
			`"outputs":{"greeting":"hello, bk"},"err":"","created_at":"2024-05-06 07:08:09","finish_at":%q},"message":""}`,
			r.PathValue("trace_id"), state, finish)
	})
	return httptest.NewServer(mux)
}

// Invoke a plugin with a trace id of our own (so that a retry after a lost
// answer cannot start it twice), then wait for it to finish, printing each
// state change.
func Example_invokeAndWait() {
	shim := exampleShim()
	defer shim.Close()

	c, err := client.New(shim.URL, client.Options{AppCode: "bk_sops", Username: "admin"})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	traceID, err := stdapi.NewTraceID()
	if err != nil {
		log.Fatal(err)
	}
	req, err := stdapi.NewInvokeRequest(map[string]any{"name": "bk"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Invoke(ctx, "hello", "1.0.0", req, client.InvokeOptions{TraceID: traceID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("invoked:", res.State)

	final, err := c.WaitTerminal(ctx, "hello", res.TraceID, 10*time.Millisecond, func(s stdapi.ScheduleData) {
		fmt.Println("state:", s.State)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("outputs:", string(final.Outputs), "finished at", final.FinishAt)
	// Output:
	// invoked: POLL
	// state: POLL
	// state: SUCCESS
	// outputs: {"greeting":"hello, bk"} finished at 2024-05-06 07:08:10
}
