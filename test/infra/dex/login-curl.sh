#!/usr/bin/env bash
# login-curl.sh USER PASSWORD — authorization-code login through Dex with curl
# only (confidential client jitsi-gate), prints the ID token's payload (JSON).
# A manual smoke test of the running Dex + slapd; the Go tests do the same
# with go-oidc. Needs DEX_ISSUER (default http://127.0.0.1:5556/dex).
# Exit 1 if the login fails (e.g. wrong password: Dex re-shows its form).
set -euo pipefail
user=${1:?usage: login-curl.sh USER PASSWORD}
pass=${2:?usage: login-curl.sh USER PASSWORD}
issuer=${DEX_ISSUER:-http://127.0.0.1:5556/dex}
client=jitsi-gate secret=jitsi-gate-secret
redirect=http://127.0.0.1:18080/callback/dex
origin=${issuer%/dex}
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

# 1. authorize -> follows to the LDAP login form
page=$(curl -fsS -L -c "$jar" -b "$jar" -G "$issuer/auth" \
	--data-urlencode "client_id=$client" --data-urlencode "redirect_uri=$redirect" \
	--data-urlencode response_type=code --data-urlencode "scope=openid profile email groups" \
	--data-urlencode state=s123 --data-urlencode nonce=n123 --data-urlencode connector_id=ldap)
action=$(printf '%s' "$page" | tr '\n' ' ' | sed -n 's/.*<form[^>]*action="\([^"]*\)".*/\1/p' | sed 's/&amp;/\&/g')
[[ -n $action ]] || { echo "login-curl: no login form found" >&2; exit 1; }

# 2. post the credentials; on success Dex answers 303 (via /approval) to the callback
loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" \
	--data-urlencode "login=$user" --data-urlencode "password=$pass" "$origin$action")
while [[ -n $loc && $loc != "$redirect"* ]]; do
	loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" "$loc")
done
code=$(printf '%s' "$loc" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
[[ -n $code ]] || { echo "login-curl: login failed for $user (no code)" >&2; exit 1; }

# 3. exchange the code, 4. decode the ID token payload
tok=$(curl -fsS -u "$client:$secret" --data-urlencode grant_type=authorization_code \
	--data-urlencode "code=$code" --data-urlencode "redirect_uri=$redirect" "$issuer/token")
idt=$(printf '%s' "$tok" | sed -n 's/.*"id_token":"\([^"]*\)".*/\1/p')
payload=$(printf '%s' "$idt" | cut -d. -f2 | tr '_-' '/+')
while ((${#payload} % 4)); do payload+="="; done
printf '%s' "$payload" | base64 -d
echo
