package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// None is the type of inputs, context inputs or outputs a version does not
// have. Its schema is an object with no properties.
type None struct{}

// Version is one version of a plugin: In is its inputs, Ctx its context
// inputs and Out its outputs, each a struct whose json and jsonschema tags
// define its JSON Schema (use None for what the version does not have).
type Version[In, Ctx, Out any] struct {
	// Version is the semver version, such as "1.0.0"; versions of one
	// plugin never collide.
	Version string
	// Description describes this version.
	Description string
	// Form is the version's front-end form (form.js, often go:embed-ed);
	// detail answers it as forms.renderform.
	Form string
	// TaskJSON is an optional BK-CI task.json description of the inputs
	// and outputs (taskjson.MustParse of a go:embed-ed task.json, or built
	// in Go). With one, the inputs schema is derived from it (In only
	// decodes), and so is the outputs schema when it declares outputs;
	// every execute enforces its defaults, required, rule and rely before
	// Execute runs; detail answers it as task_json.
	TaskJSON *v1alpha1.TaskDescription
	// EnablePluginCallback declares the finish-callback mode (the Python
	// framework's Meta.enable_plugin_callback): detail answers
	// enable_plugin_callback true, the context inputs gain the required
	// plugin_callback_info {url, data} (PluginCallbackInfoKey), and when an
	// execute after the first ends the invocation, the operator POSTs data
	// to url so that the platform need not poll. The plugin's code is the
	// same as in the polling mode.
	EnablePluginCallback bool
	// OnCancel, when set, is called when the invocation is cancelled or
	// passes its deadline after it has executed (reason is "cancelled" or
	// "timeout"), with the storage and outputs the last execute left, so
	// that the plugin can stop the external job it started. The invocation
	// ends FAIL whatever it returns.
	OnCancel func(ctx *Context[In, Ctx, Out], reason string) error
	// Execute runs the plugin once; see the package documentation for how
	// its outcome becomes the invocation's next state.
	Execute func(ctx *Context[In, Ctx, Out]) error
}

// runFunc decodes an execute's typed values, runs Execute and encodes the
// outputs back; everything else about an execute is shared, non-generic code.
type runFunc func(ctx context.Context, st *execState, inputs, contextInputs json.RawMessage) error

// AddVersion registers v with p. It generates and compiles the version's
// schemas, once, and fails when the version is not semver, is already
// registered, has no Execute, or has types that have no JSON Schema.
func AddVersion[In, Ctx, Out any](p *Plugin, v Version[In, Ctx, Out]) error {
	if v.Execute == nil {
		return fmt.Errorf("plugin %s: version %s has no Execute", p.meta.Code, v.Version)
	}
	in, err := schema.For[In]()
	if err != nil {
		return fmt.Errorf("plugin %s %s: inputs schema: %w", p.meta.Code, v.Version, err)
	}
	cin, err := schema.For[Ctx]()
	if err != nil {
		return fmt.Errorf("plugin %s %s: context inputs schema: %w", p.meta.Code, v.Version, err)
	}
	out, err := schema.For[Out]()
	if err != nil {
		return fmt.Errorf("plugin %s %s: outputs schema: %w", p.meta.Code, v.Version, err)
	}
	if v.EnablePluginCallback {
		if cin, err = withPluginCallbackInfo(cin); err != nil {
			return fmt.Errorf("plugin %s %s: %w", p.meta.Code, v.Version, err)
		}
	}
	var task *taskjson.Evaluator
	if v.TaskJSON != nil {
		if task, in, out, err = fromTaskJSON(v.TaskJSON, out); err != nil {
			return fmt.Errorf("plugin %s %s: task.json: %w", p.meta.Code, v.Version, err)
		}
	}
	for _, t := range []reflect.Type{reflect.TypeFor[In](), reflect.TypeFor[Ctx](), reflect.TypeFor[Out]()} {
		if t.Kind() == reflect.Pointer {
			return fmt.Errorf("plugin %s %s: %s is a pointer; use the struct type itself", p.meta.Code, v.Version, t)
		}
	}
	return p.register(&entry{
		info: VersionInfo{
			Version:       v.Version,
			Description:   v.Description,
			Inputs:        in.JSON(),
			ContextInputs: cin.JSON(),
			Outputs:       out.JSON(),
			Form:          v.Form,
			TaskJSON:      v.TaskJSON,

			EnablePluginCallback: v.EnablePluginCallback,
		},
		inputs:    in,
		context:   cin,
		task:      task,
		sensitive: sensitiveInputs(v.TaskJSON),
		run:       v.run,
		cancel:    v.cancelHook(),
	})
}

