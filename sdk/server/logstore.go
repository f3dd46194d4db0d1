package server

import "sync"

// logStore keeps the log lines of recent invocations by trace id, bounded in
// invocations and in lines per invocation so that a busy pod's memory stays
// flat. It is a convenience for debugging one replica: the manager keeps the
// lines it receives in execute answers.
type logStore struct {
	mu       sync.Mutex
	lines    map[string][]string
	order    []string // trace ids, oldest first
	maxTrace int
	maxLines int
}

func newLogStore(maxTraces, maxLines int) *logStore {
	return &logStore{lines: map[string][]string{}, maxTrace: maxTraces, maxLines: maxLines}
}

func (s *logStore) append(traceID string, lines []string) {
	if len(lines) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.lines[traceID]
	if !ok {
		if len(s.order) >= s.maxTrace {
			delete(s.lines, s.order[0])
			s.order = s.order[1:]
		}
		s.order = append(s.order, traceID)
	}
	cur = append(cur, lines...)
	if over := len(cur) - s.maxLines; over > 0 {
		cur = cur[over:]
	}
	s.lines[traceID] = cur
}

func (s *logStore) get(traceID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines[traceID]...)
}
