package shim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSONDepth bounds how deeply an invoke body nests (the body object is
// the first level). The API server, the manager and the plugin pod each walk
// these documents recursively; a few thousand levels are legal JSON but only
// ever an attack.
const maxJSONDepth = 100

// checkJSONValues refuses, with 400, a document the API server would store
// as something else than the caller sent: invalid UTF-8 (it becomes U+FFFD),
// an integer beyond int64 (it becomes a rounded float) or a number beyond
// float64 (refused as an internal error); and one nested deeper than
// maxJSONDepth. raw must be valid JSON.
func checkJSONValues(raw []byte, what string) error {
	if !utf8.Valid(raw) {
		return errorf(http.StatusBadRequest, "%s: body is not valid UTF-8", what)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errorf(http.StatusBadRequest, "%s: body is not valid JSON: %v", what, err)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
				if depth > maxJSONDepth {
					return errorf(http.StatusBadRequest, "%s: nested deeper than %d levels", what, maxJSONDepth)
				}
			} else {
				depth--
			}
		case json.Number:
			if err := checkNumber(v); err != nil {
				return errorf(http.StatusBadRequest, "%s: %v", what, err)
			}
		}
	}
}

// checkNumber accepts the numbers Kubernetes stores exactly as sent:
// integers that fit in int64 and finite float64 values.
func checkNumber(n json.Number) error {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return fmt.Errorf("integer %.40s does not fit in 64 bits; send it as a string", s)
		}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return fmt.Errorf("number %.40s is out of the range of a 64-bit float; send it as a string", s)
	}
	return nil
}
