package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// sample is one scrape of the manager's /metrics: series -> value, where a
// series is written as name{labels} exactly as the endpoint prints it.
type sample map[string]float64

// scrape reads the manager's metrics.
func (st *stack) scrape(ctx context.Context) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := st.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape the manager's metrics: %w", err)
	}
	defer resp.Body.Close()
	s := sample{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		s[line[:i]] = v
	}
	return s, sc.Err()
}

// sum adds the series named name whose labels contain every one of match
// (each written as key="value").
func (s sample) sum(name string, match ...string) float64 {
	total := 0.0
	for series, v := range s {
		n, labels, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(labels, m)
		}
		if ok {
			total += v
		}
	}
	return total
}

// histogramQuantile estimates quantile q of histogram name from the bucket
// counts added between before and after, interpolating linearly within a
// bucket like Prometheus's histogram_quantile. It returns NaN with no
// observations, and the largest finite bound with over set when the
// quantile lies beyond it.
func histogramQuantile(before, after sample, name string, q float64) (value, count float64, over bool) {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for series, v := range after {
		n, labels, _ := strings.Cut(series, "{")
		if n != name+"_bucket" {
			continue
		}
		_, le, ok := strings.Cut(labels, `le="`)
		if !ok {
			continue
		}
		le, _, _ = strings.Cut(le, `"`)
		bound := math.Inf(1)
		if le != "+Inf" {
			var err error
			if bound, err = strconv.ParseFloat(le, 64); err != nil {
				continue
			}
		}
		bs = append(bs, bucket{bound, v - before[series]})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return math.NaN(), 0, false
	}
	total := bs[len(bs)-1].n
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				return lower, total, true
			}
			if b.n == below {
				return b.le, total, false
			}
			return lower + (b.le-lower)*(rank-below)/(b.n-below), total, false
		}
		lower, below = b.le, b.n
	}
	return lower, total, false
}