// fromTaskJSON checks a version's task.json and derives its schemas: the
// inputs schema always, so that the two descriptions cannot disagree, and
// the outputs schema when the task.json declares outputs (else the Out
// type's schema, typed is more precise than nothing).
func fromTaskJSON(d *v1alpha1.TaskDescription, typedOut *schema.Schema) (*taskjson.Evaluator, *schema.Schema, *schema.Schema, error) {
	task, err := taskjson.Compile(d)
	if err != nil {
		return nil, nil, nil, err
	}
	in, err := schema.Compile(taskjson.InputsSchema(d))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("derived inputs schema: %w", err)
	}
	out := typedOut
	if len(d.Output) > 0 {
		if out, err = schema.Compile(taskjson.OutputsSchema(d)); err != nil {
			return nil, nil, nil, fmt.Errorf("derived outputs schema: %w", err)
		}
	}
	return task, in, out, nil
}

// MustAddVersion is AddVersion for plugins defined at start-up, where a bad
// version is a programming error; it panics on error.
func MustAddVersion[In, Ctx, Out any](p *Plugin, v Version[In, Ctx, Out]) {
	if err := AddVersion(p, v); err != nil {
		panic(err)
	}
}

// newContext is the typed Context of one call, with its inputs still to be
// decoded; execute and cancel differ only in how strictly they decode them.
func newContext[In, Ctx, Out any](goctx context.Context, st *execState) *Context[In, Ctx, Out] {
	return &Context[In, Ctx, Out]{
		Context:     goctx,
		TraceID:     st.req.TraceID,
		PluginCode:  st.req.PluginCode,
		Version:     st.req.PluginVersion,
		State:       st.req.State,
		InvokeCount: st.req.InvokeCount,
		Attempt:     max(st.req.Attempt, 1),
		Storage:     st.storage,
		Log:         st.logger,
		st:          st,
	}
}

func (v Version[In, Ctx, Out]) run(goctx context.Context, st *execState, inputs, contextInputs json.RawMessage) (err error) {
	c := newContext[In, Ctx, Out](goctx, st)
	// The schema accepted the documents; a Go type stricter than its own
	// schema (a custom UnmarshalJSON, say) is still the caller's problem.
	if err := json.Unmarshal(inputs, &c.Inputs); err != nil {
		return &inputsError{fmt.Errorf("inputs: %w", err)}
	}
	if err := json.Unmarshal(contextInputs, &c.ContextInputs); err != nil {
		return &inputsError{fmt.Errorf("context: %w", err)}
	}
	if len(st.req.Outputs) > 0 && string(st.req.Outputs) != "null" {
		if err := json.Unmarshal(st.req.Outputs, &c.Outputs); err != nil {
			return fmt.Errorf("decode the outputs of the previous execute: %w", err)
		}
	}
	if cb := st.req.Callback; cb != nil {
		c.Callback = &Callback{ID: cb.ID, Data: cb.Data}
	}
	// Outputs are kept whatever Execute does, a panic included: a plugin
	// that fails after writing an output still reports it, as in Python.
	defer func() {
		st.outputs, st.outputsErr = json.Marshal(c.Outputs)
	}()
	return v.Execute(c)
}

// sensitiveInputs names the inputs d marks isSensitive; none without d.
func sensitiveInputs(d *v1alpha1.TaskDescription) []string {
	if d == nil {
		return nil
	}
	return taskjson.SensitiveInputs(d)
}

// cancelHook is the version's cancel function, nil without OnCancel.
func (v Version[In, Ctx, Out]) cancelHook() cancelFunc {
	if v.OnCancel == nil {
		return nil
	}
	return v.cancel
}
