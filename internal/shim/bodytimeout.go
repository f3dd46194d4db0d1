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
// (Server.bodyDeadline). The end of the body lifts the deadline; any other
// error leaves it, so that the server's own discarding of an unread rest
// also gives up. A read that the deadline cut answers 408, not 400.
type deadlineBody struct {
	io.ReadCloser
	lift    func()
	once    sync.Once
	timeout time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.once.Do(b.lift)
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return n, errorf(http.StatusRequestTimeout, "request body not received within %s", b.timeout)
		}
	}
	return n, err
}
