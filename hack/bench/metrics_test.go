package main

import (
	"math"
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	const name = "lateness_seconds"
	before := sample{
		name + `_bucket{le="0.1"}`:  10,
		name + `_bucket{le="1"}`:    10,
		name + `_bucket{le="+Inf"}`: 10,
	}
	after := sample{
		name + `_bucket{le="0.1"}`:  60, // 50 new observations <= 0.1
		name + `_bucket{le="1"}`:    105,
		name + `_bucket{le="+Inf"}`: 110,
	}
	// 100 new observations: 50 in (0, 0.1], 45 in (0.1, 1], 5 above 1.
	for _, tc := range []struct {
		q    float64
		want float64
		over bool
	}{
		{0.25, 0.05, false},
		{0.5, 0.1, false},
		{0.95, 1, false},
		{0.99, 1, true},
	} {
		got, count, over := histogramQuantile(before, after, name, tc.q)
		if count != 100 || math.Abs(got-tc.want) > 1e-9 || over != tc.over {
			t.Errorf("q%.2f = %v (count %v, over %v), want %v (count 100, over %v)", tc.q, got, count, over, tc.want, tc.over)
		}
	}
	if got, _, _ := histogramQuantile(after, after, name, 0.5); !math.IsNaN(got) {
		t.Errorf("no observations: got %v, want NaN", got)
	}
}

func TestSampleSum(t *testing.T) {
	s := sample{
		`executes_count{plugin="poller",outcome="POLL"}`:   7,
		`executes_count{plugin="poller",outcome="error"}`:  2,
		`executes_count{plugin="hello",outcome="SUCCESS"}`: 5,
		`executes_countx{plugin="poller"}`:                 100,
	}
	if got := s.sum("executes_count", `plugin="poller"`); got != 9 {
		t.Errorf("sum = %v, want 9", got)
	}
	if got := s.sum("executes_count", `plugin="poller"`, `outcome="error"`); got != 2 {
		t.Errorf("sum of errors = %v, want 2", got)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := percentile(d, q); got != want {
			t.Errorf("percentile(%v) = %v, want %v", q, got, want)
		}
	}
}
