#!/bin/sh
# Writes PgBouncer's user list from the environment (the app's role and
# its password: never in a file of the repository), then runs PgBouncer.
set -eu
: "${PGBOUNCER_USER:?set PGBOUNCER_USER, the role the replicas log in as}"
: "${PGBOUNCER_PASSWORD:?set PGBOUNCER_PASSWORD, that role's password}"
umask 077
# The file's format doubles a double quote inside a quoted field.
quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }
printf '%s %s\n' "$(quote "$PGBOUNCER_USER")" "$(quote "$PGBOUNCER_PASSWORD")" > /tmp/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
