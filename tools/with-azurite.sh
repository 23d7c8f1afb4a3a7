#!/usr/bin/env bash
# Runs a command with a private, in-memory Azurite on free ports, then stops it.
# The command sees MAILMERGE_TEST_STORAGE, a connection string for that Azurite.
#   tools/with-azurite.sh go test ./...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
azurite="$here/node_modules/.bin/azurite"
[ -x "$azurite" ] || { echo "Azurite is not installed: run make (it installs it into tools/)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
  || echo $((20000 + RANDOM % 30000)); }
blob=$(free_port); queue=$(free_port); table=$(free_port)
log=$(mktemp -t azurite.XXXXXX.log)
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
# Besides the default account, spare ones: tests that run their own
# functions host in parallel each take one, so no two hosts share queues.
spare=$(for i in $(seq -w 1 99); do printf 'e2e%s ' "$i"; done)
AZURITE_ACCOUNTS="devstoreaccount1:$key"
for a in $spare; do AZURITE_ACCOUNTS="$AZURITE_ACCOUNTS;$a:$key"; done
export AZURITE_ACCOUNTS
# The preload makes Azurite's entity lookups use their RowKey index (see the
# file): the same results, without scanning a whole partition each time.
NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--require $here/azurite-lokijs-rowkey-first.js" \
  "$azurite" --silent --disableTelemetry --inMemoryPersistence --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --blobPort "$blob" --queuePort "$queue" --tablePort "$table" >"$log" 2>&1 &
pid=$!
# In-memory data needs no graceful close, and Azurite can take minutes to
# close after heavy use: give it a moment, then end it.
stop() {
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -f "$log" "${TMPDIR:-/tmp}"/mailmerge-spare-"$table"-*
}
trap stop EXIT
for _ in $(seq 1 200); do
  if (exec 3<>/dev/tcp/127.0.0.1/"$table") 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/"$queue") 2>/dev/null \
     && (exec 3<>/dev/tcp/127.0.0.1/"$blob") 2>/dev/null; then break; fi
  kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
export MAILMERGE_TEST_ACCOUNTS=$(echo $spare | tr ' ' ',')
export MAILMERGE_TEST_STORAGE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1;"
echo "azurite: blob $blob, queue $queue, table $table (pid $pid)" >&2
set +e
"$@"
status=$?
exit $status
