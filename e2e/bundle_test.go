package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/api"
	"github.com/relance/relance/app"
	"github.com/relance/relance/auth"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/config"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/inbound"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/policy"
	"github.com/relance/relance/workflows"
)

// The bundle tests' clock: a journey day of bundleDay, and a bundle that
// collects for bundleWindow after its first request (the worker's
// RELANCE_BUNDLE_WINDOW). At a scaled day a step falls due one day after
// its journey's start (at 24h a customer's steps are spread to one
// instant), so the window must outlast the spread of the starts of one
// customer's journeys: they are created together, but on a loaded machine
// the API's creations took up to 5 s. It also leaves the test time to pay,
// pause or move an invoice while the bundle collects.
const (
	bundleDay       = 20 * time.Second
	bundleWindow    = 10 * time.Second
	bundleWindowEnv = "RELANCE_BUNDLE_WINDOW"
	bundleFrom      = "ar@bundle.example"
)

// bundleRig is the product on loopback for the bundle tests: a real
// `relance worker` process (its own configuration, RELANCE_DAY and the
// bundle window), a Temporal dev server, PostgreSQL, the API in process, an
// SMTP sink, a Vonage-protocol sink and a letters folder. Each scenario has
// its own administration, so they run side by side.
type bundleRig struct {
	db      *gorm.DB
	tc      client.Client
	api     *httptest.Server
	key     string
	org     models.Organization
	mail    *devsink.SMTPSink
	vonage  *devsink.VonageSink
	letters string
}

func newBundleRig(t *testing.T) *bundleRig {
	t.Helper()
	bin := buildRelance(t)
	gdb, dbURL := testkit.PostgresWithURL(t)
	dev, tc := testkit.DevServer(t)
	r := &bundleRig{db: gdb, tc: tc, letters: t.TempDir()}
	r.mail = &devsink.SMTPSink{Max: 100000}
	require.NoError(t, r.mail.Start("127.0.0.1:0"))
	t.Cleanup(func() { _ = r.mail.Close() })
	r.vonage = &devsink.VonageSink{APIKey: "bundle", APISecret: "bundle-secret"}
	vsrv := httptest.NewServer(r.vonage)
	t.Cleanup(vsrv.Close)
	t.Cleanup(r.vonage.Close)

	startWorker(t, bin, []string{
		"DATABASE_URL=" + dbURL,
		"TEMPORAL_ADDRESS=" + dev.FrontendHostPort(),
		"TEMPORAL_NAMESPACE=default",
		"RELANCE_DAY=" + bundleDay.String(),
		bundleWindowEnv + "=" + bundleWindow.String(),
		"RELANCE_LOG_LEVEL=info",
		"RELANCE_WORKER_LISTEN=127.0.0.1:0",
		"RELANCE_PUBLIC_URL=http://portal.test",
		"RELANCE_PORTAL_SECRET=bundle-test-portal-secret",
		"SMTP_HOST=127.0.0.1",
		"SMTP_PORT=" + strconv.Itoa(port(t, r.mail.Addr())),
		"SMTP_TLS=none",
		"SMTP_USERNAME=",
		"SMTP_FROM=" + bundleFrom,
		"VONAGE_BASE_URL=" + vsrv.URL,
		"VONAGE_API_KEY=bundle",
		"VONAGE_API_SECRET=bundle-secret",
		"LETTERS_PROVIDER=folder",
		"LETTERS_DIR=" + r.letters,
	}, "worker")

	r.org = models.Organization{Name: "Bundles", InboxRead: models.ReadManually}
	require.NoError(t, gdb.Create(&r.org).Error)
	var err error
	r.key, _, err = auth.Create(context.Background(), gdb, r.org.ID, "bundle-e2e")
	require.NoError(t, err)
	cfg := config.Config{MaxBodyBytes: 1 << 20, MaxImportBytes: 1 << 20, Day: bundleDay, PortalSecret: "bundle-test-portal-secret"}
	r.api = httptest.NewServer(api.NewRouter(api.Deps{App: app.New(app.Options{DB: gdb, Temporal: tc}), Inbound: inbound.NewRecorder(gdb, nil), Config: cfg}))
	t.Cleanup(r.api.Close)
	return r
}

// on is the API client of one (sub)test.
func (r *bundleRig) on(t *testing.T) *stack {
	return &stack{t: t, db: r.db, tc: r.tc, api: r.api, key: r.key, day: bundleDay}
}

