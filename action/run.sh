#!/usr/bin/env bash
# The GitHub Action's step (action.yml): the inputs arrive as WAYBILL_* variables; the CLI takes
# the job's ID token from ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN itself (unless a token is given).
set -euo pipefail

cli=($WAYBILL_CLI)
common=(--server "$WAYBILL_SERVER" --audience "$WAYBILL_AUDIENCE")
[ -n "${WAYBILL_TOKEN:-}" ] || unset WAYBILL_TOKEN

subjects=()
while IFS= read -r line; do
  line="$(echo "$line" | tr -d '[:space:]')"
  [ -n "$line" ] && subjects+=(--subject "$line")
done <<<"$WAYBILL_SUBJECTS"

signing=()
if [ "$WAYBILL_KEYLESS" = "true" ]; then
  signing+=(--keyless)
  [ -n "$WAYBILL_FULCIO_URL" ] && signing+=(--fulcio-url "$WAYBILL_FULCIO_URL")
  [ -n "$WAYBILL_REKOR_URL" ] && signing+=(--rekor-url "$WAYBILL_REKOR_URL")
fi
[ -n "$WAYBILL_OUT" ] && signing+=(--out "$WAYBILL_OUT")

need() { [ -n "$2" ] || { echo "::error::waybill: the $1 input is required for command $WAYBILL_COMMAND"; exit 2; }; }

# `attest --json` prints {"id": ..., "logIndex": ...}.
attestation_id() {
  echo "$1"
  id="$(echo "$1" | sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p')"
  echo "attestation-id=$id" >>"$GITHUB_OUTPUT"
}

case "$WAYBILL_COMMAND" in
  provenance)
    need subjects "${subjects[*]:-}"
    attestation_id "$("${cli[@]}" attest provenance --json --from-github-env "${common[@]}" "${subjects[@]}" "${signing[@]}")"
    ;;
  test-result)
    need subjects "${subjects[*]:-}"
    need environment "$WAYBILL_ENVIRONMENT"
    need result "$WAYBILL_RESULT"
    extra=()
    [ -n "$WAYBILL_URL" ] && extra+=(--url "$WAYBILL_URL")
    attestation_id "$("${cli[@]}" attest test-result --json "${common[@]}" "${subjects[@]}" "${signing[@]}" "${extra[@]}" \
      --environment "$WAYBILL_ENVIRONMENT" --result "$WAYBILL_RESULT")"
    ;;
  gate)
    need digest "$WAYBILL_DIGEST"
    need environment "$WAYBILL_ENVIRONMENT"
    vsa=()
    [ -n "$WAYBILL_OUT" ] && vsa+=(--vsa "$WAYBILL_OUT")
    status=0
    "${cli[@]}" gate "${common[@]}" "${vsa[@]}" --digest "$WAYBILL_DIGEST" --environment "$WAYBILL_ENVIRONMENT" || status=$?
    if [ "$status" = 0 ]; then echo "decision=allow" >>"$GITHUB_OUTPUT"; elif [ "$status" = 1 ]; then echo "decision=deny" >>"$GITHUB_OUTPUT"; fi
    exit "$status"
    ;;
  *)
    echo "::error::waybill: command must be provenance, test-result or gate, not \"$WAYBILL_COMMAND\""
    exit 2
    ;;
esac
