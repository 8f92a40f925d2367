package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/channels"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/config"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
)

const whSecret = "vonage-signature-secret"

// whEnv is a real router (signed and unsigned variants) on a real database
// with two tenants whose customers have mobile numbers.
type whEnv struct {
	t                *testing.T
	db               *gorm.DB
	signed, unsigned *httptest.Server
	admA, admB       models.Administration
	custA, custB     models.Customer
	inv              models.Invoice
}

func newWHEnv(t *testing.T, gdb *gorm.DB) *whEnv {
	t.Helper()
	e := &whEnv{t: t, db: gdb}
	orgA := models.Organization{Name: "A", InboxRead: models.ReadManually}
	orgB := models.Organization{Name: "B", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&orgA).Error)
	require.NoError(t, gdb.Create(&orgB).Error)
	for _, p := range []struct {
		adm *models.Administration
		org int64
	}{{&e.admA, orgA.ID}, {&e.admB, orgB.ID}} {
		*p.adm = models.Administration{OrganizationID: p.org, Name: "Adm", Country: "FR", TimeZone: "Europe/Paris", Currency: "EUR", Language: "fr",
			AdministrationSettings: models.DefaultAdministrationSettings()}
		require.NoError(t, gdb.Create(p.adm).Error)
	}
	e.custA = models.Customer{AdministrationID: e.admA.ID, ExternalRef: "C-A", Name: "Durand SA", Language: "fr", Country: "FR",
		Phone: "06 12 34 56 78", Mobile: "+33612345678", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-wh-a"}
	e.custB = models.Customer{AdministrationID: e.admB.ID, ExternalRef: "C-B", Name: "Martin SARL", Language: "fr", Country: "FR",
		Mobile: "+33698765432", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-wh-b"}
	require.NoError(t, gdb.Create(&e.custA).Error)
	require.NoError(t, gdb.Create(&e.custB).Error)
	now := time.Now().UTC()
	e.inv = models.Invoice{AdministrationID: e.admA.ID, CustomerID: e.custA.ID, Number: "F-1", IssueDate: now, DueDate: now,
		Currency: "EUR", AmountMinor: 1000, OpenMinor: 1000, Status: models.InvoiceOpen, WorkflowID: "invoice:1:F-1"}
	require.NoError(t, gdb.Create(&e.inv).Error)

	serve := func(secret string) *httptest.Server {
		cfg := config.Config{MaxBodyBytes: 4096, MaxImportBytes: 1 << 20, Day: 24 * time.Hour, PortalSecret: "test-secret-test-secret"}
		cfg.Vonage.SignatureSecret, cfg.Vonage.SignatureMethod = secret, sms.SignatureSHA256
		srv := httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb}), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg, Portal: portal.Links{BaseURL: "http://portal.test", Secret: []byte("s")}}))
		t.Cleanup(srv.Close)
		return srv
	}
	e.signed, e.unsigned = serve(whSecret), serve("")
	return e
}

// sentSMS stores an SMS the outbox sent, as SendStep leaves it.
func (e *whEnv) sentSMS(key string, cust models.Customer, providerID string) models.Message {
	e.t.Helper()
	now := time.Now().UTC()
	m := models.Message{Key: key, AdministrationID: cust.AdministrationID, CustomerID: cust.ID, InvoiceID: &e.inv.ID,
		WorkflowID: "wf", Kind: "sms", Channel: "sms", State: models.MessageSent, Recipient: cust.Mobile,
		BodyText: "Rappel", Segments: 2, ProviderID: providerID, SentAt: &now, Attempts: 1}
	require.NoError(e.t, e.db.Create(&m).Error)
	return m
}

func (e *whEnv) message(id int64) models.Message {
	e.t.Helper()
	var m models.Message
	require.NoError(e.t, e.db.First(&m, id).Error)
	return m
}

