package component_test

import (
	"testing"

	"github.com/wxopen-go/wxopen/internal/teststores"
	"github.com/wxopen-go/wxopen/tokenstore"
)

// forEachClaimStore runs test against the credential stores a fleet shares: the in-memory test store
// always, and Redis, MariaDB and PostgreSQL (required in CI; see internal/teststores).
func forEachClaimStore(t *testing.T, test func(t *testing.T, creds tokenstore.Store)) {
	t.Run("memory", func(t *testing.T) { test(t, newFailingStore(nil)) })
	t.Run("Redis", func(t *testing.T) { test(t, teststores.Redis(t, "component")) })
	t.Run("MariaDB", func(t *testing.T) { test(t, teststores.SQL(t, "mysql", "WXOPEN_MYSQL_DSN", "component")) })
	t.Run("Postgres", func(t *testing.T) { test(t, teststores.SQL(t, "pgx", "WXOPEN_POSTGRES_DSN", "component")) })
}
