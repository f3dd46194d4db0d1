package archivetest

import (
	"errors"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// ending the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestSkipOrFail(t *testing.T) {
	other := errors.New("initdb failed")
	cases := []struct {
		ci         string
		err        error
		skip, fail bool
	}{
		{"", ErrNotInstalled, true, false},
		{"true", ErrNotInstalled, false, true},
		{"", other, false, true},
		{"true", other, false, true},
	}
	for _, c := range cases {
		t.Setenv("CI", c.ci)
		r := &recorder{TB: t}
		SkipOrFail(r, c.err)
		if r.skipped != c.skip || r.failed != c.fail {
			t.Errorf("CI=%q, %v: skipped %v failed %v; want skip %v fail %v", c.ci, c.err, r.skipped, r.failed, c.skip, c.fail)
		}
	}
}