// webhook sends params the way Vonage does: "GET", "POST" (form) or "JSON".
func webhook(t *testing.T, srv *httptest.Server, path, how string, params url.Values) (int, string) {
	t.Helper()
	var req *http.Request
	var err error
	switch how {
	case "GET":
		req, err = http.NewRequest(http.MethodGet, srv.URL+path+"?"+params.Encode(), nil)
	case "POST":
		req, err = http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(params.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	default:
		body := map[string]string{}
		for k := range params {
			body[k] = params.Get(k)
		}
		b, merr := json.Marshal(body)
		require.NoError(t, merr)
		req, err = http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(string(b)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func result(t *testing.T, body string) string {
	t.Helper()
	var a api.WebhookAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &a), body)
	return a.Result
}

func receipt(messageID, clientRef, status string) url.Values {
	v := url.Values{"msisdn": {"33612345678"}, "to": {"Relance"}, "network-code": {"20801"}, "messageId": {messageID},
		"price": {"0.0333"}, "status": {status}, "scts": {"2601151004"}, "err-code": {"0"},
		"api-key": {"key"}, "message-timestamp": {"2026-01-15 10:04:05"}}
	if status != sms.ReceiptDelivered {
		v.Set("err-code", "6")
	}
	if clientRef != "" {
		v.Set("client-ref", clientRef)
	}
	return v
}

func signed(v url.Values) url.Values { return sms.Sign(v, whSecret, sms.SignatureSHA256, time.Now()) }

func TestVonageWebhooks(t *testing.T) {
	testkit.EachDB(t, func(t *testing.T, gdb *gorm.DB) {
		e := newWHEnv(t, gdb)
		t.Run("receipt in every format", func(t *testing.T) { testReceiptFormats(t, e) })
		t.Run("multipart receipts", func(t *testing.T) { testReceiptParts(t, e) })
		t.Run("receipt matching", func(t *testing.T) { testReceiptMatching(t, e) })
		t.Run("receipt resolves an uncertain send", func(t *testing.T) { testReceiptResolvesUncertain(t, e) })
		t.Run("signature", func(t *testing.T) { testWebhookSignature(t, e) })
		t.Run("bad input", func(t *testing.T) { testWebhookBadInput(t, e) })
		t.Run("inbound SMS", func(t *testing.T) { testInbound(t, e) })
		t.Run("inbound long SMS", func(t *testing.T) { testInboundConcat(t, e) })
		t.Run("inbound number shared by two tenants", func(t *testing.T) { testInboundShared(t, e) })
		t.Run("receipts from the Vonage stand-in", func(t *testing.T) { testReceiptsFromStandIn(t, e) })
	})
}

func testReceiptFormats(t *testing.T, e *whEnv) {
	for _, how := range []string{"GET", "POST", "JSON"} {
		key := "invoice:1:F-1/0/sms/fmt-" + how
		m := e.sentSMS(key, e.custA, "id-"+how)
		status, body := webhook(t, e.signed, "/webhooks/vonage/status", how, signed(receipt("part-1-"+how, key, sms.ReceiptDelivered)))
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, "recorded", result(t, body))
		got := e.message(m.ID)
		require.Equal(t, sms.ReceiptDelivered, got.DeliveryStatus, how)
		require.NotNil(t, got.DeliveryAt)
		require.Equal(t, time.Date(2026, 1, 15, 10, 4, 5, 0, time.UTC), got.DeliveryAt.UTC(), how)
		require.Equal(t, models.MessageSent, got.State, "a receipt does not change the outbox state")
	}
}

func testReceiptParts(t *testing.T, e *whEnv) {
	key := "invoice:1:F-1/3/sms/parts"
	m := e.sentSMS(key, e.custA, "p1")
	post := func(id, status string) string {
		code, body := webhook(t, e.unsigned, "/webhooks/vonage/status", "POST", receipt(id, key, status))
		require.Equal(t, http.StatusOK, code, body)
		return result(t, body)
	}
	require.Equal(t, "recorded", post("p1", sms.ReceiptAccepted))
	require.Equal(t, sms.ReceiptAccepted, e.message(m.ID).DeliveryStatus)
	require.Equal(t, "recorded", post("p1", sms.ReceiptDelivered))
	require.Equal(t, sms.ReceiptDelivered, e.message(m.ID).DeliveryStatus)
	// The second part failed: the message was not fully delivered.
	require.Equal(t, "recorded", post("p2", sms.ReceiptFailed))
	got := e.message(m.ID)
	require.Equal(t, sms.ReceiptFailed, got.DeliveryStatus)
	require.Contains(t, got.Reason, "carrier error code 6")
	// A late or repeated "delivered" does not hide the failure.
	require.Equal(t, "ignored", post("p1", sms.ReceiptDelivered))
	require.Equal(t, sms.ReceiptFailed, e.message(m.ID).DeliveryStatus)
}

func testReceiptMatching(t *testing.T, e *whEnv) {
	// A key longer than Vonage's 100 characters travels hashed.
	long := "invoice:1:" + strings.Repeat("LONG-INVOICE-NUMBER_%-", 8) + "/5/sms/sms"
	require.Greater(t, len(long), 100)
	// A sibling with the same first 59 characters must not be matched.
	sibling := e.sentSMS(long[:len(long)-3]+"xyz", e.custA, "sib")
	m := e.sentSMS(long, e.custA, "long-1")
	ref := sms.ClientRef(long)
	require.LessOrEqual(t, len(ref), 100)
	code, body := webhook(t, e.unsigned, "/webhooks/vonage/status", "JSON", receipt("long-1", ref, sms.ReceiptDelivered))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "recorded", result(t, body))
	require.Equal(t, sms.ReceiptDelivered, e.message(m.ID).DeliveryStatus)
	require.Empty(t, e.message(sibling.ID).DeliveryStatus)

	// No client-ref: the first part's message-id (the provider ID) finds it.
	m2 := e.sentSMS("invoice:1:F-1/9/sms/noref", e.custA, "vonage-id-77")
	code, body = webhook(t, e.unsigned, "/webhooks/vonage/status", "GET", receipt("vonage-id-77", "", sms.ReceiptExpired))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, sms.ReceiptExpired, e.message(m2.ID).DeliveryStatus)

	// Unknown: 200 so that Vonage stops, and nothing changes.
	var before int64
	require.NoError(t, e.db.Model(&models.Message{}).Where("delivery_status <> ''").Count(&before).Error)
	code, body = webhook(t, e.unsigned, "/webhooks/vonage/status", "POST", receipt("nope", "invoice:9:none/sms", sms.ReceiptDelivered))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "unknown_message", result(t, body))
	var after int64
	require.NoError(t, e.db.Model(&models.Message{}).Where("delivery_status <> ''").Count(&after).Error)
	require.Equal(t, before, after)
}