// administration creates an administration whose default journey has the
// given steps (SMS on, a minimum gap of one day between an invoice's
// messages), then applies settings through the API's settings patch.
func (r *bundleRig) administration(t *testing.T, name string, steps []models.JourneyStep, settings map[string]any) *models.Administration {
	t.Helper()
	s := models.DefaultAdministrationSettings()
	s.SMSEnabled = true
	adm := &models.Administration{OrganizationID: r.org.ID, Name: name, Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "en", AdministrationSettings: s,
		CompanyDetails: models.CompanyDetails{CompanyName: name, SenderEmail: bundleFrom, CompanyAddress: "Main 1\n1000 AA Amsterdam",
			BankDetails: "IBAN NL91 ABNA 0417 1643 00", LatePenaltyRate: "8%", UserName: "Sanne Jansen", UserEmail: "sanne@example.com", UserPhone: "+31 20 123 4568"}}
	require.NoError(t, r.db.Create(adm).Error)
	// Fresh rows: GORM writes the IDs back into the steps it creates, and
	// the scenarios share their step lists.
	own := make([]models.JourneyStep, len(steps))
	for i, st := range steps {
		own[i] = models.JourneyStep{Position: st.Position, OffsetDays: st.OffsetDays, Kind: st.Kind, Template: st.Template}
	}
	j := models.Journey{AdministrationID: adm.ID, Name: name, MinGapDays: 1, Steps: own}
	require.NoError(t, r.db.Create(&j).Error)
	require.NoError(t, r.db.Model(adm).Update("default_journey_id", j.ID).Error)
	if settings != nil {
		status, body, _ := r.on(t).raw("PATCH", fmt.Sprintf("/api/v1/administrations/%d/settings", adm.ID), settings)
		require.Equal(t, http.StatusOK, status, "settings patch %v: %s", settings, body)
	}
	require.NoError(t, r.db.First(adm, adm.ID).Error)
	return adm
}

// customer creates a customer reachable by email, post and SMS; n numbers
// its mobile number so that the SMS sink tells customers apart.
func (r *bundleRig) customer(t *testing.T, adm *models.Administration, ref string, n int) *models.Customer {
	t.Helper()
	c := &models.Customer{AdministrationID: adm.ID, ExternalRef: ref, Name: "Customer " + ref, Language: "en",
		Email: strings.ToLower(ref) + "@customer.example", Mobile: fmt.Sprintf("+3161%07d", n), Phone: fmt.Sprintf("+3161%07d", n),
		AddressLine1: "Street 1", PostalCode: "1234 AB", City: "Utrecht", Country: "NL",
		CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: fmt.Sprintf("bundle-%s-%d", ref, time.Now().UnixNano())}
	require.NoError(t, r.db.Create(c).Error)
	return c
}

// newInvoice is one invoice to create through the API.
type newInvoice struct {
	cust   *models.Customer
	number string
	// due is the due date in days from today; amount in cents.
	due    int
	amount int64
}

