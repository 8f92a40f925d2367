package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadyURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/readyz",
		":9000":          "http://127.0.0.1:9000/readyz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		"[::]:8080":      "http://[::1]:8080/readyz",
		"api.local:80":   "http://api.local:80/readyz",
	} {
		require.Equal(t, want, readyURL(listen), listen)
	}
}
