package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/relance/relance/domain"
	"github.com/relance/relance/models"
	"github.com/relance/relance/render"
)

// The customer portal (docs/domain.md §1.10): server-rendered pages under
// /portal, reached through the signed link every message carries or a
// short code typed on /portal. Every page acts for the one customer its
// link names; the application layer reads only that customer's rows.

//go:embed portalui
var portalUI embed.FS

var portalTemplates = template.Must(template.New("portal").Funcs(template.FuncMap{
	"list": func(v ...any) []any { return v },
	"join": strings.Join,
}).ParseFS(portalUI, "portalui/*.html"))

var portalCSS = func() []byte {
	b, err := portalUI.ReadFile("portalui/portal.css")
	if err != nil {
		panic(err)
	}
	return b
}()

// PortalLimits bound what one client can do: RequestsPerMinute per client
// address (every portal request), PostsPerMinute per portal link and per
// address (forms, code attempts). Zero values take the defaults.
type PortalLimits struct {
	RequestsPerMinute int
	PostsPerMinute    int
}

// Portal defaults: a person reads a few pages a minute and sends a form or
// two; a script guessing codes is slowed to PostsPerMinute tries.
const (
	defaultPortalRequestsPerMinute = 120
	defaultPortalPostsPerMinute    = 10
	// portalMaxForm bounds a form body: a message is at most
	// domain.PortalMaxMessage characters, 4 bytes each at worst and each
	// byte 3 once form-encoded (%XX), plus the other fields.
	portalMaxForm = 12*domain.PortalMaxMessage + 4096
	csrfCookie    = "relance_csrf"
	langCookie    = "relance_lang"
	ctxCustomer   = "portal_customer"
	ctxToken      = "portal_token"
)

// limiters holds one token bucket per key (client address or link).
type limiters struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*limiterEntry
}

type limiterEntry struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiters(perMinute int) *limiters {
	return &limiters{every: rate.Limit(float64(perMinute) / 60), burst: perMinute, m: map[string]*limiterEntry{}}
}

// allow takes one token of key's bucket. Buckets unused for ten minutes
// are dropped once the map grows, so memory stays bounded by the clients
// of the last minutes.
func (l *limiters) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[key]
	if !ok {
		if len(l.m) > 10000 {
			for k, v := range l.m {
				if now.Sub(v.seen) > 10*time.Minute {
					delete(l.m, k)
				}
			}
		}
		e = &limiterEntry{l: rate.NewLimiter(l.every, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	return e.l.AllowN(now, 1)
}

// portalServer holds the portal's limiters.
type portalServer struct {
	*Server
	requests, posts *limiters
}

func (s *Server) portalRoutes(r *gin.Engine) {
	lim := s.PortalLimits
	if lim.RequestsPerMinute <= 0 {
		lim.RequestsPerMinute = defaultPortalRequestsPerMinute
	}
	if lim.PostsPerMinute <= 0 {
		lim.PostsPerMinute = defaultPortalPostsPerMinute
	}
	p := &portalServer{Server: s, requests: newLimiters(lim.RequestsPerMinute), posts: newLimiters(lim.PostsPerMinute)}
	r.GET("/portal-assets/portal.css", portalHeaders(), func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=3600")
		c.Data(http.StatusOK, "text/css; charset=utf-8", portalCSS)
	})
	home := r.Group("/portal", portalHeaders(), p.limitRequests())
	home.GET("", p.home)
	home.POST("", p.limitPosts(false), p.checkCSRF("home"), p.enterCode)
	g := r.Group("/portal/:token", portalHeaders(), p.limitRequests(), p.customer())
	g.GET("", p.overview)
	g.GET("/email", p.emailPage)
	g.GET("/messages", p.messagesPage)
	g.GET("/invoices/:invoice", p.invoicePage)
	g.GET("/letters/:message", p.letter)
	post := g.Group("", p.limitPosts(true), p.checkCSRFToken())
	post.POST("/email", p.submitEmail)
	post.POST("/messages", p.writeMessage)
	post.POST("/invoices/:invoice/dispute", p.dispute)
	post.POST("/invoices/:invoice/promise", p.promise)
}

// portalHeaders: the link is in the URL, so no page may leak it (Referrer-Policy),
// be framed (clickjacking a dispute button) or run any script.
func portalHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		c.Next()
	}
}

