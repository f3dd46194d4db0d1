package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// watchInterval is how often a step asks the shim for the schedule: short,
// so that each poll of the poller shows as it happens.
const watchInterval = 100 * time.Millisecond

func listPlugins(ctx context.Context, p *printer, c *client.Client) error {
	list, err := c.ListPlugins(ctx)
	if err != nil {
		return err
	}
	var codes []string
	for _, r := range list.Results {
		p.field(r.Code, strings.Join(r.Versions, ", "))
		codes = append(codes, r.Code)
	}
	for _, want := range []string{"callbacker", "deployer", "hello", "poller"} {
		if !slices.Contains(codes, want) {
			return fmt.Errorf("the shim does not list %s", want)
		}
	}
	return nil
}

func helloExact(ctx context.Context, p *printer, c *client.Client) error {
	return hello(ctx, p, c, "1.0.0", map[string]any{"name": "world"}, "Hello, world!", "1.0.0")
}

func helloConstraint(ctx context.Context, p *printer, c *client.Client) error {
	return hello(ctx, p, c, "^1.1", map[string]any{"name": "world", "punctuation": "?"}, "Hello, world?", "1.1.0")
}

// hello invokes hello synchronously: the answer comes after the first
// execute, so it is already SUCCESS.
func hello(ctx context.Context, p *printer, c *client.Client, version string, inputs map[string]any, greeting, resolved string) error {
	p.line("POST /plugins/hello/bk_plugin/invoke/%s  inputs %s", version, compact(inputs))
	res, err := invoke(ctx, c, "hello", version, inputs, false)
	if err != nil {
		return err
	}
	var out struct {
		Greeting string `json:"greeting"`
	}
	_ = json.Unmarshal(res.Outputs, &out)
	p.state(res.State, fmt.Sprintf("greeting %q  (trace_id %s)", out.Greeting, res.TraceID))
	if res.State != protocol.StateSuccess || out.Greeting != greeting {
		return fmt.Errorf("hello %s ended %s with greeting %q and error %q; want SUCCESS with %q", version, res.State, out.Greeting, res.Err, greeting)
	}
	s, err := c.Schedule(ctx, "hello", res.TraceID)
	if err != nil {
		return err
	}
	if s.PluginVersion != resolved {
		return fmt.Errorf("hello %s ran version %q, want %s", version, s.PluginVersion, resolved)
	}
	if version != resolved {
		p.line("        the manager resolved %s to version %s", version, s.PluginVersion)
	}
	return nil
}

// poller invokes asynchronously and follows the schedule, printing a line
// for each state change and each poll done.
func poller(ctx context.Context, p *printer, c *client.Client) error {
	const polls = 3
	p.line("POST /plugins/poller/bk_plugin/invoke/1.0.0  inputs %s  (async)", compact(map[string]any{"polls": polls, "interval": 1}))
	res, err := invoke(ctx, c, "poller", "1.0.0", map[string]any{"polls": polls, "interval": 1}, true)
	if err != nil {
		return err
	}
	p.state(res.State, "recorded as PluginInvocation "+res.TraceID)
	last := res.State
	lastPolls := -1
	s, err := follow(ctx, c, "poller", res.TraceID, func(s stdapi.ScheduleData) {
		var out struct {
			PollsDone *int `json:"polls_done"`
		}
		_ = json.Unmarshal(s.Outputs, &out)
		done := -1
		if out.PollsDone != nil {
			done = *out.PollsDone
		}
		if s.State == last && done == lastPolls {
			return
		}
		last, lastPolls = s.State, done
		switch {
		case done < 0:
			p.state(s.State, "")
		case s.State == protocol.StatePoll:
			p.state(s.State, fmt.Sprintf("polls done %d/%d, next poll in 1s", done, polls))
		default:
			p.state(s.State, fmt.Sprintf("polls done %d/%d", done, polls))
		}
	})
	if err != nil {
		return err
	}
	if s.State != protocol.StateSuccess || lastPolls != polls {
		return fmt.Errorf("poller ended %s after %d polls with error %q; want SUCCESS after %d", s.State, lastPolls, s.Err, polls)
	}
	return nil
}

