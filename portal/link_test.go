package portal

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var issued = time.Date(2026, 11, 30, 15, 4, 5, 0, time.UTC)

func TestLinkRoundTripAndExpiry(t *testing.T) {
	l := Links{BaseURL: "https://pay.example.com/", Secret: []byte("secret-secret-secret"), TTL: 10 * 24 * time.Hour}
	tok := l.Token(42, "cust-token", issued)
	require.Equal(t, "https://pay.example.com/portal/"+tok, l.URL(42, "cust-token", issued))
	require.Equal(t, tok, l.Token(42, "cust-token", issued.Add(time.Hour)), "one link per customer and day")
	k, err := l.Parse(tok)
	require.NoError(t, err)
	require.EqualValues(t, 42, k.CustomerID)
	// Valid until the end of the day the TTL ends on.
	require.Equal(t, time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC), k.Expires)
	cases := []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"fresh", "cust-token", issued, nil},
		{"last moment", "cust-token", k.Expires.Add(-time.Second), nil},
		{"expired", "cust-token", k.Expires, ErrExpired},
		{"rotated token", "other", issued, ErrBadLink},
		{"rotated and expired: says only bad", "other", k.Expires.Add(time.Hour), ErrBadLink},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := l.Verify(k, c.token, c.now)
			if c.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, c.want)
			}
		})
	}
	// Another secret, a longer expiry or another customer: bad.
	other := Links{Secret: []byte("another-secret-secret")}
	require.ErrorIs(t, other.Verify(k, "cust-token", issued), ErrBadLink)
	parts := strings.Split(tok, ".")
	for _, forged := range []string{"43." + parts[1] + "." + parts[2], parts[0] + ".zzz." + parts[2]} {
		fk, err := l.Parse(forged)
		require.NoError(t, err)
		require.ErrorIs(t, l.Verify(fk, "cust-token", issued), ErrBadLink, forged)
	}
}

func TestLinkDefaultTTL(t *testing.T) {
	l := Links{Secret: []byte("s")}
	k, err := l.Parse(l.Token(1, "t", issued))
	require.NoError(t, err)
	require.Equal(t, 181, int(k.Expires.Sub(issued.Truncate(24*time.Hour))/(24*time.Hour)))
}

func TestParseRefusesMalformed(t *testing.T) {
	l := Links{Secret: []byte("s")}
	for _, tok := range []string{"", "1", "1.2", "a.b.c", "0.1.x", "-1.1.x", "1.-1.x", "1.0.x", "1.zzzzzzzzzz.x", "1.2.3.4", strings.Repeat("1", 200) + ".1.x"} {
		_, err := l.Parse(tok)
		require.True(t, errors.Is(err, ErrBadLink), tok)
	}
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewCode()
		require.Len(t, c, CodeLength)
		n, ok := NormalizeCode(c)
		require.True(t, ok)
		require.Equal(t, c, n)
		seen[c] = true
	}
	require.Greater(t, len(seen), 990, "random")
	for in, want := range map[string]string{"k7qm-4xta": "K7QM4XTA", " K7QM 4XTA ": "K7QM4XTA", "K7QM4XTA": "K7QM4XTA"} {
		got, ok := NormalizeCode(in)
		require.True(t, ok, in)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "K7QM", "K7QM-4XTA-1", "K7QM-4XT0", "K7QM-4XTI", "<script>", strings.Repeat("K", 40), "K7QM-4XTÄ"} {
		_, ok := NormalizeCode(bad)
		require.False(t, ok, bad)
	}
	require.Equal(t, "K7QM-4XTA", FormatCode("K7QM4XTA"))
}

// FuzzParse: no input panics, and what parses never verifies without the signature.
func FuzzParse(f *testing.F) {
	l := Links{Secret: []byte("fuzz-secret")}
	f.Add(l.Token(7, "tok", issued))
	f.Add("1.2.3")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		k, err := l.Parse(tok)
		if err != nil {
			return
		}
		if tok != l.Token(k.CustomerID, "tok", time.Unix(0, 0)) && l.Verify(k, "tok", time.Unix(0, 0)) == nil {
			// Only a token signed for these parts verifies.
			require.Equal(t, strings.Split(tok, ".")[2], strings.Split(l.Token(k.CustomerID, "tok", k.Expires.Add(-l.ttl())), ".")[2])
		}
		_, _ = NormalizeCode(tok)
	})
}
