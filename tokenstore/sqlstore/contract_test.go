package sqlstore_test

import (
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

// TestContractSurrogateKey: a team that manages its schema may give the table an AUTO_INCREMENT
// surrogate key (a common house rule). MySQL then reports a generated insert id for every insert,
// which CompareAndSwap must not mistake for its own outcome mark.
func TestContractSurrogateKey(t *testing.T) {
	b := backends[0]
	db := b.open(t)
	storetest.Run(t, func(t *testing.T) tokenstore.Store {
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
		if err != nil {
			t.Fatal(err)
		}
		s, err := sqlstore.New(db, sqlstore.WithTable(name))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