// testReceiptResolvesUncertain: a send whose answer was lost is uncertain;
// Vonage's receipt proves it had the message, so the row becomes sent.
func testReceiptResolvesUncertain(t *testing.T, e *whEnv) {
	key := "invoice:1:F-1/21/sms/sms"
	m := e.sentSMS(key, e.custA, "")
	require.NoError(t, e.db.Model(&m).Updates(map[string]any{"state": models.MessageUncertain,
		"reason": "provider may have it, not sent again", "sent_at": nil}).Error)
	code, body := webhook(t, e.unsigned, "/webhooks/vonage/status", "POST", receipt("vonage-77", sms.ClientRef(key), sms.ReceiptDelivered))
	require.Equal(t, http.StatusOK, code, body)
	got := e.message(m.ID)
	require.Equal(t, models.MessageSent, got.State)
	require.Equal(t, "vonage-77", got.ProviderID)
	require.NotNil(t, got.SentAt)
	require.Equal(t, sms.ReceiptDelivered, got.DeliveryStatus)
	require.Equal(t, "confirmed by a Vonage delivery receipt", got.Reason)

	// A sent row keeps its state and reason; only the delivery status moves.
	sent := e.sentSMS("invoice:1:F-1/22/sms/sms", e.custA, "vonage-78")
	code, body = webhook(t, e.unsigned, "/webhooks/vonage/status", "POST", receipt("vonage-78", sms.ClientRef(sent.Key), sms.ReceiptDelivered))
	require.Equal(t, http.StatusOK, code, body)
	got = e.message(sent.ID)
	require.Equal(t, models.MessageSent, got.State)
	require.Empty(t, got.Reason)
	require.Equal(t, "vonage-78", got.ProviderID)
}

