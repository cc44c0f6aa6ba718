# shellcheck shell=bash
# .ci/redis.sh — source me: makes a throwaway redis-server available for the tokenstore/redisstore tests.
#
#   source .ci/redis.sh        # from the repository root
#
# Installs the Debian redis-server package when the binary is missing (needs root), starts a server on
# 127.0.0.1:${WXOPEN_REDIS_PORT:-6390} without persistence, waits for it to answer PING and exports
# WXOPEN_REDIS_ADDR. Running it again with the server already up changes nothing. Being sourced, it
# returns (never exits) on failure so that the caller's shell decides what to do.

wxopen_redis_setup() {
	local port="${WXOPEN_REDIS_PORT:-6390}"
	local i

	if ! command -v redis-server >/dev/null 2>&1; then
		echo "redis.sh: redis-server not found, installing the Debian package" >&2
		local sudo=""
		if [ "$(id -u)" -ne 0 ]; then
			sudo="sudo"
		fi
		if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; then
			echo "redis.sh: apt-get update failed" >&2
			return 1
		fi
		if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; then
			echo "redis.sh: apt-get install redis-server failed" >&2
			return 1
		fi
	fi

	if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != "PONG" ]; then
		if ! redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null; then
			echo "redis.sh: could not start redis-server on 127.0.0.1:$port" >&2
			return 1
		fi
		for i in $(seq 1 50); do
			if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
				break
			fi
			sleep 0.1
		done
		if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != "PONG" ]; then
			echo "redis.sh: redis-server on 127.0.0.1:$port did not answer PING within 5s" >&2
			return 1
		fi
	fi

	export WXOPEN_REDIS_ADDR="127.0.0.1:$port"
	echo "redis.sh: redis-server ready at $WXOPEN_REDIS_ADDR ($(redis-server --version | awk '{print $3}'))" >&2
}

wxopen_redis_setup
