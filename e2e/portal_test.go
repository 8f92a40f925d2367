package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/relance/relance/api"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
)

// chromium finds the browser; without it the browser tests skip, except in
// CI (CI set), where its absence is a failure (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set: the portal's browser test must run (apt-get install -y chromium chromium-driver)")
	}
	t.Skip("chromium is not installed: the portal's browser test is skipped (apt-get install -y chromium chromium-driver to run it; in CI it is required)")
	return ""
}

// artifacts is where the screenshots go: RELANCE_ARTIFACTS, else a
// temporary directory of the test.
func artifacts(t *testing.T) string {
	dir := os.Getenv("RELANCE_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "portal")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// tab is a headless Chromium tab with a fresh profile.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func browser(t *testing.T, path string) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1024, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, on a context without a deadline
	// (a deadline there would stop the browser).
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return &tab{t: t, ctx: ctx}
}

// do runs steps, each call bounded by testkit.Patience.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testkit.Patience)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

// get runs one action that returns a value.
func get[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testkit.Patience)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(b.t, err)
	return v
}

var portalLinkRE = regexp.MustCompile(`http://portal\.test/portal/[A-Za-z0-9._-]+`)

// TestPortalInTheBrowser: the link of an email received at the SMTP sink
// opens the portal in headless Chromium; the customer sees its invoices,
// gives an email address, writes a message, promises to pay one invoice
// and disputes the other; the API then shows the customer to verify, the
// conversation unread, the invoice paused until the promised date, the
// other disputed; a reply of the company appears in the portal. Every page
// is captured in the four languages.
func TestPortalInTheBrowser(t *testing.T) {
	chrome := chromium(t)
	s := newStack(t, testkit.SQLite(t), time.Hour)
	today := time.Now().UTC()
	var invs []api.InvoiceView
	for i := range 2 {
		var v api.InvoiceView
		require.Equal(t, http.StatusCreated, s.call("POST", fmt.Sprintf("/api/v1/administrations/%d/invoices", s.adm.ID), map[string]any{
			"customer_id": s.cust.ID, "number": fmt.Sprintf("P-%d-%d", today.UnixNano(), i), "issue_date": today.Format("2006-01-02"),
			"due_date": today.AddDate(0, 0, 14).Format("2006-01-02"), "amount_minor": 12345 * (i + 1),
		}, &v))
		invs = append(invs, v)
	}
	// The invoice email arrives at the sink with the personal link.
	var link string
	require.Eventually(t, func() bool {
		for _, m := range s.mail.Messages() {
			if l := portalLinkRE.FindString(m.Text); l != "" {
				link = strings.Replace(l, "http://portal.test", s.api.URL, 1)
				return true
			}
		}
		return false
	}, testkit.Patience, 100*time.Millisecond, "an email with the portal link")
	// The journeys wait for their next step: steering is possible.
	for _, v := range invs {
		require.Eventually(t, func() bool {
			st := s.invoice(v.ID)
			return st.Journey != nil && st.Journey.SentCount > 0
		}, testkit.Patience, 100*time.Millisecond)
	}

	b := browser(t, chrome)
	dir := artifacts(t)
	t.Logf("portal screenshots: %s", dir)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tt)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		})
	}
	main := chromedp.CSS("main")
	submit := chromedp.CSS(`main form button[type="submit"]`)
	flash := chromedp.CSS(".flash")
	// The overview lists both invoices with their amounts.
	b.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("main h1")))
	text := get(b, chromedp.Text(main))
	require.Contains(t, text, invs[0].Number)
	require.Contains(t, text, invs[1].Number)
	require.Contains(t, text, "€123.45")
	require.Contains(t, text, "€246.90")

	pages := map[string]string{"home": s.api.URL + "/portal", "overview": link, "email": link + "/email", "messages": link + "/messages",
		"invoice": fmt.Sprintf("%s/invoices/%d", link, invs[0].ID)}
	words := map[string]string{"nl": "Facturen", "fr": "Factures", "en": "Invoices", "de": "Rechnungen"}
	for _, lang := range []string{"nl", "fr", "en", "de"} {
		for name, u := range pages {
			b.do(chromedp.Navigate(u+"?lang="+lang), chromedp.WaitVisible(main), shot(name+"-"+lang))
			require.Equal(t, lang, get(b, chromedp.AttributeValue(chromedp.CSS("html"), "lang")).Value, name)
		}
		b.do(chromedp.Navigate(link), chromedp.WaitVisible(main))
		require.Contains(t, get(b, chromedp.Text(chromedp.CSS("nav"))), words[lang], "the switch is remembered")
	}
	b.do(chromedp.Navigate(link + "?lang=en"))

	// Give an email address.
	b.do(chromedp.Navigate(link+"/email"), chromedp.SendKeys(chromedp.CSS("#email"), "new.address@customer.example"),
		chromedp.Click(submit), chromedp.WaitVisible(flash), shot("email-done"))
	require.Contains(t, get(b, chromedp.Text(main)), "new.address@customer.example")

	// Write a message, with a script in it: shown as text, never run.
	const body = `<script>document.title="owned"</script> Can I pay in two parts?`
	b.do(chromedp.Navigate(link+"/messages"), chromedp.SetValue(chromedp.CSS("#body"), body),
		chromedp.Click(submit), chromedp.WaitVisible(flash), shot("messages-done"))
	require.Contains(t, get(b, chromedp.Text(main)), body)
	require.NotEqual(t, "owned", get(b, chromedp.Title()))
	require.Zero(t, get(b, chromedp.Evaluate[int](`document.querySelectorAll("script").length`)))

	// Promise to pay the first invoice in ten days.
	by := today.AddDate(0, 0, 10).Format("2006-01-02")
	b.do(chromedp.Navigate(fmt.Sprintf("%s/invoices/%d", link, invs[0].ID)), chromedp.SetValue(chromedp.CSS("#date"), by),
		chromedp.Click(chromedp.CSS(`form[action$="/promise"] button`)), chromedp.WaitVisible(flash), shot("promise-done"))
	require.Contains(t, get(b, chromedp.Text(main)), "You promised to pay by")

	// Dispute the second.
	b.do(chromedp.Navigate(fmt.Sprintf("%s/invoices/%d", link, invs[1].ID)), chromedp.SendKeys(chromedp.CSS("#reason"), "We received 8 chairs, not 10."),
		chromedp.Click(chromedp.CSS(`form[action$="/dispute"] button`)), chromedp.WaitVisible(flash), shot("dispute-done"))
	require.Contains(t, get(b, chromedp.Text(main)), "Disputed")

	// Through the API: the customer is to verify with the address given...
	var page struct {
		Data []api.CustomerView `json:"data"`
	}
	require.Equal(t, http.StatusOK, s.call("GET", fmt.Sprintf("/api/v1/administrations/%d/customers?to_verify=email_provided", s.adm.ID), nil, &page))
	require.Len(t, page.Data, 1)
	require.Equal(t, "new.address@customer.example", page.Data[0].ProvidedEmail)
	// ...the first invoice is paused until the promised day, the journey says so...
	inv := s.invoice(invs[0].ID)
	require.NotNil(t, inv.PromisedUntil)
	require.Equal(t, by, inv.PromisedUntil.UTC().Format("2006-01-02"))
	require.NotNil(t, inv.PausedUntil)
	require.True(t, inv.PausedUntil.Equal(*inv.PromisedUntil))
	require.True(t, inv.Paused)
	require.NotNil(t, inv.Journey)
	require.True(t, inv.Journey.Paused)
	require.NotNil(t, inv.Journey.PromisedUntil)
	// ...the second is disputed...
	require.True(t, s.invoice(invs[1].ID).Disputed)
	// ...and the conversations are unread in the inbox, the reason of the dispute included.
	var convs []models.Conversation
	require.NoError(t, s.db.Where("customer_id = ?", s.cust.ID).Order("id").Find(&convs).Error)
	require.Len(t, convs, 3, "account, invoice 1 (promise), invoice 2 (dispute)")
	var bodies []string
	for _, c := range convs {
		require.True(t, c.Unread)
		var ms []models.InboxMessage
		require.NoError(t, s.db.Where("conversation_id = ?", c.ID).Find(&ms).Error)
		for _, m := range ms {
			require.Equal(t, models.Inbound, m.Direction)
			require.Equal(t, "portal", m.Channel)
			bodies = append(bodies, m.Body)
		}
	}
	require.Contains(t, bodies, body)
	require.Contains(t, bodies, "Dispute: We received 8 chairs, not 10.")
	require.Contains(t, bodies, "Promise to pay by "+by)

	// The inbox counts them: three unread conversations for the customer.
	var sum domain.UnreadSummary
	require.Equal(t, http.StatusOK, s.call("GET", "/api/v1/inbox/unread-summary", nil, &sum))
	require.Equal(t, 3, sum.Total)
	require.NotEmpty(t, sum.Customers)
	require.Equal(t, s.cust.ID, sum.Customers[0].ID)
	require.Equal(t, 3, sum.Customers[0].Unread)

	// The company answers from the inbox (the API): the reply shows in the portal.
	require.Equal(t, http.StatusAccepted, s.call("POST", fmt.Sprintf("/api/v1/inbox/conversations/%d/replies", convs[0].ID),
		map[string]any{"body": "Yes: <b>two parts</b> is fine.", "author": "Sanne Jansen"}, nil))
	b.do(chromedp.Navigate(link+"/messages"), chromedp.WaitVisible(main), shot("messages-reply"))
	require.Contains(t, get(b, chromedp.Text(main)), "Yes: <b>two parts</b> is fine.")
}