// createInvoices creates the invoices through the API all at once (each
// creation starts its journey), so that the steps of one day fall due
// together, and returns them by number.
func (r *bundleRig) createInvoices(t *testing.T, adm *models.Administration, invs ...newInvoice) map[string]api.InvoiceView {
	t.Helper()
	loc, err := time.LoadLocation(adm.TimeZone)
	require.NoError(t, err)
	today := time.Now().In(loc)
	out := make(map[string]api.InvoiceView, len(invs))
	errs := make([]error, len(invs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, inv := range invs {
		wg.Go(func() {
			var v api.InvoiceView
			errs[i] = r.post(fmt.Sprintf("/api/v1/administrations/%d/invoices", adm.ID), map[string]any{
				"customer_id": inv.cust.ID, "number": inv.number, "issue_date": today.Format("2006-01-02"),
				"due_date": today.AddDate(0, 0, inv.due).Format("2006-01-02"), "amount_minor": inv.amount,
			}, http.StatusCreated, &v)
			mu.Lock()
			out[inv.number] = v
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "create invoice %s", invs[i].number)
	}
	return out
}

// post is a request that may run off the test's goroutine: it returns an
// error instead of failing the test.
func (r *bundleRig) post(path string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", r.api.URL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("POST %s: %d %s", path, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// mailsTo returns the emails the SMTP sink accepted for address, in
// arrival order.
func (r *bundleRig) mailsTo(address string) []devsink.ReceivedEmail {
	var out []devsink.ReceivedEmail
	for _, m := range r.mail.Messages() {
		for _, to := range m.EnvelopeTo {
			if strings.EqualFold(to, address) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// smsTo returns the SMS the Vonage sink accepted for a customer's mobile.
func (r *bundleRig) smsTo(c *models.Customer) []devsink.SentSMS {
	var out []devsink.SentSMS
	for _, m := range r.vonage.Messages() {
		if "+"+m.To == c.Mobile || m.To == c.Mobile {
			out = append(out, m)
		}
	}
	return out
}

// letters returns the letters sent to a customer that are in the letters
// folder (one PDF per sent post message).
func (r *bundleRig) lettersTo(t *testing.T, c *models.Customer) int {
	t.Helper()
	var rows []models.Message
	require.NoError(t, r.db.Where("customer_id = ? AND channel = ? AND state = ?", c.ID, string(policy.ChannelPost), models.MessageSent).Find(&rows).Error)
	n := 0
	for _, m := range rows {
		if _, err := os.Stat(filepath.Join(r.letters, letter.FileName(m.Key))); err == nil {
			n++
		}
	}
	return n
}

// requests counts a customer's bundle requests in the given states.
func (r *bundleRig) requests(t *testing.T, c *models.Customer, states ...models.BundleState) int {
	t.Helper()
	var n int64
	require.NoError(t, r.db.Model(&models.BundleRequest{}).Where("customer_id = ? AND state IN ?", c.ID, states).Count(&n).Error)
	return int(n)
}

// request is an invoice's bundle request for the step at offset.
func (r *bundleRig) request(t *testing.T, inv api.InvoiceView, offset int, kind policy.StepKind) (models.BundleRequest, bool) {
	t.Helper()
	var rows []models.BundleRequest
	require.NoError(t, r.db.Where("invoice_id = ? AND offset_days = ? AND kind = ?", inv.ID, offset, string(kind)).Find(&rows).Error)
	if len(rows) == 0 {
		return models.BundleRequest{}, false
	}
	require.Len(t, rows, 1, "one request per step")
	return rows[0], true
}

// waitJourney waits until an invoice's journey has ended and returns its
// result: every step has been dealt with, nothing more can be sent.
func (r *bundleRig) waitJourney(t *testing.T, inv api.InvoiceView, within time.Duration) workflows.JourneyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var res workflows.JourneyResult
	require.NoError(t, r.tc.GetWorkflow(ctx, inv.WorkflowID, "").Get(ctx, &res), "journey of %s", inv.Number)
	return res
}

// journeyStep asks an invoice's journey for its step at offset (not the
// SMS beside it).
func (r *bundleRig) journeyStep(inv api.InvoiceView, offset int, kind policy.StepKind) (workflows.StepState, bool) {
	st, err := app.New(app.Options{Temporal: r.tc}).JourneyState(context.Background(), inv.WorkflowID)
	if err != nil {
		return workflows.StepState{}, false
	}
	for _, s := range st.Steps {
		if s.OffsetDays == offset && s.Kind == kind {
			return s, true
		}
	}
	return workflows.StepState{}, false
}

// covered returns the numbers of the invoices an email received at the
// SMTP sink was about: its Message-ID is derived from its outbox key; a
// bundle's key is "<bundle key>/email", and the bundle's sent requests name
// the invoices it carried; any other message names its one invoice. (The
// text cannot tell: every reminder ends with the customer's open items.)
// Each covered invoice's number is also required in the text.
func (r *bundleRig) covered(t *testing.T, m devsink.ReceivedEmail) []string {
	t.Helper()
	var rows []models.Message
	require.NoError(t, r.db.Where("channel = ?", string(policy.ChannelEmail)).Find(&rows).Error)
	for _, row := range rows {
		if email.MessageID(row.Key, bundleFrom) != m.MessageID {
			continue
		}
		// The bundle records its requests sent after its messages went
		// out: wait until none of the customer's requests is pending.
		require.Eventually(t, func() bool {
			return r.requests(t, &models.Customer{ID: row.CustomerID}, models.BundlePending) == 0
		}, testkit.Patience, 50*time.Millisecond, "the bundle of %s did not record its requests", row.Key)
		var ids []int64
		stem := strings.TrimSuffix(row.Key, "/"+string(policy.ChannelEmail))
		require.NoError(t, r.db.Model(&models.BundleRequest{}).Where("bundle_key = ? AND state = ?", stem, models.BundleSent).Pluck("invoice_id", &ids).Error)
		if len(ids) == 0 {
			require.NotNil(t, row.InvoiceID, "message %s is about no invoice", row.Key)
			ids = []int64{*row.InvoiceID}
		}
		var nums []string
		require.NoError(t, r.db.Model(&models.Invoice{}).Where("id IN ?", ids).Order("number").Pluck("number", &nums).Error)
		for _, n := range nums {
			require.Contains(t, m.Text, n, "the email about %s does not name it", n)
		}
		return nums
	}
	t.Fatalf("no outbox row sent the email %s (%s)", m.MessageID, m.Subject)
	return nil
}

// bundleEntries returns an invoice's timeline entries about its bundle.
func bundleEntries(s *stack, inv api.InvoiceView, kind policy.StepKind) []api.TimelineBundleView {
	var out []api.TimelineBundleView
	for _, e := range s.timeline(inv.ID).Entries {
		if e.Bundle != nil && e.Bundle.StepKind == kind {
			out = append(out, *e.Bundle)
		}
	}
	return out
}

// numbered makes n invoice numbers for a customer: prefix-01, prefix-02...
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i+1)
	}
	return out
}

// TestBundlingEndToEnd: one `relance worker` process with a short journey
// day and bundle window, the API in process, the SMTP, Vonage and letter
// sinks; each scenario its own administration, side by side.
func TestBundlingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a worker process over several journey days")
	}
	r := newBundleRig(t)
	suffix := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	t.Run("same day", func(t *testing.T) { t.Parallel(); bundleSameDay(t, r, "SD"+suffix) })
	t.Run("minimum gap", func(t *testing.T) { t.Parallel(); bundleMinimumGap(t, r, "GP"+suffix) })
	t.Run("bundling off", func(t *testing.T) { t.Parallel(); bundleOff(t, r, "OF"+suffix) })
	t.Run("minimum amount", func(t *testing.T) { t.Parallel(); bundleMinimumAmount(t, r, "MA"+suffix) })
	t.Run("customer changed", func(t *testing.T) { t.Parallel(); bundleCustomerChanged(t, r, "MV"+suffix) })
}

// reminderThenFinal: a reminder the day after the due date, the final
// reminder with its SMS the day after.
var reminderThenFinal = []models.JourneyStep{
	{Position: 0, OffsetDays: 1, Kind: string(policy.StepReminder), Template: "default"},
	{Position: 1, OffsetDays: 2, Kind: string(policy.StepFinalReminder), Template: "default"},
	{Position: 2, OffsetDays: 2, Kind: string(policy.StepSMS), Template: "default"},
}

// reminderOnly: one reminder the day after the due date.
var reminderOnly = []models.JourneyStep{{Position: 0, OffsetDays: 1, Kind: string(policy.StepReminder), Template: "default"}}

// bundleSameDay: three customers with five invoices each, all due today.
// Customer A gets one email for its five reminders, then one email, one
// letter (final_reminder_by_post) and one SMS for its five final reminders.
// One of B's invoices is paid while the bundle collects: B's email lists
// four, and the paid invoice's timeline shows the reminder not sent. One of
// C's is paused while the bundle collects: C's email lists four; resumed,
// the paused one goes out on its own. No message names another customer's
// invoice.
func bundleSameDay(t *testing.T, r *bundleRig, prefix string) {
	s := r.on(t)
	adm := r.administration(t, prefix+" BV", reminderThenFinal, map[string]any{"customer_min_gap_days": 0})
	require.Equal(t, models.BundlingOn, adm.Bundling, "bundling is on by default")
	a, b, c := r.customer(t, adm, prefix+"A", 1), r.customer(t, adm, prefix+"B", 2), r.customer(t, adm, prefix+"C", 3)
	nums := map[*models.Customer][]string{a: numbered(prefix+"A", 5), b: numbered(prefix+"B", 5), c: numbered(prefix+"C", 5)}
	var want []newInvoice
	for _, cust := range []*models.Customer{a, b, c} {
		for _, n := range nums[cust] {
			want = append(want, newInvoice{cust: cust, number: n, amount: 10000})
		}
	}
	invs := r.createInvoices(t, adm, want...)
	paid, paused := invs[nums[b][4]], invs[nums[c][4]]

	// While B's and C's bundles collect (their five requests wait), one of
	// B's is paid and one of C's paused.
	require.Eventually(t, func() bool {
		return r.requests(t, b, models.BundlePending) == 5 && r.requests(t, c, models.BundlePending) == 5
	}, testkit.Patience, 20*time.Millisecond, "B's and C's reminders did not all join their bundles")
	require.NoError(t, r.post(fmt.Sprintf("/api/v1/invoices/%d/payments", paid.ID), map[string]any{"amount_minor": 10000, "currency": "EUR"}, http.StatusCreated, nil))
	require.NoError(t, r.post(fmt.Sprintf("/api/v1/invoices/%d/pause", paused.ID), map[string]any{"reason": "called us"}, http.StatusOK, nil))

	// The reminders: one email each, naming that customer's invoices only.
	require.Eventually(t, func() bool {
		return len(r.mailsTo(a.Email)) >= 1 && len(r.mailsTo(b.Email)) >= 1 && len(r.mailsTo(c.Email)) >= 1
	}, testkit.Patience, 100*time.Millisecond, "the reminder bundles did not arrive")
	first := func(cust *models.Customer) devsink.ReceivedEmail { return r.mailsTo(cust.Email)[0] }
	require.Equal(t, nums[a], r.covered(t, first(a)), "A's reminder covers its five invoices, no other")
	require.Equal(t, nums[b][:4], r.covered(t, first(b)), "B's reminder covers four: the paid one dropped out")
	require.Equal(t, nums[c][:4], r.covered(t, first(c)), "C's reminder covers four: the paused one dropped out")

	// The paid invoice: its request was answered, not sent; its timeline
	// shows its reminder skipped in the bundle, no message sent.
	require.Eventually(t, func() bool {
		req, ok := r.request(t, paid, 1, policy.StepReminder)
		return ok && req.State == models.BundleAnswered
	}, testkit.Patience, 100*time.Millisecond, "the paid invoice's request was not answered")
	entries := bundleEntries(s, paid, policy.StepReminder)
	require.Len(t, entries, 1, "the paid invoice's timeline shows its reminder's bundle entry")
	require.Equal(t, "skipped", entries[0].State, "%+v", entries[0])
	for _, e := range s.timeline(paid.ID).Entries {
		if e.Message != nil && e.Message.StepKind == policy.StepReminder {
			require.NotEqual(t, string(models.MessageSent), e.Message.State, "the paid invoice's timeline shows its reminder sent")
		}
	}
	for _, m := range entries[0].Messages {
		require.NotEqual(t, string(models.MessageSent), m.State, "the paid invoice's timeline shows its reminder sent")
	}
	// A bundled invoice's timeline points to the one email of its bundle.
	entries = bundleEntries(s, invs[nums[b][0]], policy.StepReminder)
	require.Len(t, entries, 1)
	require.Equal(t, "sent", entries[0].State, "%+v", entries[0])
	require.Equal(t, 4, entries[0].Invoices, "the bundle covered four invoices")
	require.Len(t, entries[0].Messages, 1, "one message (email) for the bundle")
	require.Equal(t, string(policy.ChannelEmail), entries[0].Messages[0].Channel)
	require.Equal(t, string(models.MessageSent), entries[0].Messages[0].State)
	require.Equal(t, http.StatusOK, s.call("GET", entries[0].Messages[0].Preview, nil, nil))

	// The paused invoice was given back to its journey; resumed, it asks
	// again and goes out on its own.
	req, ok := r.request(t, paused, 1, policy.StepReminder)
	require.True(t, ok)
	require.NotEqual(t, models.BundleSent, req.State, "the paused invoice went out in the bundle")
	require.Eventually(t, func() bool {
		st, ok := r.journeyStep(paused, 1, policy.StepReminder)
		return ok && st.Status == workflows.StepPlanned
	}, testkit.Patience, 100*time.Millisecond, "the paused invoice's reminder did not go back to planned")
	require.NoError(t, r.post(fmt.Sprintf("/api/v1/invoices/%d/resume", paused.ID), map[string]any{"reason": "no answer"}, http.StatusOK, nil))
	require.Eventually(t, func() bool {
		req, ok := r.request(t, paused, 1, policy.StepReminder)
		return ok && req.State == models.BundleSent
	}, testkit.Patience, 100*time.Millisecond, "the resumed invoice's reminder did not go out")
	var alone []string
	for _, m := range r.mailsTo(c.Email)[1:] {
		if got := r.covered(t, m); len(got) == 1 && got[0] == paused.Number {
			alone = got
		}
	}
	require.Equal(t, []string{paused.Number}, alone, "the resumed invoice's reminder went out on its own")

	// The final reminders: A's five and B's four go out as one email, one
	// letter and one SMS each. Once A's and B's journeys have ended, nothing
	// more can come; then count.
	for _, cust := range []*models.Customer{a, b} {
		for _, n := range nums[cust] {
			if n == paid.Number {
				continue
			}
			res := r.waitJourney(t, invs[n], 2*time.Minute)
			require.Equal(t, workflows.OutcomeCompleted, res.Outcome, n)
		}
	}
	res := r.waitJourney(t, paid, time.Minute)
	require.Equal(t, workflows.OutcomePaid, res.Outcome)
	for _, cust := range []*models.Customer{a, b} {
		mails := r.mailsTo(cust.Email)
		require.Len(t, mails, 2, "%s: one reminder, one final reminder", cust.ExternalRef)
		expect := nums[cust]
		if cust == b {
			expect = expect[:4]
		}
		require.Equal(t, expect, r.covered(t, mails[1]), "%s's final reminder covers its open invoices, no other", cust.ExternalRef)
		require.Equal(t, 1, r.lettersTo(t, cust), "%s: one letter for the final reminders", cust.ExternalRef)
		require.Len(t, r.smsTo(cust), 1, "%s: one SMS for the SMS steps", cust.ExternalRef)
	}
	// Every sent request of A and B points to one of the two bundles.
	for _, cust := range []*models.Customer{a, b} {
		var rows []models.BundleRequest
		require.NoError(t, r.db.Where("customer_id = ? AND state = ?", cust.ID, models.BundleSent).Find(&rows).Error)
		keys := map[string]int{}
		for _, row := range rows {
			require.NotEmpty(t, row.BundleKey, row.StepKey)
			keys[row.BundleKey]++
		}
		require.Len(t, keys, 2, "%s: two bundles (reminder, final reminder)", cust.ExternalRef)
	}
}

// bundleMinimumGap: customer_min_gap_days 2. D's first invoice is due
// today, its second tomorrow: their reminders fall due a journey day apart,
// but the second bundle goes at least two journey days after the first.
func bundleMinimumGap(t *testing.T, r *bundleRig, prefix string) {
	adm := r.administration(t, prefix+" BV", reminderOnly, map[string]any{"customer_min_gap_days": 2})
	require.Equal(t, 2, adm.CustomerMinGapDays)
	d := r.customer(t, adm, prefix+"D", 4)
	nums := numbered(prefix+"D", 2)
	invs := r.createInvoices(t, adm, newInvoice{cust: d, number: nums[0], amount: 10000}, newInvoice{cust: d, number: nums[1], due: 1, amount: 10000})

	require.Eventually(t, func() bool { return len(r.mailsTo(d.Email)) == 1 }, testkit.Patience, 100*time.Millisecond)
	var cust models.Customer
	require.Eventually(t, func() bool {
		require.NoError(t, r.db.First(&cust, d.ID).Error)
		return cust.LastRemindedAt != nil
	}, testkit.Patience, 50*time.Millisecond, "the bundle records when the customer was reminded")
	firstAt := *cust.LastRemindedAt
	require.Equal(t, nums[:1], r.covered(t, r.mailsTo(d.Email)[0]))

	// The second reminder fell due a day later; the gap moved it.
	require.Eventually(t, func() bool {
		req, ok := r.request(t, invs[nums[1]], 1, policy.StepReminder)
		return ok && req.Reason == activities.ReasonCustomerGap
	}, testkit.Patience, 100*time.Millisecond, "the second reminder was not moved by the customer gap")
	res := r.waitJourney(t, invs[nums[1]], 2*time.Minute)
	require.Equal(t, workflows.OutcomeCompleted, res.Outcome)
	r.waitJourney(t, invs[nums[0]], time.Minute)
	mails := r.mailsTo(d.Email)
	require.Len(t, mails, 2)
	require.Equal(t, nums[1:], r.covered(t, mails[1]))
	require.NoError(t, r.db.First(&cust, d.ID).Error)
	gap := cust.LastRemindedAt.Sub(firstAt)
	t.Logf("the two bundles went %.2f journey days apart (received %.2f apart at the SMTP sink)", float64(gap)/float64(bundleDay),
		float64(mails[1].Received.Sub(mails[0].Received))/float64(bundleDay))
	require.GreaterOrEqual(t, gap, 2*bundleDay, "two bundles to one customer closer than customer_min_gap_days")
}

// bundleOff: bundling off sends one message per invoice, and no bundle is
// involved.
func bundleOff(t *testing.T, r *bundleRig, prefix string) {
	adm := r.administration(t, prefix+" BV", reminderOnly, map[string]any{"bundling": "off", "customer_min_gap_days": 0})
	require.Equal(t, models.BundlingOff, adm.Bundling)
	e := r.customer(t, adm, prefix+"E", 5)
	nums := numbered(prefix+"E", 3)
	var want []newInvoice
	for _, n := range nums {
		want = append(want, newInvoice{cust: e, number: n, amount: 10000})
	}
	invs := r.createInvoices(t, adm, want...)
	for _, n := range nums {
		require.Equal(t, workflows.OutcomeCompleted, r.waitJourney(t, invs[n], 2*time.Minute).Outcome, n)
	}
	mails := r.mailsTo(e.Email)
	require.Len(t, mails, 3, "one email per invoice")
	var named []string
	for _, m := range mails {
		got := r.covered(t, m)
		require.Len(t, got, 1, "an unbundled reminder names its one invoice")
		named = append(named, got...)
	}
	require.ElementsMatch(t, nums, named)
	require.Zero(t, r.requests(t, e, models.BundlePending, models.BundleHeld, models.BundleSent, models.BundleAnswered), "bundling off queues nothing")
}

// bundleMinimumAmount: a minimum of 25.00 EUR. F's one invoice of 10.00 is
// held: nothing goes out. A new invoice of 16.00 lifts the overdue total to
// 26.00: one email lists both.
func bundleMinimumAmount(t *testing.T, r *bundleRig, prefix string) {
	adm := r.administration(t, prefix+" BV", reminderOnly, map[string]any{"customer_min_gap_days": 0, "minimum_amounts": map[string]any{"EUR": 2500}})
	var mins []models.MinimumAmount
	require.NoError(t, r.db.Where("administration_id = ?", adm.ID).Find(&mins).Error)
	require.Len(t, mins, 1)
	require.Equal(t, int64(2500), mins[0].AmountMinor)
	f := r.customer(t, adm, prefix+"F", 6)
	nums := numbered(prefix+"F", 2)
	small := r.createInvoices(t, adm, newInvoice{cust: f, number: nums[0], amount: 1000})[nums[0]]

	// Held: the request says so, and the journey took the answer: its
	// reminder is planned again, later than it first fell due.
	require.Eventually(t, func() bool {
		st, err := app.New(app.Options{Temporal: r.tc}).JourneyState(context.Background(), small.WorkflowID)
		if err != nil || len(st.Steps) == 0 {
			return false
		}
		req, ok := r.request(t, small, 1, policy.StepReminder)
		step := st.Steps[0]
		return ok && req.State == models.BundleHeld && step.Status == workflows.StepPlanned && step.At.After(st.Anchor.Add(bundleDay))
	}, testkit.Patience, 100*time.Millisecond, "the reminder under the minimum was not held and planned again")
	entries := bundleEntries(r.on(t), small, policy.StepReminder)
	require.Len(t, entries, 1)
	require.Equal(t, "held", entries[0].State)
	require.Equal(t, activities.ReasonBelowMinimum, entries[0].Reason)
	var skipped int64
	require.NoError(t, r.db.Model(&models.Message{}).Where("invoice_id = ? AND state = ? AND reason = ?", small.ID, models.MessageSkipped, activities.ReasonBelowMinimum).Count(&skipped).Error)
	require.EqualValues(t, 1, skipped, "one skipped timeline row for the held step")
	require.Empty(t, r.mailsTo(f.Email), "a customer under the minimum got a reminder")
	require.Empty(t, r.smsTo(f))

	// A new invoice lifts the total over the minimum: one email for both.
	big := r.createInvoices(t, adm, newInvoice{cust: f, number: nums[1], amount: 1600})[nums[1]]
	require.Equal(t, workflows.OutcomeCompleted, r.waitJourney(t, big, 2*time.Minute).Outcome)
	require.Equal(t, workflows.OutcomeCompleted, r.waitJourney(t, small, 2*time.Minute).Outcome)
	mails := r.mailsTo(f.Email)
	require.Len(t, mails, 1, "one reminder once the total reached the minimum")
	require.Equal(t, nums, r.covered(t, mails[0]))
}

// bundleCustomerChanged: two invoices of customer OLD are imported; while
// OLD's bundle collects, an import moves the first to customer NEW (another
// customer reference). OLD's email lists only the second; the moved one
// goes to NEW.
func bundleCustomerChanged(t *testing.T, r *bundleRig, prefix string) {
	s := r.on(t)
	adm := r.administration(t, prefix+" BV", reminderOnly, map[string]any{"customer_min_gap_days": 0})
	nums := numbered(prefix+"G", 2)
	oldRef, newRef := prefix+"OLD", prefix+"NEW"
	oldMail, newMail := strings.ToLower(oldRef)+"@customer.example", strings.ToLower(newRef)+"@customer.example"
	loc, err := time.LoadLocation(adm.TimeZone)
	require.NoError(t, err)
	today := time.Now().In(loc).Format("2006-01-02")
	row := func(num, ref, email string) map[string]any {
		return map[string]any{"invoice_number": num, "customer_ref": ref, "customer_name": "Customer " + ref, "email": email,
			"country": "NL", "language": "en", "issue_date": today, "due_date": today, "amount_minor": 10000, "currency": "EUR"}
	}
	importRows := func(rows ...map[string]any) {
		status, body, _ := s.raw("POST", fmt.Sprintf("/api/v1/administrations/%d/imports", adm.ID), map[string]any{"rows": rows})
		require.Equal(t, http.StatusCreated, status, string(body))
	}
	importRows(row(nums[0], oldRef, oldMail), row(nums[1], oldRef, oldMail))
	var old models.Customer
	require.NoError(t, r.db.Where("administration_id = ? AND external_ref = ?", adm.ID, oldRef).First(&old).Error)
	var moved, stays models.Invoice
	require.NoError(t, r.db.Where("administration_id = ? AND number = ?", adm.ID, nums[0]).First(&moved).Error)
	require.NoError(t, r.db.Where("administration_id = ? AND number = ?", adm.ID, nums[1]).First(&stays).Error)

	// While OLD's bundle collects, the next import says the first invoice
	// is NEW's.
	require.Eventually(t, func() bool { return r.requests(t, &old, models.BundlePending) == 2 }, testkit.Patience, 20*time.Millisecond,
		"OLD's reminders did not join its bundle")
	importRows(row(nums[0], newRef, newMail), row(nums[1], oldRef, oldMail))
	var newCust models.Customer
	require.NoError(t, r.db.Where("administration_id = ? AND external_ref = ?", adm.ID, newRef).First(&newCust).Error, "the import created NEW")
	require.NoError(t, r.db.First(&moved, moved.ID).Error)
	require.Equal(t, newCust.ID, moved.CustomerID, "the import did not move the invoice to the customer its row names")
	require.Equal(t, models.BundlePending, func() models.BundleState {
		req, ok := r.request(t, api.InvoiceView{InvoiceBody: api.InvoiceBody{ID: moved.ID}}, 1, policy.StepReminder)
		require.True(t, ok)
		return req.State
	}(), "OLD's bundle sent before the invoice moved: the test missed the window")

	view := func(inv models.Invoice) api.InvoiceView {
		return api.InvoiceView{InvoiceBody: api.InvoiceBody{ID: inv.ID, Number: inv.Number, WorkflowID: inv.WorkflowID}}
	}
	require.Equal(t, workflows.OutcomeCompleted, r.waitJourney(t, view(stays), 2*time.Minute).Outcome)
	require.Equal(t, workflows.OutcomeCompleted, r.waitJourney(t, view(moved), 2*time.Minute).Outcome)
	oldMails := r.mailsTo(oldMail)
	require.Len(t, oldMails, 1)
	require.Equal(t, []string{nums[1]}, r.covered(t, oldMails[0]), "the moved invoice landed in its old customer's bundle")
	newMails := r.mailsTo(newMail)
	require.Len(t, newMails, 1, "the moved invoice's reminder goes to its new customer")
	require.Equal(t, []string{nums[0]}, r.covered(t, newMails[0]))
}
