package main

import (
	"fmt"
	"math"
	"time"
)

// sized is a load a phase offers, sized from the run's baseline.
type sized struct {
	// perS is the rate offered.
	perS float64
	// fraction is perS over the baseline figure it was sized from; zero
	// when the rate was given on the command line.
	fraction float64
}

// sizeRate decides a phase's rate: given (a flag above zero) wins;
// otherwise fraction of measured, the baseline's figure, which must have
// been measured in this run.
func sizeRate(phase string, given, fraction, measured float64) (sized, error) {
	if given > 0 {
		return sized{perS: given}, nil
	}
	if measured <= 0 || math.IsNaN(measured) {
		return sized{}, fmt.Errorf("the %s phase is sized from the baseline: run the baseline phase too, or give its rate", phase)
	}
	return sized{perS: fraction * measured, fraction: fraction}, nil
}

// pollersFor is how many pollers with interval between polls fall due at
// perS polls a second: at least one.
func pollersFor(perS float64, interval time.Duration) int {
	return max(int(math.Round(perS*interval.Seconds())), 1)
}

// describe says how s was chosen, for the table: "0.30 x baseline
// updates/s" or "given".
func (s sized) describe(of string) string {
	if s.fraction == 0 {
		return "given on the command line"
	}
	return fmt.Sprintf("%.2f x the baseline's %s", s.fraction, of)
}
