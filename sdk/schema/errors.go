package schema

import (
	"errors"
	"strings"
)

// InputsErrorPrefix starts the error of an invocation whose inputs or context
// do not match the version's schemas, as in the Python framework, so that
// callers can recognise it.
const InputsErrorPrefix = "inputs validation error: "

// ContextErrorPrefix starts the error of an invocation whose inputs are
// valid but whose context is not, as the Python framework says it.
const ContextErrorPrefix = "context validation error: "

// Problem is one reason a document does not match a schema.
type Problem struct {
	// Field is the offending field as a dotted path ("options.name",
	// "hosts[2].ip"); it is empty when the document as a whole is wrong
	// (not an object, say).
	Field string
	// Message says what is wrong with it ("required", "must be >= 0").
	Message string
}

// rootField is the Field of a problem with the document as a whole.
const rootField = ""

// String returns "field: message", or the message alone for a problem with
// the whole document.
func (p Problem) String() string {
	if p.Field == rootField {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// ValidationError lists every problem found in a document, sorted by field. Callers that want
// the fields rather than the message use errors.As.
type ValidationError struct {
	Problems []Problem
}

// Error joins the problems: "name: required; polls: must be >= 0".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// InputsError is the error of an invocation whose inputs or context failed
// validation. Problems found in the context are named "context.<field>" so
// that one message names every offending field of both documents.
type InputsError struct {
	Problems []Problem
	// OnlyContext is set when the inputs were valid and only the context
	// failed; the message then starts with ContextErrorPrefix.
	OnlyContext bool
}

// Error returns "inputs validation error: name: required; context.biz_id:
// required", or "context validation error: context.biz_id: required" when
// only the context is wrong: the Python framework checks the inputs first
// and names the document that failed in its prefix.
func (e *InputsError) Error() string {
	prefix := InputsErrorPrefix
	if e.OnlyContext {
		prefix = ContextErrorPrefix
	}
	return prefix + (&ValidationError{Problems: e.Problems}).Error()
}

// NewInputsError merges the validation errors of an invocation's inputs and
// context into one InputsError. Either may be nil; it returns nil when both
// are. An error that is not a ValidationError is reported against the
// document it came from.
func NewInputsError(inputsErr, contextErr error) error {
	if inputsErr == nil && contextErr == nil {
		return nil
	}
	var problems []Problem
	problems = appendProblems(problems, inputsErr, "", "inputs")
	problems = appendProblems(problems, contextErr, "context.", "context")
	return &InputsError{Problems: problems, OnlyContext: inputsErr == nil}
}

func appendProblems(dst []Problem, err error, prefix, doc string) []Problem {
	if err == nil {
		return dst
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return append(dst, Problem{Field: doc, Message: err.Error()})
	}
	for _, p := range ve.Problems {
		if p.Field == rootField {
			p.Field = doc
		} else {
			p.Field = prefix + p.Field
		}
		dst = append(dst, p)
	}
	return dst
}
