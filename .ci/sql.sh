# shellcheck shell=bash
# .ci/sql.sh — source me: makes throwaway MariaDB and PostgreSQL servers available for the
# tokenstore/sqlstore tests.
#
#   source .ci/sql.sh        # from the repository root
#
# Installs the Debian packages mariadb-server and postgresql when their binaries are missing (apt-get,
# with sudo when not root), then starts a private server of each on loopback, with its own data
# directory under $WXOPEN_SQL_DIR (default /var/lib/wxopen-ci as root, ~/.cache/wxopen-ci otherwise):
#   MariaDB    127.0.0.1:${WXOPEN_MYSQL_PORT:-3307}
#   PostgreSQL 127.0.0.1:${WXOPEN_POSTGRES_PORT:-5433}
# Neither touches the packages' own instances (/var/lib/mysql, the "main" cluster on 5432); both run
# without durability (fsync off), which is fine for throwaway test data. Each gets a database
# wxopen_test and a user wxopen (password wxopen); the script waits (bounded) until both accept that
# user and exports
#   WXOPEN_MYSQL_DSN     wxopen:wxopen@tcp(127.0.0.1:3307)/wxopen_test?timeout=5s
#   WXOPEN_POSTGRES_DSN  postgres://wxopen:wxopen@127.0.0.1:5433/wxopen_test?sslmode=disable
# Running it again with the servers up only checks them and exports the variables. Being sourced, it
# returns (never exits) on failure so that the caller's shell decides what to do. Stop the servers with
# `wxopen_sql_stop` (defined by this script).

wxopen_sql_setup() {
	local mport="${WXOPEN_MYSQL_PORT:-3307}"
	local pport="${WXOPEN_POSTGRES_PORT:-5433}"
	local base="${WXOPEN_SQL_DIR:-}"
	local sudo="" root=0
	if [ "$(id -u)" -eq 0 ]; then
		root=1
		base="${base:-/var/lib/wxopen-ci}"
	else
		sudo="sudo"
		base="${base:-${XDG_CACHE_HOME:-$HOME/.cache}/wxopen-ci}"
	fi
	local mdsn="wxopen:wxopen@tcp(127.0.0.1:$mport)/wxopen_test?timeout=5s"
	local pdsn="postgres://wxopen:wxopen@127.0.0.1:$pport/wxopen_test?sslmode=disable"

	# Already up (a second source, or servers a developer runs): nothing to do.
	if wxopen_sql_mysql_ok "$mport" && wxopen_sql_pg_ok "$pport"; then
		export WXOPEN_MYSQL_DSN="$mdsn" WXOPEN_POSTGRES_DSN="$pdsn"
		echo "sql.sh: MariaDB on 127.0.0.1:$mport and PostgreSQL on 127.0.0.1:$pport already running" >&2
		return 0
	fi

	# Install what is missing, with one apt-get run.
	local pkgs=()
	if [ -z "$(wxopen_sql_mariadbd)" ] || ! command -v mariadb >/dev/null 2>&1; then
		pkgs+=(mariadb-server mariadb-client)
	fi
	if [ -z "$(wxopen_sql_pgbin)" ] || ! command -v psql >/dev/null 2>&1; then
		pkgs+=(postgresql postgresql-client)
	fi
	if [ "${#pkgs[@]}" -gt 0 ]; then
		echo "sql.sh: installing ${pkgs[*]}" >&2
		if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; then
			echo "sql.sh: apt-get update failed" >&2
			return 1
		fi
		local log
		log="$(mktemp)"
		if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			echo "sql.sh: apt-get install ${pkgs[*]} failed" >&2
			return 1
		fi
		rm -f "$log"
	fi

	mkdir -p "$base" || return 1
	wxopen_sql_start_mariadb "$base/mariadb-$mport" "$mport" "$root" || return 1
	wxopen_sql_start_postgres "$base/postgres-$pport" "$pport" "$root" || return 1

	export WXOPEN_MYSQL_DSN="$mdsn" WXOPEN_POSTGRES_DSN="$pdsn"
	echo "sql.sh: MariaDB ready at 127.0.0.1:$mport, PostgreSQL ready at 127.0.0.1:$pport (WXOPEN_MYSQL_DSN, WXOPEN_POSTGRES_DSN exported)" >&2
}

