package versions

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// Part names the piece of a PluginVersion's spec that failed to compile.
type Part string

// The parts of a PluginVersion that Cache compiles.
const (
	// PartInputs is spec.inputs, the inputs JSON Schema.
	PartInputs Part = "inputs schema"
	// PartContext is spec.contextInputs, the context JSON Schema.
	PartContext Part = "context inputs schema"
	// PartTaskJSON is spec.taskJSON, the task.json description.
	PartTaskJSON Part = "task.json description"
)

// CompileError says which part of which PluginVersion does not compile. The
// manager fails the invocation InvalidVersion; the shim refuses an invoke
// only for a bad task.json description and leaves the schemas to the
// manager.
type CompileError struct {
	// Version is the PluginVersion's object name.
	Version string
	// Part is what failed to compile.
	Part Part
	// Err is the compiler's error.
	Err error
}

// Error reads "PluginVersion <name> has an invalid <part>: <err>".
func (e *CompileError) Error() string {
	return fmt.Sprintf("PluginVersion %s has an invalid %s: %v", e.Version, e.Part, e.Err)
}

// Unwrap returns the compiler's error.
func (e *CompileError) Unwrap() error { return e.Err }

// Compiled is what a PluginVersion's spec compiles to: its schemas, its
// task.json evaluator and the fields that description marks sensitive.
type Compiled struct {
	resourceVersion string
	// Inputs and Context validate an invocation's inputs and context.
	Inputs, Context *schema.Schema
	// Task evaluates the version's task.json description; nil without one.
	Task *taskjson.Evaluator
	// SensitiveInputs and SensitiveOutputs are the fields the task.json
	// description marks isSensitive.
	SensitiveInputs, SensitiveOutputs []string
	// errs holds the *CompileError of each part that failed.
	errs map[Part]error
}

// Cache keeps the compiled form of each PluginVersion, keyed by its UID and
// resourceVersion, so that a version is compiled once per change and not
// once per invocation. The shim and the manager each hold one; it is safe
// for concurrent use.
type Cache struct {
	mu      sync.Mutex
	entries map[types.UID]*Compiled
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{entries: map[types.UID]*Compiled{}}
}

// Get returns plv compiled, compiling it when plv changed since the last
// call. Every part is compiled even when one fails, so that the parts that
// compile can be used (see Err); the error is the *CompileError of the
// first part that failed, in the order inputs, context, task.json. The
// result is never nil.
func (c *Cache) Get(plv *bkv1.PluginVersion) (*Compiled, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[plv.UID]
	if !ok || e.resourceVersion != plv.ResourceVersion {
		e = compile(plv)
		c.entries[plv.UID] = e
	}
	for _, p := range []Part{PartInputs, PartContext, PartTaskJSON} {
		if err := e.Err(p); err != nil {
			return e, err
		}
	}
	return e, nil
}

func compile(plv *bkv1.PluginVersion) *Compiled {
	e := &Compiled{resourceVersion: plv.ResourceVersion, errs: map[Part]error{}}
	var err error
	if e.Inputs, err = schema.Compile(rawOf(plv.Spec.Inputs)); err != nil {
		e.errs[PartInputs] = &CompileError{Version: plv.Name, Part: PartInputs, Err: err}
	}
	if e.Context, err = schema.Compile(rawOf(plv.Spec.ContextInputs)); err != nil {
		e.errs[PartContext] = &CompileError{Version: plv.Name, Part: PartContext, Err: err}
	}
	if d := plv.Spec.TaskJSON; d != nil {
		if e.Task, err = taskjson.Compile(d); err != nil {
			e.errs[PartTaskJSON] = &CompileError{Version: plv.Name, Part: PartTaskJSON, Err: err}
		}
		e.SensitiveInputs, e.SensitiveOutputs = taskjson.SensitiveInputs(d), taskjson.SensitiveOutputs(d)
	}
	return e
}

// Err returns the *CompileError of part, nil when it compiled (or is absent).
func (s *Compiled) Err(part Part) error {
	if err, ok := s.errs[part]; ok {
		return err
	}
	return nil
}

// ValidateInputs checks an invocation's inputs (sensitive ones included)
// and context against the version's task.json description and schemas;
// the one error names every offending field, and never a value.
func (s *Compiled) ValidateInputs(inputs, context []byte) error {
	var problems []schema.Problem
	onlyContext := true
	if s.Task != nil {
		normalized, err := s.Task.Evaluate(inputs)
		var ve *taskjson.ViolationsError
		switch {
		case errors.As(err, &ve):
			problems = append(problems, ve.Problems()...)
			onlyContext = false
		case err != nil:
			return err
		default:
			inputs = normalized
		}
	}
	err := schema.NewInputsError(s.Inputs.Validate(inputs), s.Context.Validate(context))
	var ie *schema.InputsError
	if errors.As(err, &ie) {
		problems = append(problems, ie.Problems...)
		onlyContext = onlyContext && ie.OnlyContext
	} else if err != nil {
		return err
	}
	if len(problems) == 0 {
		return nil
	}
	return &schema.InputsError{Problems: dedupProblems(problems), OnlyContext: onlyContext}
}

// dedupProblems drops a schema problem the task.json rules already reported
// for the same field, such as a missing required field.
func dedupProblems(ps []schema.Problem) []schema.Problem {
	seen := map[string]bool{}
	out := ps[:0]
	for _, p := range ps {
		k := p.Field + "\x00" + p.Message
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	return out
}

func rawOf(j *apiextensionsv1.JSON) json.RawMessage {
	if j == nil {
		return nil
	}
	return j.Raw
}
