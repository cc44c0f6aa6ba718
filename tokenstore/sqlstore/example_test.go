package sqlstore_test

import (
	"context"
	"database/sql"
	"log"
	"os"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
)

// The durable credentials (verify ticket, refresh tokens) in MySQL or MariaDB: open the *sql.DB
// with the driver, create the table once per start, and give the store to the platform. The
// dialect is detected from the driver.
//
// (Compiled, not run: it needs a database.)
func ExampleNew() {
	ctx := context.Background()

	db, err := sql.Open("mysql", os.Getenv("WXOPEN_MYSQL_DSN")) // "user:password@tcp(db:3306)/wxopen"
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	creds, err := sqlstore.New(db)
	if err != nil {
		log.Fatal(err)
	}
	if err := creds.Migrate(ctx); err != nil { // CREATE TABLE IF NOT EXISTS wxopen_credentials
		log.Fatal(err)
	}

	p, err := wxopen.New(wxopen.Config{
		ComponentAppID: os.Getenv("WXOPEN_COMPONENT_APPID"),
		AppSecret:      os.Getenv("WXOPEN_COMPONENT_SECRET"),
		Token:          os.Getenv("WXOPEN_MSG_TOKEN"),
		EncodingAESKey: os.Getenv("WXOPEN_MSG_AES_KEY"),
	}, wxopen.WithCredentialStore(creds))
	if err != nil {
		log.Fatal(err)
	}
	_ = p // serve p.Handler, call p.Authorizer(appID)...
}

// The same with PostgreSQL through pgx's database/sql driver.
//
// (Compiled, not run: it needs a database.)
func ExampleNew_postgres() {
	ctx := context.Background()

	db, err := sql.Open("pgx", os.Getenv("WXOPEN_POSTGRES_DSN")) // "postgres://user:password@db:5432/wxopen"
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	creds, err := sqlstore.New(db)
	if err != nil {
		log.Fatal(err)
	}
	if err := creds.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	p, err := wxopen.New(wxopen.Config{
		ComponentAppID: os.Getenv("WXOPEN_COMPONENT_APPID"),
		AppSecret:      os.Getenv("WXOPEN_COMPONENT_SECRET"),
		Token:          os.Getenv("WXOPEN_MSG_TOKEN"),
		EncodingAESKey: os.Getenv("WXOPEN_MSG_AES_KEY"),
	}, wxopen.WithCredentialStore(creds))
	if err != nil {
		log.Fatal(err)
	}
	_ = p
}
