// Package config reads Relance's configuration: one typed struct from
// environment variables, with defaults that run the embedded dev stack.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/relance/relance/channels"
)

// Config is every setting of every process (api, worker, dev). Secrets are
// tagged so that String never prints them.
type Config struct {
	// DatabaseURL is postgres://… in production or sqlite://PATH (the embedded default).
	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://.data/relance.db"`
	// DBMaxConns is the size of each process's PostgreSQL connection pool
	// (SQLite always uses one). A worker's activity concurrency is capped to
	// what this pool can serve (see Worker).
	DBMaxConns int `env:"RELANCE_DB_MAX_CONNS" envDefault:"20"`

	Temporal Temporal `envPrefix:"TEMPORAL_"`

	// Listen is the address of the API, portal and webhooks server.
	Listen string `env:"RELANCE_LISTEN" envDefault:"127.0.0.1:8080"`
	// WorkerListen is where `relance worker` answers /healthz and /readyz
	// (for container health checks), e.g. 0.0.0.0:8081; empty (the default)
	// turns it off, so several workers can share a host.
	WorkerListen string `env:"RELANCE_WORKER_LISTEN"`
	// PublicURL is the address customers and providers reach this server at;
	// portal links and webhook URLs are built from it.
	PublicURL string `env:"RELANCE_PUBLIC_URL" envDefault:"http://127.0.0.1:8080"`
	// PortalSecret signs portal links; it must be set (32+ chars) in production.
	PortalSecret string `env:"RELANCE_PORTAL_SECRET" envDefault:"dev-portal-secret-change-me-in-production"`
	// PortalLinkTTL is how long a portal link in a message stays valid
	// (every message carries a fresh one); 180 days by default.
	PortalLinkTTL time.Duration `env:"RELANCE_PORTAL_LINK_TTL" envDefault:"4320h"`
	// PortalRequestsPerMinute bounds the portal pages one client address
	// may open; PortalPostsPerMinute the forms (and code attempts) per
	// address and per link. Over the limit: 429.
	PortalRequestsPerMinute int `env:"RELANCE_PORTAL_REQUESTS_PER_MINUTE" envDefault:"120"`
	PortalPostsPerMinute    int `env:"RELANCE_PORTAL_POSTS_PER_MINUTE" envDefault:"10"`
	// Day is the length of a journey day: 24h in production, shorter for demos and tests.
	Day time.Duration `env:"RELANCE_DAY" envDefault:"24h"`
	// BundleWindow is how long a customer's bundle collects reminders after
	// the first one falls due (docs/bundling.md); 0: five minutes at the real
	// day length, a tenth of a scaled day.
	BundleWindow time.Duration `env:"RELANCE_BUNDLE_WINDOW" envDefault:"0s"`
	// ReconcileEvery is how often the journey reconciler (a Temporal
	// Schedule the worker creates) starts the journeys of open invoices
	// that have none.
	ReconcileEvery time.Duration `env:"RELANCE_RECONCILE_EVERY" envDefault:"5m"`
	// MaxBodyBytes bounds a JSON request body; MaxImportBytes an import upload.
	MaxBodyBytes   int64 `env:"RELANCE_MAX_BODY_BYTES" envDefault:"1048576"`
	MaxImportBytes int64 `env:"RELANCE_MAX_IMPORT_BYTES" envDefault:"52428800"`

	// Tracing exports OpenTelemetry traces over OTLP/HTTP when an endpoint
	// is configured (the standard OTEL_EXPORTER_OTLP_* variables: the
	// exporter also reads their headers, timeout and compression); off
	// otherwise.
	Tracing Tracing `envPrefix:"OTEL_"`

	LogLevel  string `env:"RELANCE_LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"RELANCE_LOG_FORMAT" envDefault:"text"`

	Worker Worker `envPrefix:"RELANCE_WORKER_"`

	SMTP    SMTP    `envPrefix:"SMTP_"`
	Vonage  Vonage  `envPrefix:"VONAGE_"`
	Letters Letters `envPrefix:"LETTERS_"`
}

