#!/usr/bin/env bash
# Imports one million generated users (half with a unionid) through the real
# binary into a scratch database, timing the command, then drops the database.
#   bash scripts/import_million.sh [N]
set -euo pipefail
n=${1:-1000000}
db=enduser_import_million_$$
base=${ENDUSER_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
url=${base/\/postgres\?/\/$db?}
dir=$(mktemp -d)
trap 'rm -rf "$dir"; dropdb -h 127.0.0.1 -U postgres --if-exists "$db" >/dev/null 2>&1 || true' EXIT
go build -o "$dir/enduser" ./cmd/enduser
export ENDUSER_DATABASE_URL=$url ENDUSER_INSECURE_DEV_KEY=1 ENDUSER_LOG_LEVEL=error ENDUSER_AUDIT=on
"$dir/enduser" migrate up >/dev/null
"$dir/enduser" userdomain create C.DM.90000.1 --secret bench-user-domain-secret-0123456789abc >/dev/null
"$dir/enduser" officialaccount add --user-domain C.DM.90000.1 --app-id wxbench0000000001 --app-secret bench-app-secret >/dev/null
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) {
	u = (i % 2 == 0) ? sprintf(",\"unionId\":\"union-%07d\"", i) : ""
	printf "{\"uid\":\"uid-%07d\",\"userDomain\":\"C.DM.90000.1\",\"appId\":\"wxbench0000000001\",\"openId\":\"openid-%07d\"%s,\"registerTime\":1700000000000,\"lastLoginTime\":1700000360000,\"status\":1,\"nikeName\":\"user %d\",\"sex\":1}\n", i, i, u, i
} }' > "$dir/users.jsonl"
echo "file: $(wc -l < "$dir/users.jsonl") lines, $(du -h "$dir/users.jsonl" | cut -f1)"
/usr/bin/time -f "first run: %e s elapsed, %M KB max RSS, %U s user" "$dir/enduser" import users "$dir/users.jsonl"
/usr/bin/time -f "re-run: %e s elapsed, %M KB max RSS" "$dir/enduser" import users "$dir/users.jsonl"
