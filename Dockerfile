# The one Relance binary, for docker-compose.yml and production.
# CGO is off: the SQLite driver is pure Go and PostgreSQL is spoken by pgx.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/relance ./cmd/relance

# distroless: no shell, no package manager; `relance healthcheck` replaces curl.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/relance /usr/local/bin/relance
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/relance"]
CMD ["api"]
