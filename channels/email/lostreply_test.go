package email_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/email"
)

// mutedBackend takes the whole message, then holds its reply to the end of
// DATA until released: the server may have queued the mail, but the sender
// never learns it.
type mutedBackend struct {
	release chan struct{}
	mu      sync.Mutex
	got     int
}

func (b *mutedBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &mutedSession{b: b}, nil }

type mutedSession struct{ b *mutedBackend }

func (s *mutedSession) Reset()                               {}
func (s *mutedSession) Logout() error                        { return nil }
func (s *mutedSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mutedSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mutedSession) Data(r io.Reader) error {
	if _, err := io.ReadAll(r); err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.got++
	s.b.mu.Unlock()
	<-s.b.release
	return nil
}

// TestLostReplyToDataIsMaybeDelivered: when the reply to the end of the
// message never comes, the mail may be delivered; the error says so, and
// is neither permanent (it may have arrived) nor to be retried (it would
// arrive twice).
func TestLostReplyToDataIsMaybeDelivered(t *testing.T) {
	be := &mutedBackend{release: make(chan struct{})}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		close(be.release)
		_ = srv.Close()
	})

	sender := newSender(t, ln.Addr().String(), func(c *email.Config) { c.Timeout = 300 * time.Millisecond })
	_, err = sender.SendEmail(context.Background(), reminder("k/muted"))
	require.Error(t, err)
	require.True(t, channels.IsMaybeDelivered(err), "%v", err)
	require.False(t, channels.IsPermanent(err), "%v", err)
	be.mu.Lock()
	defer be.mu.Unlock()
	require.Equal(t, 1, be.got, "the server had the whole message")
}
