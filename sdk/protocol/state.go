package protocol

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// State is the state of an invocation, with the numeric codes of the standard
// BlueKing plugin API.
type State int

// States on the wire. SUCCESS and FAIL are terminal.
const (
	StateEmpty    State = 1
	StatePoll     State = 2
	StateCallback State = 3
	StateSuccess  State = 4
	StateFail     State = 5
)

var stateNames = map[State]string{
	StateEmpty:    "EMPTY",
	StatePoll:     "POLL",
	StateCallback: "CALLBACK",
	StateSuccess:  "SUCCESS",
	StateFail:     "FAIL",
}

// String returns the state's name, such as "POLL".
func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the five known states.
func (s State) Valid() bool {
	_, ok := stateNames[s]
	return ok
}

// Terminal reports whether s is SUCCESS or FAIL.
func (s State) Terminal() bool { return s == StateSuccess || s == StateFail }

// ParseState returns the State named name ("POLL") or numbered ("2").
func ParseState(name string) (State, error) {
	for s, n := range stateNames {
		if n == name || strconv.Itoa(int(s)) == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown state %q: want one of EMPTY, POLL, CALLBACK, SUCCESS, FAIL", name)
}

// UnmarshalJSON accepts the numeric code, as the standard API sends it.
func (s *State) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("state must be a number 1-5: %w", err)
	}
	st := State(n)
	if !st.Valid() {
		return fmt.Errorf("state %d is not one of 1 (EMPTY), 2 (POLL), 3 (CALLBACK), 4 (SUCCESS), 5 (FAIL)", n)
	}
	*s = st
	return nil
}