// Tracing is the OpenTelemetry export: on when either endpoint is set.
type Tracing struct {
	// Endpoint is the collector's base URL (traces go to Endpoint/v1/traces).
	Endpoint string `env:"EXPORTER_OTLP_ENDPOINT"`
	// TracesEndpoint is the full URL of the traces, when set it wins.
	TracesEndpoint string `env:"EXPORTER_OTLP_TRACES_ENDPOINT"`
	// ServiceName names the process in the traces ("relance-api", …).
	ServiceName string `env:"SERVICE_NAME"`
}

// On reports whether traces are to be exported.
func (t Tracing) On() bool { return t.Endpoint != "" || t.TracesEndpoint != "" }

// Temporal locates the Temporal frontend.
type Temporal struct {
	Address   string `env:"ADDRESS" envDefault:"127.0.0.1:7233"`
	Namespace string `env:"NAMESPACE" envDefault:"default"`
	// UIURL is printed in logs and the README so ops can jump to a journey.
	UIURL string `env:"UI_URL" envDefault:"http://127.0.0.1:8233"`
}

// Worker bounds what one `relance worker` process holds and runs at once,
// so that its memory depends on these settings, not on the size of the book.
type Worker struct {
	// StickyCacheSize is how many workflows the process keeps in memory
	// between their tasks (the SDK's sticky cache; it defaults to 10,000,
	// about 50 KB each). A journey sleeps for days between steps, so the
	// cache only has to hold the journeys busy in one send window's burst;
	// an evicted journey is replayed from its short history when it wakes.
	StickyCacheSize int `env:"STICKY_CACHE_SIZE" envDefault:"2000"`
	// MaxActivities bounds the activities running at once on the main task
	// queue, MaxSMSActivities on the SMS queue. Together they are capped to
	// the database pool (RELANCE_DB_MAX_CONNS) minus a reserve, so that an
	// activity recording a send's outcome never queues for a connection.
	MaxActivities    int `env:"MAX_ACTIVITIES" envDefault:"12"`
	MaxSMSActivities int `env:"MAX_SMS_ACTIVITIES" envDefault:"4"`
	// MaxWorkflowTasks bounds the workflow tasks (replays and decisions)
	// running at once: CPU work, sized for a few cores.
	MaxWorkflowTasks int `env:"MAX_WORKFLOW_TASKS" envDefault:"16"`
	// WorkflowPollers and ActivityPollers are the long polls a worker keeps
	// open per task queue (the SDK's default is 2): a poll brings one task,
	// so against a busy server the polls, not the slots, bound throughput.
	WorkflowPollers int `env:"WORKFLOW_POLLERS" envDefault:"8"`
	ActivityPollers int `env:"ACTIVITY_POLLERS" envDefault:"4"`
}

// SMTP is the outgoing mail server.
type SMTP struct {
	Host     string        `env:"HOST" envDefault:"127.0.0.1"`
	Port     int           `env:"PORT" envDefault:"2525"`
	Username string        `env:"USERNAME"`
	Password string        `env:"PASSWORD"`
	TLS      string        `env:"TLS" envDefault:"none"` // none | starttls | tls
	Timeout  time.Duration `env:"TIMEOUT" envDefault:"30s"`
	// From is the sender used when an administration has no sender email.
	From string `env:"FROM" envDefault:"relance@localhost"`
	// BounceSecret authenticates the MTA that posts bounce reports (DSNs) to
	// /webhooks/email/bounce; empty turns that webhook off (404).
	BounceSecret string `env:"BOUNCE_SECRET"`
	// ReturnPath is the envelope sender of every email (SMTP MAIL FROM): the
	// bounce mailbox. Empty: the message's From, so bounces go to the
	// administration's own mailbox.
	ReturnPath string `env:"RETURN_PATH"`
	// RatePerSecond caps the messages sent in any one-second window,
	// across all workers, for providers that limit throughput; 0: no cap.
	RatePerSecond int `env:"RATE_PER_SECOND" envDefault:"0"`
}

// Vonage is the SMS provider account.
type Vonage struct {
	BaseURL   string `env:"BASE_URL" envDefault:"https://rest.nexmo.com"`
	APIKey    string `env:"API_KEY"`
	APISecret string `env:"API_SECRET"`
	// SignatureSecret, when set, makes the webhooks verify Vonage's signature.
	SignatureSecret string `env:"SIGNATURE_SECRET"`
	SignatureMethod string `env:"SIGNATURE_METHOD" envDefault:"md5hash"`
	From            string `env:"FROM" envDefault:"Relance"`
	// RatePerSecond is the account's throughput, enforced across all workers.
	// Unset or 0: channels.DefaultSMSPerSecond (30).
	RatePerSecond int `env:"RATE_PER_SECOND"`
	// Timeout bounds one request to the SMS API; a request never answered
	// holds one slot of the rate until then (plus one second).
	Timeout time.Duration `env:"TIMEOUT" envDefault:"10s"`
}