wxopen_sql_mariadbd() {
	local p
	for p in "$(command -v mariadbd 2>/dev/null)" /usr/sbin/mariadbd /usr/sbin/mysqld; do
		if [ -n "$p" ] && [ -x "$p" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

wxopen_sql_pgbin() {
	local d
	d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
	if [ -n "$d" ] && [ -x "$d/postgres" ]; then
		echo "$d"
	fi
}

wxopen_sql_mysql_ok() {
	command -v mariadb >/dev/null 2>&1 &&
		mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$1" -u wxopen -pwxopen --connect-timeout=2 \
			-e 'SELECT 1' wxopen_test >/dev/null 2>&1
}

wxopen_sql_pg_ok() {
	command -v psql >/dev/null 2>&1 &&
		PGPASSWORD=wxopen PGCONNECT_TIMEOUT=2 psql -X -q -h 127.0.0.1 -p "$1" -U wxopen -d wxopen_test \
			-c 'SELECT 1' >/dev/null 2>&1
}

# wxopen_sql_start_mariadb DIR PORT ROOT
wxopen_sql_start_mariadb() {
	local dir="$1" port="$2" root="$3" i
	local mariadbd sock="$1/mysqld.sock"
	mariadbd="$(wxopen_sql_mariadbd)"
	local as=()
	if [ "$root" -eq 1 ]; then
		as=(--user=mysql)
	fi
	if [ ! -d "$dir/data/mysql" ]; then
		mkdir -p "$dir/data" || return 1
		if [ "$root" -eq 1 ]; then
			chown -R mysql:mysql "$dir" || return 1
		fi
		if ! mariadb-install-db --no-defaults "${as[@]}" --datadir="$dir/data" \
			--auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1; then
			echo "sql.sh: mariadb-install-db failed, see $dir/install.log" >&2
			rm -rf "$dir/data"
			return 1
		fi
	fi
	if ! mariadb-admin --no-defaults --socket="$sock" -u root ping >/dev/null 2>&1; then
		# A subshell and setsid detach the server from the caller's shell and jobs.
		(setsid "$mariadbd" --no-defaults "${as[@]}" --datadir="$dir/data" --port="$port" \
			--bind-address=127.0.0.1 --socket="$sock" --pid-file="$dir/mysqld.pid" \
			--log-error="$dir/error.log" --skip-name-resolve --skip-log-bin \
			--innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=64M \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
			</dev/null >/dev/null 2>&1 &)
		for i in $(seq 1 300); do
			if mariadb-admin --no-defaults --socket="$sock" -u root ping >/dev/null 2>&1; then
				break
			fi
			sleep 0.1
		done
	fi
	if ! mariadb --no-defaults --socket="$sock" -u root >/dev/null 2>"$dir/setup.err" <<-'SQL'; then
		CREATE DATABASE IF NOT EXISTS wxopen_test CHARACTER SET utf8mb4;
		CREATE USER IF NOT EXISTS 'wxopen'@'127.0.0.1' IDENTIFIED BY 'wxopen';
		CREATE USER IF NOT EXISTS 'wxopen'@'localhost' IDENTIFIED BY 'wxopen';
		GRANT ALL ON wxopen_test.* TO 'wxopen'@'127.0.0.1';
		GRANT ALL ON wxopen_test.* TO 'wxopen'@'localhost';
	SQL
		echo "sql.sh: MariaDB on 127.0.0.1:$port did not start within 30s or setup failed; see $dir/error.log and $dir/setup.err" >&2
		return 1
	fi
	if ! wxopen_sql_mysql_ok "$port"; then
		echo "sql.sh: MariaDB does not accept wxopen@127.0.0.1:$port; see $dir/error.log" >&2
		return 1
	fi
}

# wxopen_sql_start_postgres DIR PORT ROOT
wxopen_sql_start_postgres() {
	local dir="$1" port="$2" root="$3" i
	local bin
	bin="$(wxopen_sql_pgbin)"
	local as=()
	if [ "$root" -eq 1 ]; then
		as=(runuser -u postgres --)
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		mkdir -p "$dir/data" "$dir/sock" || return 1
		if [ "$root" -eq 1 ]; then
			chown -R postgres:postgres "$dir" || return 1
		fi
		chmod 700 "$dir/data"
		if ! "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
			--auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1; then
			echo "sql.sh: initdb failed, see $dir/initdb.log" >&2
			rm -rf "$dir/data"
			return 1
		fi
	fi
	if ! "$bin/pg_isready" -q -h "$dir/sock" -p "$port"; then
		if ! "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
			-o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
			start </dev/null >/dev/null 2>&1; then
			echo "sql.sh: PostgreSQL on 127.0.0.1:$port did not start within 30s; see $dir/server.log" >&2
			return 1
		fi
	fi
	if ! "${as[@]}" psql -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$port" -U postgres -d postgres \
		>/dev/null 2>"$dir/setup.err" <<-'SQL'; then
		SELECT 'CREATE ROLE wxopen LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wxopen') \gexec
		ALTER ROLE wxopen PASSWORD 'wxopen';
		SELECT 'CREATE DATABASE wxopen_test OWNER wxopen' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'wxopen_test') \gexec
	SQL
		echo "sql.sh: PostgreSQL setup failed; see $dir/setup.err" >&2
		return 1
	fi
	if ! wxopen_sql_pg_ok "$port"; then
		echo "sql.sh: PostgreSQL does not accept wxopen@127.0.0.1:$port; see $dir/server.log" >&2
		return 1
	fi
}

# wxopen_sql_stop stops the servers this script started (the data directories stay).
wxopen_sql_stop() {
	local base="${WXOPEN_SQL_DIR:-}" as=()
	if [ "$(id -u)" -eq 0 ]; then
		base="${base:-/var/lib/wxopen-ci}"
		as=(runuser -u postgres --)
	else
		base="${base:-${XDG_CACHE_HOME:-$HOME/.cache}/wxopen-ci}"
	fi
	local d
	for d in "$base"/mariadb-*; do
		if [ -S "$d/mysqld.sock" ]; then
			mariadb-admin --no-defaults --socket="$d/mysqld.sock" -u root shutdown
		fi
	done
	for d in "$base"/postgres-*; do
		if [ -f "$d/data/postmaster.pid" ]; then
			"${as[@]}" "$(wxopen_sql_pgbin)/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null
		fi
	done
}

wxopen_sql_setup
