package main

import (
	"strings"
	"testing"
)

func TestNeighbourFloodSize(t *testing.T) {
	cases := []struct {
		name      string
		asked     int
		pairsPerS float64
		want      int
		cut       bool
	}{
		{"no baseline: as asked", 2000, 0, 2000, false},
		{"fast enough: as asked", 2000, 100, 2000, false},
		{"slow: a minute's worth", 2000, 20, 1200, true},
		{"very slow: at least 200", 2000, 1, 200, true},
		{"small flood never grows", 100, 1, 100, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := neighbourFloodSize(c.asked, c.pairsPerS)
			if got != c.want || (why != "") != c.cut {
				t.Errorf("neighbourFloodSize(%d, %g) = %d, %q; want %d, cut %v", c.asked, c.pairsPerS, got, why, c.want, c.cut)
			}
			if c.cut && !strings.Contains(why, "cut from") {
				t.Errorf("the reason should say the flood was cut: %q", why)
			}
		})
	}
}
