#!/usr/bin/env bash
# cli_nonfinite_attention.sh - render and view of a run whose q/k hold NaN/Inf where
# attention is drawn: the picture is still made (what is finite is drawn), and a line
# says which head, which item and how many values were left out: on stderr for render,
# on the viewer's status line (state "note") for view. Before, both drew NaN weights
# without a word (the sentence view printed "nan"). The numbers themselves are checked
# in tests/test_nonfinite_attention_left_out.c.
# Environment (tests/CMakeLists.txt): $AV the binary, $AV_SRC the source root, $AV_TMP scratch.
set -u
fails=0
rm -rf "$AV_TMP"; mkdir -p "$AV_TMP"; cd "$AV_TMP" || exit 1
T="$AV_TMP"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cp -r "$AV_SRC/tests/fixtures/viewer/run_text" run
# head 0:0 of the f32 run [2, 3, 48, 16] (header 128 bytes): q of token 11 ("dog",
# item 1) all NaN, one value of k of token 13 +Inf
nan16=$(for i in $(seq 16); do printf '\\x00\\x00\\xc0\\x7f'; done)
printf "$nan16" | dd of=run/q.npy bs=1 seek=$((128 + 11 * 16 * 4)) conv=notrunc status=none
printf '\x00\x00\x80\x7f' | dd of=run/k.npy bs=1 seek=$((128 + (13 * 16 + 5) * 4)) conv=notrunc status=none
want="head 0:0, item 1: 16 non-finite values (NaN/Inf) in q, 1 in k"

for view in single sentence; do
  "$AV" render run --view $view --head 0:0 --item 1 --token 2 --size 640x480 --state -o $view.png >state.json 2>err.txt
  rc=$?
  [ $rc -eq 0 ] && [ -s $view.png ] || fail "render --view $view: exit $rc: $(cat err.txt)"
  [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "attnviz render: warning: $want" err.txt \
    || fail "render --view $view: stderr does not name the head and count: $(cat err.txt)"
  grep -q "\"note\":\"$want" state.json || fail "render --view $view: state note: $(cat state.json)"
  [ $fails -eq 0 ] && echo "ok   render --view $view: $(cat err.txt)"
done
# a clean head of the same run says nothing
"$AV" render run --view single --head 0:1 --item 1 --token 2 --size 640x480 -o clean.png 2>err.txt \
  && [ ! -s err.txt ] || fail "render of a clean head: $(cat err.txt)"

# the window: the same line on its status line
if command -v Xvfb >/dev/null; then
  . "$AV_SRC/tests/xvfb.sh"
  av_start_xvfb 441 510 "$T/xvfb.log"
  printf 'point 11 query\nclick\nstate %s\nkey v\nstate %s\nquit\n' "$T/single.json" "$T/sentence.json" >script.txt
  timeout 120 "$AV" view run --view single --head 0:0 --size 1000x700 --script script.txt >/dev/null 2>view.err \
    || fail "view: $(cat view.err)"
  for s in single sentence; do
    grep -q "\"note\":\"$want" $s.json || fail "view ($s): the status line does not say it: $(cat $s.json)"
  done
  [ $fails -eq 0 ] && echo "ok   view: the status line names the head, the item and the counts"
else
  echo "SKIP the window: no Xvfb"
fi
exit $((fails > 0))
