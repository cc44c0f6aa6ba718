package sqlstore_test

import (
	"strconv"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"strings"
	"testing"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
	"github.com/wxopen-go/wxopen/tokenstore/storetest"
)

func TestContract(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := b.open(t)
		storetest.Run(t, func(t *testing.T) tokenstore.Store { return newStore(t, db) })
	})
}

// TestContractClientFoundRows: with go-sql-driver's clientFoundRows=true, MySQL counts the rows an
// UPDATE matched rather than changed; CompareAndSwap must report the same outcomes.
func TestContractClientFoundRows(t *testing.T) {
	b := backends[0]
	if dsn := lookupEnv(b.env); dsn != "" {
		t.Setenv(b.env, withParam(dsn, "clientFoundRows=true"))
	}
	db := b.open(t)
	storetest.Run(t, func(t *testing.T) tokenstore.Store { return newStore(t, db) })
}

func withParam(dsn, param string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}

// TestSurrogateKey: a team that manages its schema may give the table an AUTO_INCREMENT surrogate
// key (a common house rule). MySQL then reports a generated insert id for every insert, which
// CompareAndSwap must not mistake for its own outcome mark. (Only the outcomes are checked here:
// InnoDB's upserts on a table with two unique keys may deadlock under contention, a cost of such a
// schema, which the documented one does not have.)
func TestSurrogateKey(t *testing.T) {
	b := backends[0]
	db := b.open(t)
	name := table(t, db)
	_, err := db.ExecContext(ctx(t), "CREATE TABLE "+name+` (
	id         BIGINT NOT NULL AUTO_INCREMENT,
	cred_key   VARBINARY(255) NOT NULL,
	cred_value MEDIUMBLOB NOT NULL,
	expires_at BIGINT NULL,
	updated_at BIGINT NOT NULL,
	updated_by VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL DEFAULT '',
	PRIMARY KEY (id),
	UNIQUE KEY (cred_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`)
	require.NoError(t, err)
	s, err := sqlstore.New(db, sqlstore.WithTable(name))
	require.NoError(t, err)
	c := ctx(t)
	cas := func(key, old, value string, exp time.Time) bool {
		t.Helper()
		ok, err := s.CompareAndSwap(c, key, old, tokenstore.Token{Value: value, ExpiresAt: exp})
		require.NoError(t, err)
		return ok
	}
	for i := 0; i < 3; i++ { // ids 1, 2, 3 are generated
		k := "k" + strconv.Itoa(i)
		assert.True(t, cas(k, "", "a", time.Time{}), "insert on an absent key")
		assert.False(t, cas(k, "", "b", time.Time{}), "insert over a live row")
		assert.True(t, cas(k, "a", "b", time.Time{}), "swap over the stored value")
		assert.False(t, cas(k, "a", "c", time.Time{}), "swap over a stale value")
	}
	require.NoError(t, s.Set(c, "exp", tokenstore.Token{Value: "old", ExpiresAt: time.Now().Add(-time.Second)}))
	assert.True(t, cas("exp", "", "new", time.Now().Add(time.Hour)), "take-over of an expired row")
	got, err := s.Get(c, "exp")
	require.NoError(t, err)
	assert.Equal(t, "new", got.Value)
}
