#!/bin/sh
# One-shot: make sure the namespace Backroom uses exists (idempotent).
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"; sleep 2
done
temporal operator namespace describe -n "$ns" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$ns" --retention 30d --address "$TEMPORAL_ADDRESS"
echo "namespace $ns is ready"
