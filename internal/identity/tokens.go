package identity

import (
	"bufio"
	"crypto/subtle"
	"fmt"
	"io"
	"strings"
)

// Tokens are the bearer tokens a shim accepts, each standing for an app
// code (or for no app: a line holding only a token, the format before app
// codes existed). The zero value accepts no token.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	token, appCode string
}

// ParseTokens reads a token file: one "token [app_code]" per line, blank
// lines and # comments skipped. A token given twice, or a line of more than
// two fields, is an error naming the line: a typo must not grant access.
func ParseTokens(r io.Reader, name string) (*Tokens, error) {
	t := &Tokens{}
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) > 2 {
			return nil, fmt.Errorf("%s line %d: want \"token [app_code]\", got %d fields", name, n, len(f))
		}
		if prev, ok := seen[f[0]]; ok {
			return nil, fmt.Errorf("%s line %d: the token of line %d again", name, n, prev)
		}
		seen[f[0]] = n
		e := tokenEntry{token: f[0]}
		if len(f) == 2 {
			e.appCode = f[1]
		}
		t.entries = append(t.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return t, nil
}

// NewTokens returns tokens from a map of token to app code ("" for none).
func NewTokens(m map[string]string) *Tokens {
	t := &Tokens{}
	for tok, app := range m {
		t.entries = append(t.entries, tokenEntry{token: tok, appCode: app})
	}
	return t
}

// Len returns how many tokens are accepted.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.entries)
}

// Lookup returns the identity token stands for. It compares against every
// token in constant time, so that the answer's timing tells nothing about
// how close a guess was.
func (t *Tokens) Lookup(token string) (Identity, bool) {
	if t == nil || token == "" {
		return Identity{}, false
	}
	found, app := 0, ""
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare([]byte(token), []byte(e.token)) == 1 {
			found, app = 1, e.appCode
		}
	}
	if found == 0 {
		return Identity{}, false
	}
	return Identity{AppCode: app, Source: SourceToken}, true
}
