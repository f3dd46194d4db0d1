package archive

import "fmt"

// Page sizes of Logs.
const (
	// DefaultLogLimit is the page size when Logs is given limit 0.
	DefaultLogLimit = 500
	// MaxLogLimit is the most lines Logs returns at once.
	MaxLogLimit = 5000
)

// LogPage is a run of an invocation's log lines.
type LogPage struct {
	// Lines are the lines from Offset on.
	Lines []string
	// Offset is the number of the first line (counted from 0).
	Offset int
	// Total is how many lines the invocation has.
	Total int
}

// resolveLogPage checks the paging arguments of Logs.
func resolveLogPage(key Key, offset, limit int) (int, error) {
	if err := validateKey(key); err != nil {
		return 0, err
	}
	if offset < 0 {
		return 0, fmt.Errorf("%w: log offset %d is negative", ErrInvalid, offset)
	}
	switch {
	case limit == 0:
		return DefaultLogLimit, nil
	case limit < 0 || limit > MaxLogLimit:
		return 0, fmt.Errorf("%w: log limit %d is out of range 1-%d", ErrInvalid, limit, MaxLogLimit)
	}
	return limit, nil
}

// checkAppend checks the arguments of AppendLogs.
func checkAppend(key Key, from int64, lines []string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if from < 0 {
		return fmt.Errorf("%w: %s: first log line number %d is negative", ErrInvalid, key, from)
	}
	return validateLines(key, from, lines)
}

// logPageOf starts the page of key's lines from offset when total are
// stored; exists says whether key is archived. more is false when the page
// is complete as returned (no line at or after offset).
func logPageOf(key Key, offset int, total int64, exists bool) (page LogPage, more bool, err error) {
	if !exists {
		return LogPage{}, false, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	page = LogPage{Offset: offset, Total: int(total), Lines: []string{}}
	return page, int64(offset) < total, nil
}
