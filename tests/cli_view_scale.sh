#!/usr/bin/env bash
# cli_view_scale.sh - the window at scale, under Xvfb, driven by a script through the
# real GLFW event path: a BERT-tiny run of 309k points (2 x 4 heads, PCA) drawn 20000
# points a frame (--lod), so every refresh takes many frames. Once the matrix settles
# the state says every point is shown (no subsampling: lod_stride 1, points_shown =
# points_total); a hover frame then draws no point and costs a fraction of the
# refresh; the single view after a pan shows part of the points, and more frames
# complete it (accumulating: each frame adds a pass). Also: with no --size the window
# fits a screen smaller than its default 1400x900.
set -u
fail=0
rm -rf "$AV_TMP" && mkdir -p "$AV_TMP"
T="$AV_TMP"
bad() { echo "FAIL: $*"; fail=1; }
num() { grep -o "\"$2\":[-0-9.e]*" "$T/$1.json" | head -1 | cut -d: -f2; }
has() { grep -q -- "$2" "$T/$1.json" || bad "$1: lacks $2: $(cut -c1-600 "$T/$1.json")"; }

for i in $(seq 600); do echo "The quick brown fox number $i jumps over the lazy dog, again and again."; done >"$T/text.txt"
"$AV" extract "$AV_SRC/tests/fixtures/models/bert-tiny" "$T/text.txt" -o "$T/run" --quiet || { echo "FAIL: extract"; exit 1; }
"$AV" project "$T/run" --method pca --quiet || { echo "FAIL: project"; exit 1; }
R="$T/run"

. "$AV_SRC/tests/xvfb.sh"
av_start_xvfb 231 300 "$T/xvfb.log"

# window 1000x700: matrix cell (1,1) is centred near (362, 517), cell (0,2) near (609, 227)
cat >"$T/script.txt" <<EOF
settle
state $T/s1.json
move 362 517
state $T/s2.json
move 609 227
state $T/s3.json
click
settle
state $T/s4.json
drag 500 400 560 430
state $T/s5.json
settle
state $T/s6.json
quit
EOF
timeout 300 "$AV" view "$R" --size 1000x700 --lod 20000 --script "$T/script.txt" >"$T/view.out" 2>"$T/view.err"
rc=$?
[ $rc -eq 0 ] || bad "view --script: exit $rc: $(cat "$T/view.err")"
total=$(num s1 points_total)
[ "${total:-0}" -gt 250000 ] || bad "s1: points_total $total, wanted a few hundred thousand"
has s1 '"view":"matrix"'; has s1 '"lod_stride":1,'; has s1 "\"points_total\":$total,\"points_shown\":$total,\"complete\":true"
# the hovers draw nothing: every point stays shown from the cached picture
for s in s2 s3; do has $s '"points_drawn":0,'; has $s "\"points_shown\":$total,\"complete\":true"; done
has s2 '"hover":{"layer":1,"head":1'; has s3 '"hover":{"layer":0,"head":2'
refresh=$(num s1 refresh_ms); h2=$(num s2 frame_ms); h3=$(num s3 frame_ms)
awk -v r="$refresh" -v a="$h2" -v b="$h3" 'BEGIN { m = a < b ? a : b; exit !(m * 3 < r) }' ||
  bad "a hover frame ($h2, $h3 ms) is not far cheaper than drawing the points ($refresh ms)"
# the single view of head 0:2: a pan leaves it part drawn, the next frames complete it
has s4 '"view":"single","layer":0,"head":2'; has s4 '"complete":true'
single=$(num s4 points_total)
shown5=$(num s5 points_shown)
has s5 '"complete":false'
[ "${shown5:-0}" -gt 0 ] && [ "$shown5" -lt "$single" ] || bad "s5: $shown5 of $single points after a pan"
has s6 "\"points_total\":$single,\"points_shown\":$single,\"complete\":true"; has s6 '"lod_stride":1,'
grep -q '"pan_x":0,' "$T/s6.json" && bad "the drag did not pan: $(cat "$T/s6.json")"

# no --size on a 1024x600 screen: the window fits its work area
av_start_xvfb 301 370 "$T/xvfb2.log" 1024x600
printf 'state %s\nquit\n' "$T/fit.json" >"$T/fit.txt"
timeout 120 "$AV" view "$AV_SRC/tests/fixtures/viewer/run_text" --script "$T/fit.txt" >/dev/null 2>"$T/fit.err" || bad "fit: $(cat "$T/fit.err")"
size=$(grep -o '"size":\[[0-9]*,[0-9]*\]' "$T/fit.json" | grep -o '[0-9]*,[0-9]*')
w=${size%,*}; h=${size#*,}
[ "${w:-9999}" -le 1024 ] && [ "${h:-9999}" -le 600 ] && [ "${w:-0}" -ge 800 ] || bad "window ${w}x${h} on a 1024x600 screen"
exit $fail