func testWebhookSignature(t *testing.T, e *whEnv) {
	key := "invoice:1:F-1/4/sms/sig"
	m := e.sentSMS(key, e.custA, "sig-1")
	for name, params := range map[string]url.Values{
		"unsigned": receipt("sig-1", key, sms.ReceiptFailed),
		"tampered": func() url.Values {
			v := signed(receipt("sig-1", key, sms.ReceiptDelivered))
			v.Set("status", sms.ReceiptFailed)
			return v
		}(),
		"stale":        sms.Sign(receipt("sig-1", key, sms.ReceiptFailed), whSecret, sms.SignatureSHA256, time.Now().Add(-time.Hour)),
		"wrong secret": sms.Sign(receipt("sig-1", key, sms.ReceiptFailed), "other", sms.SignatureSHA256, time.Now()),
		"wrong method": sms.Sign(receipt("sig-1", key, sms.ReceiptFailed), whSecret, sms.SignatureMD5Hash, time.Now()),
	} {
		for _, how := range []string{"GET", "POST", "JSON"} {
			code, body := webhook(t, e.signed, "/webhooks/vonage/status", how, params)
			require.Equal(t, http.StatusUnauthorized, code, "%s %s: %s", name, how, body)
			var p api.Problem
			require.NoError(t, json.Unmarshal([]byte(body), &p))
			require.Equal(t, http.StatusUnauthorized, p.Status)
			code, body = webhook(t, e.signed, "/webhooks/vonage/inbound", how, params)
			require.Equal(t, http.StatusUnauthorized, code, "%s %s: %s", name, how, body)
		}
	}
	require.Empty(t, e.message(m.ID).DeliveryStatus, "a refused webhook changes nothing")
}