// clientAddress is the connection's address: the portal does not trust
// forwarded-for headers, which a client could set to dodge the limits.
func clientAddress(c *gin.Context) string {
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		return c.Request.RemoteAddr
	}
	return host
}

func (p *portalServer) limitRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !p.requests.allow("addr:"+clientAddress(c), p.now()) {
			p.errorPage(c, http.StatusTooManyRequests, p.lang(c, nil), "err.rate")
			return
		}
		c.Next()
	}
}

// limitPosts bounds the forms sent per address and, behind a link, per link.
func (p *portalServer) limitPosts(perLink bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		now := p.now()
		ok := p.posts.allow("addr:"+clientAddress(c), now)
		if ok && perLink {
			ok = p.posts.allow("link:"+c.Param("token"), now)
		}
		if !ok {
			c.Header("Retry-After", "60")
			p.errorPage(c, http.StatusTooManyRequests, p.lang(c, p.cust(c)), "err.rate")
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, portalMaxForm)
		c.Next()
	}
}

// customer loads the customer the link names; a bad link is 404, an
// expired or revoked one 410, each a page in the customer's language (when
// the link names one for sure) that shows nothing of the account.
func (p *portalServer) customer() gin.HandlerFunc {
	return func(c *gin.Context) {
		cust, err := p.App.PortalCustomer(c.Request.Context(), c.Param("token"))
		switch {
		case err == nil:
			c.Set(ctxCustomer, cust)
			c.Set(ctxToken, c.Param("token"))
			c.Next()
		case errors.Is(err, domain.ErrLinkExpired):
			p.errorPage(c, http.StatusGone, p.lang(c, cust), "err.expired")
		case errors.Is(err, domain.ErrLinkRevoked):
			p.errorPage(c, http.StatusGone, p.lang(c, cust), "err.revoked")
		case errors.Is(err, domain.ErrNotFound):
			p.errorPage(c, http.StatusNotFound, p.lang(c, nil), "err.notfound")
		default:
			logger(c).Error("portal link", "error", err)
			p.errorPage(c, http.StatusServiceUnavailable, p.lang(c, nil), "err.temp")
		}
	}
}

func (p *portalServer) cust(c *gin.Context) *models.Customer {
	v, ok := c.Get(ctxCustomer)
	if !ok {
		return nil
	}
	return v.(*models.Customer)
}

// lang is the page's language: a choice in the query (remembered in a
// cookie), the remembered one, the customer's, the browser's.
func (p *portalServer) lang(c *gin.Context, cust *models.Customer) string {
	if q := c.Query("lang"); q != "" {
		if l := portalLang(q); l == q {
			http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: l, Path: "/portal", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: p.secureCookies()})
			return l
		}
	}
	if ck, err := c.Cookie(langCookie); err == nil {
		if l := portalLang(ck); l == ck {
			return l
		}
	}
	if cust != nil && cust.Language != "" {
		return portalLang(cust.Language)
	}
	al := strings.ToLower(c.GetHeader("Accept-Language"))
	if len(al) >= 2 {
		return portalLang(al[:2])
	}
	return "en"
}

func (p *portalServer) secureCookies() bool {
	return strings.HasPrefix(p.Portal.BaseURL, "https://")
}

// csrfValue is the form field matching a browser's cookie nonce for one
// scope (a link, or the home page): a signed double submit. A site that
// makes a browser post here cannot read the cookie nor sign a value.
func (p *portalServer) csrfValue(nonce, scope string) string {
	m := hmac.New(sha256.New, p.Portal.Secret)
	m.Write([]byte("csrf:" + nonce + ":" + scope))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrf returns the form value of this page, setting the cookie on a first visit.
func (p *portalServer) csrf(c *gin.Context, scope string) string {
	nonce, err := c.Cookie(csrfCookie)
	if err != nil || len(nonce) < 16 || len(nonce) > 64 {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Value: nonce, Path: "/portal", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: p.secureCookies()})
	}
	return p.csrfValue(nonce, scope)
}

func (p *portalServer) checkCSRF(scope string) gin.HandlerFunc {
	return func(c *gin.Context) { p.verifyCSRF(c, scope) }
}

func (p *portalServer) checkCSRFToken() gin.HandlerFunc {
	return func(c *gin.Context) { p.verifyCSRF(c, "link:"+c.Param("token")) }
}

