"""Say clearly, before the suite starts, when PostgreSQL or Redis cannot be reached."""

import os
import sys

import psycopg
import redis

HINTS = {
    "PostgreSQL": "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
}


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/paysys")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    problems = []
    try:
        # The suite's own database is created by pytest; reaching the server is enough here.
        with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=5):
            pass
    except psycopg.Error as exc:
        problems.append(("PostgreSQL", database_url, exc))
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        problems.append(("Redis", redis_url, exc))
    for name, url, exc in problems:
        print(f"{name} is unreachable at {url}: {exc}".strip(), file=sys.stderr)
        print(f"  {HINTS[name]}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
