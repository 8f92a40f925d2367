package activities_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

// replyRow stores an inbox reply's queued outbox row, as the application
// writes it.
func (e *sendEnv) replyRow(c models.Customer, state models.MessageState) models.Message {
	e.t.Helper()
	e.n++
	row := models.Message{Key: fmt.Sprintf("inbox-reply:%d/email", 1000+e.n), AdministrationID: e.adm.ID, CustomerID: c.ID,
		WorkflowID: fmt.Sprintf("inbox-reply:%d", 1000+e.n), Kind: "inbox_reply", Channel: "email", State: state, Manual: true,
		Recipient: c.Email, Subject: "Re: question", BodyText: "Merci.\n", BodyHTML: "<p>Merci.</p>"}
	require.NoError(e.t, e.db.Create(&row).Error)
	return row
}

func (e *sendEnv) sendReply(id int64) (activities.InboxReplyResult, error) {
	e.t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(e.acts)
	val, err := env.ExecuteActivity(e.acts.SendInboxReply, activities.InboxReplyInput{OutboxMessageID: id})
	var res activities.InboxReplyResult
	if err == nil {
		require.NoError(e.t, val.Get(&res))
	}
	return res, err
}

func (e *sendEnv) row(id int64) models.Message {
	e.t.Helper()
	var m models.Message
	require.NoError(e.t, e.db.First(&m, id).Error)
	return m
}

// TestSendInboxReply: a reply's email goes through the outbox like a
// step's: sent once, retried while the relay is down, failed on a 5xx,
// never sent twice after an interrupted attempt.
func TestSendInboxReply(t *testing.T) {
	e := newSendEnv(t, testkit.Postgres(t))
	c, _ := e.customer(nil)

	row := e.replyRow(c, models.MessageQueued)
	res, err := e.sendReply(row.ID)
	require.NoError(t, err)
	require.Equal(t, string(models.MessageSent), res.State)
	got := e.row(row.ID)
	require.Equal(t, models.MessageSent, got.State)
	require.Equal(t, email.MessageID(row.Key, e.adm.SenderEmail), got.ProviderID)
	require.Equal(t, 1, e.mailsTo(c.Email))
	// Run again (a retried activity): nothing is sent twice.
	res, err = e.sendReply(row.ID)
	require.NoError(t, err)
	require.Equal(t, string(models.MessageSent), res.State)
	require.Equal(t, 1, e.mailsTo(c.Email))

	// A relay that is down: retryable, the row stays queued for the retry.
	row = e.replyRow(c, models.MessageQueued)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.TCPAddr)
	require.NoError(t, ln.Close())
	down, err := email.New(email.Config{Host: "127.0.0.1", Port: addr.Port, TLS: email.TLSNone, Timeout: 2 * time.Second})
	require.NoError(t, err)
	saved := e.acts.Email
	e.acts.Email = down
	_, err = e.sendReply(row.ID)
	e.acts.Email = saved
	requireRetryable(t, err)
	require.Equal(t, models.MessageQueued, e.row(row.ID).State)
	res, err = e.sendReply(row.ID)
	require.NoError(t, err)
	require.Equal(t, string(models.MessageSent), res.State)
	require.Equal(t, 2, e.mailsTo(c.Email))

	// A 5xx: failed at once with the server's answer, not retried.
	row = e.replyRow(c, models.MessageQueued)
	e.setReject(func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	})
	res, err = e.sendReply(row.ID)
	e.setReject(nil)
	require.NoError(t, err)
	require.Equal(t, string(models.MessageFailed), res.State)
	require.Contains(t, e.row(row.ID).Reason, "No such user here")

	// Found sending (a worker died mid-send): uncertain, not sent again.
	row = e.replyRow(c, models.MessageSending)
	res, err = e.sendReply(row.ID)
	require.NoError(t, err)
	require.Equal(t, string(models.MessageUncertain), res.State)
	require.Equal(t, 2, e.mailsTo(c.Email))

	// A row that is gone is a permanent failure.
	_, err = e.sendReply(999999)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.True(t, appErr.NonRetryable())
}
