package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
	"gorm.io/gorm"

	"github.com/relance/relance/activities"
	"github.com/relance/relance/channels/email"
	"github.com/relance/relance/channels/letter"
	"github.com/relance/relance/channels/sms"
	"github.com/relance/relance/devsink"
	"github.com/relance/relance/domain"
	"github.com/relance/relance/internal/testkit"
	"github.com/relance/relance/models"
	"github.com/relance/relance/portal"
)

// startConcurrency is how many starts every start-rate measurement keeps in
// flight: the import's default, so that the bare rate and the real paths
// are measured alike.
const startConcurrency = domain.DefaultImportConcurrency

// quiet is a logger that drops everything: the figures are the output.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// devServer starts a real Temporal dev server for one benchmark and returns
// a client of it that does not log.
func devServer(b testing.TB) client.Client {
	b.Helper()
	srv, _ := testkit.DevServer(b)
	tc, err := client.Dial(client.Options{
		HostPort: srv.FrontendHostPort(), Namespace: "default",
		Logger: sdklog.NewStructuredLogger(quiet()),
	})
	require.NoError(b, err)
	b.Cleanup(tc.Close)
	return tc
}

// sinks are the loopback providers of the three channels, speaking the real
// protocols (SMTP, Vonage's HTTP API, a letters folder).
type sinks struct {
	mail   *devsink.SMTPSink
	vonage *devsink.VonageSink
}

// newActivities builds the real activities against loopback sinks, with a
// journey day of length day.
func newActivities(b *testing.B, gdb *gorm.DB, day time.Duration) (*activities.Activities, *sinks) {
	b.Helper()
	s := &sinks{mail: &devsink.SMTPSink{}, vonage: &devsink.VonageSink{APIKey: "k", APISecret: "s"}}
	require.NoError(b, s.mail.Start("127.0.0.1:0"))
	b.Cleanup(func() { _ = s.mail.Close() })
	vsrv := httptest.NewServer(s.vonage)
	b.Cleanup(vsrv.Close)
	b.Cleanup(s.vonage.Close)
	addr := s.mail.Addr()
	port, err := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	require.NoError(b, err)
	mailer, err := email.New(email.Config{Host: "127.0.0.1", Port: port, TLS: "none", Timeout: 10 * time.Second})
	require.NoError(b, err)
	return &activities.Activities{
		DB: gdb, Email: mailer, Letters: letter.FolderProvider{Dir: b.TempDir()},
		SMS:    sms.New(sms.Config{BaseURL: vsrv.URL, APIKey: "k", APISecret: "s", From: "Relance", RatePerSecond: 1000}),
		Portal: portal.Links{BaseURL: "http://portal.bench", Secret: []byte("bench-secret")},
		Day:    day, DefaultFrom: "relance@bench.example", Logger: quiet(),
	}, s
}

// newAdministration creates an organization and an administration with the
// shipped defaults (SMS on, so the final reminder's SMS step really sends).
func newAdministration(b *testing.B, gdb *gorm.DB, name string) *models.Administration {
	b.Helper()
	org := models.Organization{Name: name, InboxRead: models.ReadManually}
	require.NoError(b, gdb.Create(&org).Error)
	settings := models.DefaultAdministrationSettings()
	settings.SMSEnabled = true
	adm := &models.Administration{OrganizationID: org.ID, Name: name + " BV", Country: "NL", TimeZone: "Europe/Amsterdam",
		Currency: "EUR", Language: "en", AdministrationSettings: settings,
		CompanyDetails: models.CompanyDetails{CompanyName: name + " BV", SenderEmail: "ar@bench.example", CompanyAddress: "Main 1\n1000 AA Amsterdam",
			BankDetails: "IBAN NL91 ABNA 0417 1643 00", LatePenaltyRate: "8%", UserName: "Sanne Jansen", UserEmail: "sanne@example.com", UserPhone: "+31 20 123 4568"}}
	require.NoError(b, gdb.Create(adm).Error)
	return adm
}

// localToday is today's date in the administration's zone, as dates are
// stored (midnight UTC). At a scaled day a step falls due the journey days
// between its date and the start's date read in that zone, so a benchmark
// whose steps must fall a set number of journey days after their start
// dates them by this, not by the date in UTC (they differ from 23:00 UTC
// in Amsterdam).
func localToday(b *testing.B, adm *models.Administration) time.Time {
	b.Helper()
	loc, err := time.LoadLocation(adm.TimeZone)
	require.NoError(b, err)
	y, m, d := time.Now().In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// newCustomer creates a customer reachable by email, post and SMS.
func newCustomer(b *testing.B, gdb *gorm.DB, adm *models.Administration, ref string) *models.Customer {
	b.Helper()
	c := &models.Customer{AdministrationID: adm.ID, ExternalRef: ref, Name: "Customer " + ref, Language: "en",
		Email: strings.ToLower(ref) + "@customer.example", Mobile: "+31612345678", AddressLine1: "Street 1", PostalCode: "1234 AB",
		City: "Utrecht", Country: "NL", CustomerSendSettings: models.DefaultCustomerSendSettings(), PortalToken: "tok-" + ref}
	require.NoError(b, gdb.Create(c).Error)
	return c
}

// noop is the bare workflow of the reference start rate: no search
// attributes, no summary, default options. Nothing runs it while the rate is
// measured (no worker polls its task queue): only the start is measured.
func noop(workflow.Context) error { return nil }

const bareTaskQueue = "bench-bare"

// bareStarts starts n bare workflows with startConcurrency starts in flight
// and returns how long that took.
func bareStarts(b *testing.B, tc client.Client, prefix string, n int) time.Duration {
	b.Helper()
	return parallel(b, n, func(ctx context.Context, i int) error {
		_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s-%d", prefix, i), TaskQueue: bareTaskQueue,
		}, noop)
		return err
	})
}

// parallel runs f for 0..n-1 with startConcurrency calls in flight, fails
// the benchmark on the first error, and returns the elapsed time.
func parallel(b *testing.B, n int, f func(ctx context.Context, i int) error) time.Duration {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	t0 := time.Now()
	for range startConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("call %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	require.NoError(b, first)
	return elapsed
}

// perSecond is n over d, in events per second.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