func testWebhookBadInput(t *testing.T, e *whEnv) {
	for name, params := range map[string]url.Values{
		"no messageId":   {"status": {"delivered"}, "client-ref": {"x"}},
		"unknown status": {"messageId": {"1"}, "status": {"teleported"}},
		"bad timestamp":  {"messageId": {"1"}, "status": {"delivered"}, "message-timestamp": {"yesterday"}},
	} {
		code, body := webhook(t, e.unsigned, "/webhooks/vonage/status", "POST", params)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", name, body)
	}
	code, body := webhook(t, e.unsigned, "/webhooks/vonage/inbound", "POST", url.Values{"text": {"hi"}})
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = webhook(t, e.unsigned, "/webhooks/vonage/inbound", "POST", url.Values{"messageId": {"1"}, "msisdn": {"33612345678"},
		"concat": {"true"}, "concat-ref": {"9"}, "concat-part": {"3"}, "concat-total": {"2"}})
	require.Equal(t, http.StatusBadRequest, code, body)

	// Malformed JSON and an oversized body.
	res, err := http.Post(e.unsigned.URL+"/webhooks/vonage/status", "application/json", strings.NewReader(`{"messageId":`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	res, err = http.Post(e.unsigned.URL+"/webhooks/vonage/inbound", "application/x-www-form-urlencoded",
		strings.NewReader("messageId=1&msisdn=33612345678&text="+strings.Repeat("a", 8000)))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	var n int64
	require.NoError(t, e.db.Model(&models.InboxMessage{}).Where("external_id = ?", "vonage:1").Count(&n).Error)
	require.Zero(t, n)
}

func inboundParams(id, from, text string) url.Values {
	return url.Values{"msisdn": {from}, "to": {"33700000000"}, "messageId": {id}, "text": {text}, "type": {"text"},
		"keyword": {"JE"}, "message-timestamp": {"2026-01-15 11:00:00"}, "api-key": {"key"}}
}

func testInbound(t *testing.T, e *whEnv) {
	// Relance texted the customer about the invoice; the answer is filed there.
	e.sentSMS("invoice:1:F-1/7/sms/inbound", e.custA, "in-1")
	params := signed(inboundParams("in-msg-1", "33612345678", "Je paie vendredi, désolé ✓"))
	code, body := webhook(t, e.signed, "/webhooks/vonage/inbound", "JSON", params)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "recorded", result(t, body))

	var conv models.Conversation
	require.NoError(t, e.db.Where("customer_id = ?", e.custA.ID).Take(&conv).Error)
	require.Equal(t, e.admA.OrganizationID, conv.OrganizationID)
	require.Equal(t, e.admA.ID, conv.AdministrationID)
	require.True(t, conv.Unread)
	require.NotNil(t, conv.InvoiceID)
	require.Equal(t, e.inv.ID, *conv.InvoiceID)
	var msgs []models.InboxMessage
	require.NoError(t, e.db.Where("conversation_id = ?", conv.ID).Find(&msgs).Error)
	require.Len(t, msgs, 1)
	require.Equal(t, "Je paie vendredi, désolé ✓", msgs[0].Body)
	require.Equal(t, models.Inbound, msgs[0].Direction)
	require.Equal(t, "sms", msgs[0].Channel)
	require.Equal(t, "+33612345678", msgs[0].Author)

	// Vonage repeats the webhook: nothing twice.
	code, body = webhook(t, e.signed, "/webhooks/vonage/inbound", "POST", params)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "duplicate", result(t, body))
	var n int64
	require.NoError(t, e.db.Model(&models.InboxMessage{}).Where("conversation_id = ?", conv.ID).Count(&n).Error)
	require.EqualValues(t, 1, n)

	// A read conversation becomes unread with the next SMS, in the same thread.
	require.NoError(t, e.db.Model(&conv).Update("unread", false).Error)
	code, body = webhook(t, e.signed, "/webhooks/vonage/inbound", "GET", signed(inboundParams("in-msg-2", "33612345678", "Payé.")))
	require.Equal(t, http.StatusOK, code, body)
	var convs []models.Conversation
	require.NoError(t, e.db.Where("customer_id = ?", e.custA.ID).Find(&convs).Error)
	require.Len(t, convs, 1)
	require.True(t, convs[0].Unread)

	// An unknown number: 200, logged, nothing stored.
	var before int64
	require.NoError(t, e.db.Model(&models.InboxMessage{}).Count(&before).Error)
	code, body = webhook(t, e.signed, "/webhooks/vonage/inbound", "POST", signed(inboundParams("in-msg-3", "447700900123", "who?")))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "unknown_sender", result(t, body))
	var after int64
	require.NoError(t, e.db.Model(&models.InboxMessage{}).Count(&after).Error)
	require.Equal(t, before, after)
}