// Letters chooses the postal letter provider.
type Letters struct {
	Provider string `env:"PROVIDER" envDefault:"folder"` // folder | http
	Dir      string `env:"DIR" envDefault:".data/letters"`
	APIURL   string `env:"API_URL"`
	APIKey   string `env:"API_KEY"`
}

// Load reads the environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("read configuration from the environment: %w", err)
	}
	if c.Vonage.RatePerSecond == 0 {
		c.Vonage.RatePerSecond = channels.DefaultSMSPerSecond
	}
	return c, c.Validate()
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if c.ReconcileEvery < time.Second {
		return errors.New("RELANCE_RECONCILE_EVERY must be a duration of at least 1s, e.g. 5m")
	}
	if c.Day <= 0 {
		return errors.New("RELANCE_DAY must be a positive duration, e.g. 24h or 10s")
	}
	if c.BundleWindow < 0 {
		return errors.New("RELANCE_BUNDLE_WINDOW must not be negative (0: the default window)")
	}
	if c.MaxBodyBytes <= 0 || c.MaxImportBytes <= 0 {
		return errors.New("RELANCE_MAX_BODY_BYTES and RELANCE_MAX_IMPORT_BYTES must be positive")
	}
	if _, err := url.Parse(c.PublicURL); err != nil {
		return fmt.Errorf("RELANCE_PUBLIC_URL: %w", err)
	}
	if len(c.PortalSecret) < 16 {
		return errors.New("RELANCE_PORTAL_SECRET must be at least 16 characters")
	}
	if c.PortalLinkTTL < time.Hour {
		return errors.New("RELANCE_PORTAL_LINK_TTL must be at least 1h, e.g. 4320h (180 days)")
	}
	if c.PortalRequestsPerMinute <= 0 || c.PortalPostsPerMinute <= 0 {
		return errors.New("RELANCE_PORTAL_REQUESTS_PER_MINUTE and RELANCE_PORTAL_POSTS_PER_MINUTE must be positive")
	}
	switch c.SMTP.TLS {
	case "none", "starttls", "tls":
	default:
		return fmt.Errorf("SMTP_TLS %q: use none, starttls or tls", c.SMTP.TLS)
	}
	switch c.Letters.Provider {
	case "folder":
	case "http":
		if c.Letters.APIURL == "" || c.Letters.APIKey == "" {
			return errors.New("LETTERS_PROVIDER=http needs LETTERS_API_URL and LETTERS_API_KEY")
		}
	default:
		return fmt.Errorf("LETTERS_PROVIDER %q: use folder or http", c.Letters.Provider)
	}
	if c.DBMaxConns < 2 {
		return errors.New("RELANCE_DB_MAX_CONNS must be at least 2")
	}
	if c.Worker.StickyCacheSize < 0 || c.Worker.MaxActivities <= 0 || c.Worker.MaxSMSActivities <= 0 || c.Worker.MaxWorkflowTasks <= 0 ||
		c.Worker.WorkflowPollers <= 0 || c.Worker.ActivityPollers <= 0 {
		return errors.New("RELANCE_WORKER_STICKY_CACHE_SIZE must be 0 or more, and RELANCE_WORKER_MAX_ACTIVITIES, _MAX_SMS_ACTIVITIES, _MAX_WORKFLOW_TASKS, _WORKFLOW_POLLERS and _ACTIVITY_POLLERS positive")
	}
	if c.SMTP.RatePerSecond < 0 {
		return errors.New("SMTP_RATE_PER_SECOND must be 0 (no cap) or positive")
	}
	if c.Vonage.RatePerSecond <= 0 {
		return errors.New("VONAGE_RATE_PER_SECOND must be positive")
	}
	if c.Vonage.Timeout <= 0 {
		return errors.New("VONAGE_TIMEOUT must be positive")
	}
	return nil
}
