package shim

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// deadlineBody is a request body read under a connection deadline
// (Server.bodyDeadline): the first error or Close lifts the deadline, and
// a read that the deadline cut answers 408, not "bad request".
type deadlineBody struct {
	io.ReadCloser
	lift    func()
	once    sync.Once
	timeout time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.lift)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return n, errorf(http.StatusRequestTimeout, "request body not received within %s", b.timeout)
		}
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	b.once.Do(b.lift)
	return b.ReadCloser.Close()
}
