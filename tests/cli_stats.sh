#!/usr/bin/env bash
# cli_stats.sh - `attnviz stats` end to end on copies of the fixture runs
# (tests/fixtures/stats/): outputs in every format, stats.json and the manifest entry,
# and bad input: exit status 2, exactly one line on stderr naming the fault, and
# nothing written (no stats.json, no temporary files, manifest unchanged).
set -u
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"
fix="$AV_SRC/tests/fixtures/stats"

fresh() { rm -rf "$AV_TMP/$2"; cp -r "$fix/$1" "$AV_TMP/$2"; rm -f "$AV_TMP/$2/expected_stats.json"; }

# refused: exit 2, one stderr line matching $2, run folder untouched
expect_refusal() {
    local what=$1 pattern=$2 run=$3; shift 3
    local before; before=$(cat "$run/manifest.json" 2>/dev/null)
    "$AV" stats "$run" "$@" >"$AV_TMP/out" 2>"$AV_TMP/err"; local rc=$?
    local lines; lines=$(wc -l <"$AV_TMP/err")
    if [ $rc -ne 2 ]; then bad "$what: exit $rc, want 2"; return; fi
    if [ "$lines" -ne 1 ]; then bad "$what: $lines lines on stderr"; cat "$AV_TMP/err"; return; fi
    if ! grep -q -- "$pattern" "$AV_TMP/err"; then bad "$what: message lacks '$pattern': $(cat "$AV_TMP/err")"; return; fi
    if [ -e "$run/stats.json" ] || ls "$run" 2>/dev/null | grep -q '\.tmp'; then bad "$what: left files behind"; return; fi
    if [ "$(cat "$run/manifest.json" 2>/dev/null)" != "$before" ]; then bad "$what: manifest changed"; return; fi
    ok "$what: $(cat "$AV_TMP/err")"
}

# --- success paths ---------------------------------------------------------------
fresh tiny_bert r
if "$AV" stats "$AV_TMP/r" >"$AV_TMP/table" 2>"$AV_TMP/err"; then
    rows=$(grep -c '^[0-9]*:[0-9]' "$AV_TMP/table")
    [ "$rows" -eq 6 ] && ok "table has 6 head rows" || bad "table has $rows head rows"
    grep -q '"stats":[[:space:]]*"stats.json"' "$AV_TMP/r/manifest.json" && ok "manifest records stats.json" || bad "manifest lacks stats"
    grep -q '"format":[[:space:]]*"attnviz-stats"' "$AV_TMP/r/stats.json" && ok "stats.json written" || bad "stats.json missing or wrong"
    [ "$(grep -c '"layer"' "$AV_TMP/r/stats.json")" -eq 6 ] && ok "stats.json has 6 heads" || bad "stats.json head count"
else
    bad "stats on tiny_bert failed: $(cat "$AV_TMP/err")"
fi
"$AV" stats "$AV_TMP/r" --format csv >"$AV_TMP/csv" 2>/dev/null
[ "$(wc -l <"$AV_TMP/csv")" -eq 7 ] && head -1 "$AV_TMP/csv" | grep -q '^layer,head,q_norm' \
    && ok "csv: header + 6 rows" || bad "csv output"
# every csv row has the header's number of fields
awk -F, 'NR==1{n=NF} NF!=n{exit 1}' "$AV_TMP/csv" && ok "csv rows are complete" || bad "csv field counts differ"
"$AV" stats "$AV_TMP/r" --format json --heads 1:2,0:0 >"$AV_TMP/json" 2>/dev/null
[ "$(grep -c '"layer"' "$AV_TMP/json")" -eq 2 ] && ok "json with --heads 1:2,0:0 has 2 heads" || bad "json --heads"
[ "$(grep -c '"layer"' "$AV_TMP/r/stats.json")" -eq 6 ] && ok "stats.json keeps the other heads after --heads" || bad "stats.json after --heads"
fresh tiny_bert r2
"$AV" stats "$AV_TMP/r2" --heads 1:1 >/dev/null 2>&1
[ "$(grep -c '"layer"' "$AV_TMP/r2/stats.json")" -eq 1 ] && ok "a first --heads run writes only those heads" || bad "fresh --heads"
"$AV" stats "$AV_TMP/r2" --heads 0:2 >/dev/null 2>&1
tr -d ' \t\n' <"$AV_TMP/r2/stats.json" | grep -q '"layer":0,"head":2.*"layer":1,"head":1' \
    && ok "merged heads in layer:head order" || bad "merge order"
"$AV" stats --help | grep -q 'usage: attnviz stats' && ok "--help" || bad "--help"

fresh tiny_gpt2 g
"$AV" stats "$AV_TMP/g" --format csv >"$AV_TMP/csv" 2>"$AV_TMP/err" && grep -q '"causal":[[:space:]]*true' "$AV_TMP/g/stats.json" \
    && ok "gpt2 run is causal" || bad "gpt2 run: $(cat "$AV_TMP/err")"

# --- refusals ----------------------------------------------------------------------
fresh tiny_bert r
expect_refusal "--heads naming no head" "no head 2:0" "$AV_TMP/r" --heads 0:1,2:0
expect_refusal "bad --heads syntax" "layer:head" "$AV_TMP/r" --heads 1/2
expect_refusal "bad --format" "table, csv or json" "$AV_TMP/r" --format xml
fresh bad_nan n
expect_refusal "NaN/Inf in k" "head 1:2 has 3 non-finite" "$AV_TMP/n"
fresh bad_three t
expect_refusal "fewer than 4 tokens" "at least 4" "$AV_TMP/t"
fresh tiny_bert m; rm "$AV_TMP/m/k.npy"
expect_refusal "missing k.npy" "k.npy" "$AV_TMP/m"
fresh tiny_bert s; cp "$fix/tiny_gpt2/q.npy" "$AV_TMP/s/q.npy"
expect_refusal "mis-shaped q.npy" "q.npy: shape" "$AV_TMP/s"
fresh tiny_bert c; head -c 100 "$fix/tiny_bert/k.npy" >"$AV_TMP/c/k.npy"
expect_refusal "truncated k.npy" "k.npy" "$AV_TMP/c"
fresh tiny_vit v; printf '{"text": "x"\n' >"$AV_TMP/v/tokens.jsonl"
expect_refusal "broken tokens.jsonl (ViT)" "tokens.jsonl:1" "$AV_TMP/v"
fresh tiny_bert w; cp "$fix/tiny_gpt2/token_item.npy" "$AV_TMP/w/vnorm.npy"
expect_refusal "mis-shaped vnorm.npy" "vnorm.npy" "$AV_TMP/w"
expect_refusal "no such run" "no such folder" "$AV_TMP/nothing"

exit $fail