// callbacker invokes, reads the callback URL the plugin prepared, posts to
// it as a third party would and follows the invocation to its end.
func callbacker(ctx context.Context, p *printer, c *client.Client) error {
	p.line("POST /plugins/callbacker/bk_plugin/invoke/1.0.0  inputs {}")
	res, err := invoke(ctx, c, "callbacker", "1.0.0", nil, false)
	if err != nil {
		return err
	}
	var out struct {
		CallbackURL string `json:"callback_url"`
	}
	_ = json.Unmarshal(res.Outputs, &out)
	p.state(res.State, "callback_url "+shorten(out.CallbackURL))
	if res.State != protocol.StateCallback || out.CallbackURL == "" {
		return fmt.Errorf("callbacker is %s with outputs %s and error %q; want CALLBACK with a callback_url", res.State, res.Outputs, res.Err)
	}
	data := map[string]any{"approved": true, "by": "demo"}
	p.line("        a third party POSTs %s to the callback URL", compact(data))
	if err := c.CallbackURL(ctx, out.CallbackURL, data); err != nil {
		return err
	}
	last := res.State
	s, err := follow(ctx, c, "callbacker", res.TraceID, func(s stdapi.ScheduleData) {
		if s.State == last {
			return
		}
		last = s.State
		var got struct {
			Received json.RawMessage `json:"received"`
		}
		_ = json.Unmarshal(s.Outputs, &got)
		detail := ""
		if len(got.Received) > 0 {
			detail = "received " + string(got.Received)
		}
		p.state(s.State, detail)
	})
	if err != nil {
		return err
	}
	var got struct {
		Received map[string]any `json:"received"`
	}
	_ = json.Unmarshal(s.Outputs, &got)
	if s.State != protocol.StateSuccess || got.Received["by"] != "demo" {
		return fmt.Errorf("callbacker ended %s with outputs %s and error %q; want SUCCESS with the callback's data", s.State, s.Outputs, s.Err)
	}
	return nil
}

func invoke(ctx context.Context, c *client.Client, code, version string, inputs any, async bool) (*client.InvokeResult, error) {
	req, err := stdapi.NewInvokeRequest(inputs, map[string]any{"executor": "newcomer"})
	if err != nil {
		return nil, err
	}
	return c.Invoke(ctx, code, version, req, client.InvokeOptions{Async: async})
}

// follow asks for the schedule every watchInterval, handing each one to
// seen, until the invocation is SUCCESS or FAIL. WaitTerminal's hook fires
// only on state changes; the poller's progress is in its outputs.
func follow(ctx context.Context, c *client.Client, code, traceID string, seen func(stdapi.ScheduleData)) (*stdapi.ScheduleData, error) {
	ticker := time.NewTicker(watchInterval)
	defer ticker.Stop()
	for {
		s, err := c.Schedule(ctx, code, traceID)
		if err != nil {
			return nil, err
		}
		seen(*s)
		if s.State.Terminal() {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s %s still %s: %w", code, traceID, s.State, ctx.Err())
		case <-ticker.C:
		}
	}
}

// compact renders v as one line of JSON.
func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// shorten elides the long signed token of a callback URL.
func shorten(url string) string {
	const keep = 12
	i := strings.Index(url, "/callback/")
	if i < 0 || len(url) < i+len("/callback/")+keep+4 {
		return url
	}
	head := url[:i+len("/callback/")+keep]
	return head + "...(signed token)/"
}

// deployer shows the task.json rules enforced before the plugin runs, then
// a deploy whose token never enters the invocation.
func deployer(ctx context.Context, p *printer, c *client.Client) error {
	bad := map[string]any{"version": "latest", "env": "prod", "token": "s3cret-demo-token"}
	p.line("POST /plugins/deployer/bk_plugin/invoke/1.0.0  inputs %s", compact(redacted(bad)))
	// Answered as the Python framework answers invalid inputs: 200,
	// result true, FAIL with every violation named (a 400 would be thrown
	// away by bk-sops), never the token.
	rej, err := invoke(ctx, c, "deployer", "1.0.0", bad, false)
	if err != nil {
		return fmt.Errorf("deployer with a bad version and no approver: %w", err)
	}
	p.state(rej.State, rej.Err)
	if rej.State != protocol.StateFail || !strings.Contains(rej.Err, "version") || !strings.Contains(rej.Err, "approver") {
		return fmt.Errorf("deployer with a bad version and no approver answered %s %q; want FAIL naming both", rej.State, rej.Err)
	}
	if strings.Contains(rej.Err, "s3cret-demo-token") {
		return fmt.Errorf("the error shows the sensitive token")
	}

	good := map[string]any{"version": "1.4.2", "env": "prod", "approver": "alice", "token": "s3cret-demo-token"}
	p.line("POST /plugins/deployer/bk_plugin/invoke/1.0.0  inputs %s", compact(redacted(good)))
	res, err := invoke(ctx, c, "deployer", "1.0.0", good, false)
	if err != nil {
		return err
	}
	var out struct {
		DeployID string `json:"deploy_id"`
	}
	_ = json.Unmarshal(res.Outputs, &out)
	p.state(res.State, fmt.Sprintf("deploy_id %q  (the token went to Secret %s-sensitive, not to the invocation)", out.DeployID, res.TraceID))
	if res.State != protocol.StateSuccess || out.DeployID == "" {
		return fmt.Errorf("deployer ended %s with error %q; want SUCCESS with a deploy_id", res.State, res.Err)
	}
	return nil
}

// redacted shows inputs with the token masked, as the operator does.
func redacted(in map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range in {
		out[k] = v
	}
	if _, ok := out["token"]; ok {
		out["token"] = "******"
	}
	return out
}
