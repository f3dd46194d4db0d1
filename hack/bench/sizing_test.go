package main

import (
	"testing"
	"time"
)

func TestSizeRate(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		given, fraction, measured float64
		want                      float64
		wantFraction              float64
		wantErr                   bool
	}{
		{name: "sized from the baseline", fraction: 0.3, measured: 500, want: 150, wantFraction: 0.3},
		{name: "a slower machine gets less", fraction: 0.3, measured: 167, want: 50.1, wantFraction: 0.3},
		{name: "given wins", given: 40, fraction: 0.3, measured: 500, want: 40},
		{name: "given needs no baseline", given: 40, fraction: 0.3, want: 40},
		{name: "no baseline, nothing given", fraction: 0.3, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sizeRate("lateness", tc.given, tc.fraction, tc.measured)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if d := s.perS - tc.want; d > 1e-9 || d < -1e-9 || s.fraction != tc.wantFraction {
				t.Errorf("sized = %+v, want %v/s fraction %v", s, tc.want, tc.wantFraction)
			}
		})
	}
}

func TestPollersFor(t *testing.T) {
	for _, tc := range []struct {
		perS     float64
		interval time.Duration
		want     int
	}{
		{150, 60 * time.Second, 9000},
		{50.1, 60 * time.Second, 3006},
		{0.001, time.Second, 1},
	} {
		if got := pollersFor(tc.perS, tc.interval); got != tc.want {
			t.Errorf("pollersFor(%v, %s) = %d, want %d", tc.perS, tc.interval, got, tc.want)
		}
	}
}