func (p *portalServer) verifyCSRF(c *gin.Context, scope string) {
	nonce, err := c.Cookie(csrfCookie)
	got := c.PostForm("csrf")
	if err != nil || nonce == "" || got == "" || !hmac.Equal([]byte(got), []byte(p.csrfValue(nonce, scope))) {
		if tooLarge(c) {
			p.errorPage(c, http.StatusRequestEntityTooLarge, p.lang(c, p.cust(c)), "err.long")
			return
		}
		p.errorPage(c, http.StatusForbidden, p.lang(c, p.cust(c)), "err.csrf")
		return
	}
	c.Next()
}

// tooLarge reports whether the form is over the body limit (a body sent
// without its length is cut at the limit, and its CSRF field is then lost).
func tooLarge(c *gin.Context) bool {
	return c.Request.ContentLength > portalMaxForm
}

// portalPage is what every template gets.
type portalPage struct {
	Lang, Title, Page, Base, CSRF, Flash, Error, Message string
	Langs                                                []struct{ Code, Name string }
	View                                                 *domain.PortalView
	Invoice                                              *domain.PortalInvoice
	Form                                                 map[string]string
	MaxPromiseDays, MaxMessage                           int
	MinDate, MaxDate                                     string
}

// T is the text of key in the page's language, formatted with args.
func (p *portalPage) T(key string, args ...any) string {
	s, ok := portalTexts[p.Lang][key]
	if !ok {
		if s, ok = portalTexts["en"][key]; !ok {
			s = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Money formats an amount for the page's language.
func (p *portalPage) Money(minor int64, currency string) string {
	return render.FormatMoney(render.Money{Minor: minor, Currency: currency}, p.Lang)
}

// Date formats a date (time.Time or *time.Time) for the page's language.
func (p *portalPage) Date(v any) string {
	switch t := v.(type) {
	case time.Time:
		return render.FormatDate(t, p.Lang)
	case *time.Time:
		if t != nil {
			return render.FormatDate(*t, p.Lang)
		}
	}
	return ""
}

// DateTime is a date with the time of day (UTC).
func (p *portalPage) DateTime(t time.Time) string {
	return render.FormatDate(t, p.Lang) + " " + t.UTC().Format("15:04")
}

func (p *portalServer) page(c *gin.Context, name string, status int, pg *portalPage) {
	pg.Langs = portalLanguages
	pg.Page = name
	pg.MaxPromiseDays, pg.MaxMessage = domain.PortalMaxPromiseDays, domain.PortalMaxMessage
	if pg.Form == nil {
		pg.Form = map[string]string{}
	}
	if pg.Title == "" {
		pg.Title = pg.T("title")
		if pg.View != nil {
			pg.Title += " — " + pg.View.CompanyName
		}
	}
	var buf bytes.Buffer
	if err := portalTemplates.ExecuteTemplate(&buf, name, pg); err != nil {
		logger(c).Error("portal page", "page", name, "error", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	c.Abort()
}

func (p *portalServer) errorPage(c *gin.Context, status int, lang, key string) {
	pg := &portalPage{Lang: lang}
	pg.Message = pg.T(key)
	if key == "err.long" {
		pg.Message = pg.T(key, domain.PortalMaxMessage)
	}
	pg.Title = pg.T("err.title")
	p.page(c, "error", status, pg)
}

func (p *portalServer) home(c *gin.Context) {
	pg := &portalPage{Lang: p.lang(c, nil)}
	pg.CSRF = p.csrf(c, "home")
	pg.Title = pg.T("home.title")
	p.page(c, "home", http.StatusOK, pg)
}

// enterCode sends the browser to the portal of the customer whose code was
// typed; an unknown code is a 404 with the form again.
func (p *portalServer) enterCode(c *gin.Context) {
	tok, err := p.App.PortalCodeToken(c.Request.Context(), c.PostForm("code"))
	if err == nil {
		c.Redirect(http.StatusSeeOther, "/portal/"+tok)
		return
	}
	pg := &portalPage{Lang: portalLang(c.PostForm("lang"), p.lang(c, nil))}
	pg.CSRF = p.csrf(c, "home")
	pg.Title = pg.T("home.title")
	pg.Error = pg.T("home.unknown")
	status := http.StatusNotFound
	var fe *domain.FieldError
	switch {
	case errors.As(err, &fe):
		status = http.StatusBadRequest
	case !errors.Is(err, domain.ErrNotFound):
		logger(c).Error("portal code", "error", err)
		p.errorPage(c, http.StatusServiceUnavailable, pg.Lang, "err.temp")
		return
	}
	p.page(c, "home", status, pg)
}

// view loads the page data of the link's customer.
func (p *portalServer) view(c *gin.Context, flashKey string, flashArgs ...any) (*portalPage, bool) {
	cust := p.cust(c)
	v, err := p.App.PortalView(c.Request.Context(), cust)
	lang := p.lang(c, cust)
	if err != nil {
		logger(c).Error("portal view", "customer_id", cust.ID, "error", err)
		p.errorPage(c, http.StatusServiceUnavailable, lang, "err.temp")
		return nil, false
	}
	tok := c.GetString(ctxToken)
	pg := &portalPage{Lang: lang, View: &v, Base: "/portal/" + tok, CSRF: p.csrf(c, "link:"+tok)}
	if flashKey == "" {
		flashKey = portalFlashes[c.Query("done")]
		if flashKey == "promise.done" {
			if d, err := time.Parse("2006-01-02", c.Query("by")); err == nil {
				flashArgs = []any{render.FormatDate(d, lang)}
			} else {
				flashKey = ""
			}
		}
	}
	if flashKey != "" {
		pg.Flash = pg.T(flashKey, flashArgs...)
	}
	return pg, true
}

// portalFlashes are the thank-you lines a redirect after a form asks for.
var portalFlashes = map[string]string{"email": "email.done", "message": "msg.done", "dispute": "dispute.done", "promise": "promise.done"}

func (p *portalServer) overview(c *gin.Context) {
	if pg, ok := p.view(c, ""); ok {
		p.page(c, "overview", http.StatusOK, pg)
	}
}

func (p *portalServer) emailPage(c *gin.Context) {
	if pg, ok := p.view(c, ""); ok {
		p.page(c, "email", http.StatusOK, pg)
	}
}

func (p *portalServer) messagesPage(c *gin.Context) {
	if pg, ok := p.view(c, ""); ok {
		p.page(c, "messages", http.StatusOK, pg)
	}
}

// invoiceOf finds the link's customer's open invoice in the page data; an
// invoice of anyone else is not there (404).
func (p *portalServer) invoiceOf(c *gin.Context, pg *portalPage) bool {
	id, err := strconv.ParseInt(c.Param("invoice"), 10, 64)
	if err == nil {
		for i := range pg.View.Invoices {
			if pg.View.Invoices[i].ID == id {
				pg.Invoice = &pg.View.Invoices[i]
				pg.Title = pg.T("inv.title", pg.Invoice.Number)
				now := p.now()
				pg.MinDate = now.AddDate(0, 0, 1).Format("2006-01-02")
				pg.MaxDate = now.AddDate(0, 0, domain.PortalMaxPromiseDays).Format("2006-01-02")
				return true
			}
		}
	}
	p.errorPage(c, http.StatusNotFound, pg.Lang, "err.notfound")
	return false
}

func (p *portalServer) invoicePage(c *gin.Context) {
	pg, ok := p.view(c, "")
	if ok && p.invoiceOf(c, pg) {
		p.page(c, "invoice", http.StatusOK, pg)
	}
}

func (p *portalServer) letter(c *gin.Context) {
	cust := p.cust(c)
	id, err := strconv.ParseInt(c.Param("message"), 10, 64)
	if err != nil {
		p.errorPage(c, http.StatusNotFound, p.lang(c, cust), "err.notfound")
		return
	}
	pdf, err := p.App.PortalLetter(c.Request.Context(), cust, id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		p.errorPage(c, http.StatusNotFound, p.lang(c, cust), "err.notfound")
		return
	case err != nil:
		logger(c).Error("portal letter", "customer_id", cust.ID, "message_id", id, "error", err)
		p.errorPage(c, http.StatusServiceUnavailable, p.lang(c, cust), "err.temp")
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="letter-%d.pdf"`, id))
	c.Data(http.StatusOK, "application/pdf", pdf)
}

// done redirects after a form (post/redirect/get), so a reload sends nothing twice.
func (p *portalServer) done(c *gin.Context, path, what string, extra ...string) {
	q := "?done=" + what
	for i := 0; i+1 < len(extra); i += 2 {
		q += "&" + extra[i] + "=" + extra[i+1]
	}
	c.Redirect(http.StatusSeeOther, "/portal/"+c.GetString(ctxToken)+path+q)
}

// formFailed shows the form page again with the error and what was typed,
// or an error page when the failure is not the form's.
func (p *portalServer) formFailed(c *gin.Context, page string, err error, form map[string]string) {
	pg, ok := p.view(c, "")
	if !ok {
		return
	}
	if page == "invoice" && !p.invoiceOf(c, pg) {
		return
	}
	pg.Form = form
	var fe *domain.FieldError
	var mbe *http.MaxBytesError
	status := http.StatusBadRequest
	switch {
	case errors.As(err, &mbe):
		p.errorPage(c, http.StatusRequestEntityTooLarge, pg.Lang, "err.long")
		return
	case errors.As(err, &fe):
		if fe.Rule {
			status = http.StatusUnprocessableEntity
		}
		pg.Error = p.fieldMessage(pg, fe)
	case errors.Is(err, domain.ErrNotFound):
		p.errorPage(c, http.StatusNotFound, pg.Lang, "err.notfound")
		return
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrDisputeState), errors.Is(err, domain.ErrInvoiceClosed):
		status = http.StatusConflict
		pg.Error = pg.T("err.conflict")
	default:
		logger(c).Error("portal form", "page", page, "error", err)
		p.errorPage(c, http.StatusServiceUnavailable, pg.Lang, "err.temp")
		return
	}
	p.page(c, page, status, pg)
}

func (p *portalServer) fieldMessage(pg *portalPage, fe *domain.FieldError) string {
	switch {
	case fe.Field == "email":
		return pg.T("err.email")
	case fe.Field == "date":
		return pg.T("err.date", domain.PortalMaxPromiseDays)
	case strings.Contains(fe.Reason, "longer"):
		return pg.T("err.long", domain.PortalMaxMessage)
	case strings.Contains(fe.Reason, "empty"):
		return pg.T("err.empty")
	}
	return pg.T("err.invalid", fe.Field)
}

func (p *portalServer) submitEmail(c *gin.Context) {
	email := c.PostForm("email")
	if err := p.App.PortalSubmitEmail(c.Request.Context(), p.cust(c), email); err != nil {
		p.formFailed(c, "email", err, map[string]string{"email": email})
		return
	}
	p.done(c, "/email", "email")
}

func (p *portalServer) writeMessage(c *gin.Context) {
	about, body := c.PostForm("about"), c.PostForm("body")
	in := domain.PortalMessageInput{Body: body}
	if kind, id, ok := strings.Cut(about, ":"); ok {
		n, err := strconv.ParseInt(id, 10, 64)
		switch {
		case err != nil || n <= 0:
			p.formFailed(c, "messages", domain.Invalid("about", "is not one of your invoices or cases"), map[string]string{"body": body})
			return
		case kind == "invoice":
			in.InvoiceID = &n
		case kind == "case":
			in.CaseID = &n
		default:
			p.formFailed(c, "messages", domain.Invalid("about", "is not one of your invoices or cases"), map[string]string{"body": body})
			return
		}
	}
	if _, err := p.App.PortalWrite(c.Request.Context(), p.cust(c), in); err != nil {
		p.formFailed(c, "messages", err, map[string]string{"about": about, "body": body})
		return
	}
	p.done(c, "/messages", "message")
}

func (p *portalServer) invoiceParam(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("invoice"), 10, 64)
	if err != nil || id <= 0 {
		p.errorPage(c, http.StatusNotFound, p.lang(c, p.cust(c)), "err.notfound")
		return 0, false
	}
	return id, true
}

func (p *portalServer) dispute(c *gin.Context) {
	id, ok := p.invoiceParam(c)
	if !ok {
		return
	}
	reason := c.PostForm("reason")
	if err := p.App.PortalDispute(c.Request.Context(), p.cust(c), id, reason); err != nil {
		p.formFailed(c, "invoice", err, map[string]string{"reason": reason})
		return
	}
	p.done(c, "/invoices/"+c.Param("invoice"), "dispute")
}

func (p *portalServer) promise(c *gin.Context) {
	id, ok := p.invoiceParam(c)
	if !ok {
		return
	}
	raw := c.PostForm("date")
	by, err := time.Parse("2006-01-02", raw)
	if err != nil {
		p.formFailed(c, "invoice", domain.Invalid("date", "is not a date (YYYY-MM-DD)"), map[string]string{"date": raw})
		return
	}
	if err := p.App.PortalPromise(c.Request.Context(), p.cust(c), id, by); err != nil {
		p.formFailed(c, "invoice", err, map[string]string{"date": raw})
		return
	}
	p.done(c, "/invoices/"+c.Param("invoice"), "promise", "by", by.Format("2006-01-02"))
}
