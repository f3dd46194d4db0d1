package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// printer writes the demo's output: numbered steps with indented lines,
// aligned so that a newcomer can follow states down a column.
type printer struct {
	w io.Writer
	// stepStart is when the current step began; progress lines show the
	// time since.
	stepStart time.Time
}

func (p *printer) title(s string) {
	fmt.Fprintf(p.w, "%s\n%s\n\n", s, strings.Repeat("=", len(s)))
}

func (p *printer) step(n int, title string) {
	p.stepStart = time.Now()
	fmt.Fprintf(p.w, "\n%d. %s\n", n, title)
}

func (p *printer) blank() { fmt.Fprintln(p.w) }

func (p *printer) line(format string, args ...any) {
	fmt.Fprintf(p.w, "   "+format+"\n", args...)
}

// field prints "name   value" with the names aligned.
func (p *printer) field(name, value string) {
	p.line("%-11s %s", name, value)
}

// state prints one observed state with the time since the step began.
func (p *printer) state(s protocol.State, detail string) {
	elapsed := time.Since(p.stepStart).Seconds()
	p.line("%5.1fs  %-8s  %s", elapsed, s, detail)
}