func testInboundConcat(t *testing.T, e *whEnv) {
	part := func(n int, text string) url.Values {
		v := inboundParams(fmt.Sprintf("cc-%d", n), "33698765432", text)
		v.Set("concat", "true")
		v.Set("concat-ref", "42")
		v.Set("concat-part", fmt.Sprint(n))
		v.Set("concat-total", "3")
		return v
	}
	send := func(v url.Values) string {
		code, body := webhook(t, e.unsigned, "/webhooks/vonage/inbound", "POST", v)
		require.Equal(t, http.StatusOK, code, body)
		return result(t, body)
	}
	require.Equal(t, "pending", send(part(3, "jours.")))
	require.Equal(t, "pending", send(part(1, "Bonjour, je conteste ")))
	require.Equal(t, "duplicate", send(part(1, "Bonjour, je conteste ")))
	require.Equal(t, "recorded", send(part(2, "la facture depuis 10 ")))
	require.Equal(t, "duplicate", send(part(2, "la facture depuis 10 ")))

	var conv models.Conversation
	require.NoError(t, e.db.Where("customer_id = ?", e.custB.ID).Take(&conv).Error)
	require.Equal(t, e.admB.OrganizationID, conv.OrganizationID)
	var msgs []models.InboxMessage
	require.NoError(t, e.db.Where("conversation_id = ?", conv.ID).Find(&msgs).Error)
	require.Len(t, msgs, 1, "the parts are replaced by the whole SMS")
	require.Equal(t, "Bonjour, je conteste la facture depuis 10 jours.", msgs[0].Body)
}

func testInboundShared(t *testing.T, e *whEnv) {
	// Customer B gets customer A's number too (one person, two ledgers).
	require.NoError(t, e.db.Model(&e.custB).Update("mobile", e.custA.Mobile).Error)
	defer func() { require.NoError(t, e.db.Model(&e.custB).Update("mobile", "+33698765432").Error) }()
	// Relance last texted the number for administration B.
	m := e.sentSMS("invoice:2:B-1/0/sms/shared", e.custB, "shared-1")
	code, body := webhook(t, e.unsigned, "/webhooks/vonage/inbound", "POST", inboundParams("sh-1", "33612345678", "Pour B"))
	require.Equal(t, http.StatusOK, code, body)
	var im models.InboxMessage
	require.NoError(t, e.db.Where("external_id = ?", "vonage:sh-1").Take(&im).Error)
	var conv models.Conversation
	require.NoError(t, e.db.First(&conv, im.ConversationID).Error)
	require.Equal(t, e.custB.ID, conv.CustomerID)
	require.Equal(t, e.admB.OrganizationID, conv.OrganizationID)
	require.NoError(t, e.db.Delete(&models.Message{}, m.ID).Error)
}

// testReceiptsFromStandIn: the real client sends through the Vonage
// stand-in, which posts signed receipts to the real webhook.
func testReceiptsFromStandIn(t *testing.T, e *whEnv) {
	for _, how := range []string{devsink.ReceiptGET, devsink.ReceiptPOST, devsink.ReceiptPOSTJSON} {
		sink := &devsink.VonageSink{APIKey: "k", APISecret: "s", CallbackURL: e.signed.URL + "/webhooks/vonage/status",
			ReceiptMethod: how, ReceiptDelay: time.Millisecond, SignatureSecret: whSecret, SignatureMethod: sms.SignatureSHA256}
		vs := httptest.NewServer(sink)
		client := sms.New(sms.Config{BaseURL: vs.URL, APIKey: "k", APISecret: "s", From: "Relance"})
		key := "invoice:1:F-1/8/sms/standin-" + how
		text := strings.Repeat("Votre facture F-1 est échue. ", 8) // 2 parts
		// The row exists before the send, as the outbox makes it.
		m := e.sentSMS(key, e.custA, "")
		id, err := client.SendSMS(context.Background(), channels.SMS{Key: key, To: "+33612345678", Text: text})
		require.NoError(t, err)
		require.NoError(t, e.db.Model(&m).Update("provider_id", id).Error)
		require.Eventually(t, func() bool {
			return e.message(m.ID).DeliveryStatus == sms.ReceiptDelivered
		}, testkit.Patience, 20*time.Millisecond, how)
		msgs := sink.Messages()
		require.Len(t, msgs, 1)
		require.Equal(t, 2, msgs[0].Parts)
		vs.Close()
		sink.Close()
	}
}
